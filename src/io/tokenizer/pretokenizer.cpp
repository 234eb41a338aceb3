#include "io/tokenizer/pretokenizer.h"

#include "io/tokenizer/unicode.h"

namespace as::tok {
namespace {

constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

constexpr uint8_t kLN = kLetter | kNumber;
constexpr uint8_t kSLN = kSpace | kLetter | kNumber;

// Code points of one text: class bits and byte offsets (off has one extra entry, the end).
struct Decoded {
  std::vector<uint8_t> cls;
  std::vector<uint32_t> off;
};

void decode_classes(std::string_view text, Decoded& d) {
  d.cls.clear();
  d.off.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    const int len = utf8_decode(p + i, n - i, &cp);
    d.cls.push_back(char_class(cp));
    d.off.push_back(static_cast<uint32_t>(i));
    i += static_cast<size_t>(len);
  }
  d.off.push_back(static_cast<uint32_t>(n));
}

// Length in code points of the contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction(std::string_view text, const Decoded& d, size_t i, bool ignore_case) {
  const size_t n = d.cls.size();
  if (!(d.cls[i] & kApos) || i + 1 >= n) return 0;
  auto ascii_at = [&](size_t k) -> char {
    if (k >= n) return 0;
    // Under (?i), U+017F LATIN SMALL LETTER LONG S case-folds to 's'.
    if (ignore_case && text.substr(d.off[k], d.off[k + 1] - d.off[k]) == "\xC5\xBF") return 's';
    if (d.off[k + 1] - d.off[k] != 1) return 0;
    char c = text[d.off[k]];
    if (ignore_case && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return c;
  };
  const char a = ascii_at(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  const char b = ascii_at(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// End (code point index) of the piece starting at i.
size_t match_at(const SplitRules& r, std::string_view text, const Decoded& d, size_t i) {
  const auto& c = d.cls;
  const size_t n = c.size();
  auto has = [&](size_t k, uint8_t bits) { return k < n && (c[k] & bits); };
  auto run = [&](size_t k, uint8_t bits) {
    while (k < n && (c[k] & bits)) ++k;
    return k;
  };
  auto run_not = [&](size_t k, uint8_t bits) {
    while (k < n && !(c[k] & bits)) ++k;
    return k;
  };

  if (size_t len = contraction(text, d, i, !r.gpt2)) return i + len;

  if (r.gpt2) {
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
    const size_t j = (c[i] & kBlank) && i + 1 < n ? i + 1 : i;
    if (has(j, kLetter)) return run(j, kLetter);
    if (has(j, kNumber)) return run(j, kNumber);
    if (j < n && !(c[j] & kSLN)) return run_not(j, kSLN);
  } else {
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if (!(c[i] & (kLN | kNewline)) && has(i + 1, kLetter)) return run(i + 1, kLetter);
    if (c[i] & kLetter) return run(i, kLetter);
    // `\p{N}{1,k}`
    if (c[i] & kNumber) {
      size_t j = i;
      while (j < n && (c[j] & kNumber) && (r.max_digits == 0 || j - i < size_t(r.max_digits))) ++j;
      return j;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    size_t j = i;
    if ((c[i] & kBlank) && i + 1 < n && !(c[i + 1] & kSLN)) j = i + 1;
    if (!(c[j] & kSLN)) return run(run_not(j, kSLN), kNewline);
  }

  // Whitespace from here on: c[i] is \s.
  const size_t e = run(i, kSpace);
  if (!r.gpt2) {
    // `\s*[\r\n]+`: up to the last newline of the run.
    for (size_t k = e; k > i; --k)
      if (c[k - 1] & kNewline) return k;
  }
  // `\s+(?!\S)` then `\s+`.
  if (e == n || e - i == 1) return e;
  return e - 1;
}

}  // namespace

bool find_split_rules(std::string_view regex, SplitRules* rules) {
  if (regex == kLlama3) {
    *rules = {"llama3", false, 3};
  } else if (regex == kQwen2) {
    *rules = {"qwen2", false, 1};
  } else if (regex == kGpt2) {
    *rules = gpt2_split_rules();
  } else {
    return false;
  }
  return true;
}

SplitRules gpt2_split_rules() { return {"gpt2", true, 0}; }

void split_pretokens(const SplitRules& rules, std::string_view text, std::vector<uint32_t>& ends) {
  thread_local Decoded d;
  decode_classes(text, d);
  const size_t n = d.cls.size();
  size_t i = 0;
  while (i < n) {
    const size_t j = match_at(rules, text, d, i);
    ends.push_back(d.off[j]);
    i = j;
  }
}

}  // namespace as::tok
