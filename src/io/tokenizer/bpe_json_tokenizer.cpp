// Byte-level BPE from a Hugging Face tokenizer.json (GPT-2, Llama-3, Qwen2/Qwen3 families).
// Pipeline per encode: added tokens are cut out of the raw text; every other span is NFC-normalized
// (when the json asks), split by the pre-tokenizer regex, and each piece's bytes are BPE-merged
// by merge rank (lowest rank first, leftmost on ties). With ignore_merges a piece that is itself
// in the vocabulary is emitted whole.
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/file.h"
#include "io/tokenizer/added_tokens.h"
#include "io/tokenizer/bpe_merge.h"
#include "io/tokenizer/loaders.h"
#include "io/tokenizer/pair_map.h"
#include "io/tokenizer/pretokenizer.h"
#include "io/tokenizer/string_map.h"
#include "io/tokenizer/unicode.h"
#include "io/tokenizer/word_cache.h"

namespace as::tok {
namespace {

using json = nlohmann::json;

// GPT-2's reversible byte <-> printable code point table.
struct ByteLevelTable {
  static constexpr uint32_t kCodePoints = 256 + 68;  // bytes remapped above U+00FF: 68
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, kCodePoints> to_byte{};  // -1: not in the alphabet
  ByteLevelTable() {
    to_byte.fill(-1);
    uint32_t extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_cp[b] = printable ? b : extra++;
      to_byte[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTable& byte_level() {
  static const ByteLevelTable t;
  return t;
}

// Raw bytes of a vocabulary string spelled in the byte-level alphabet. Code points outside the
// alphabet are kept as UTF-8.
std::string byte_level_decode(std::string_view s) {
  const auto& t = byte_level();
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    const int len = utf8_decode(p + i, s.size() - i, &cp);
    if (cp < ByteLevelTable::kCodePoints && t.to_byte[cp] >= 0)
      out += static_cast<char>(t.to_byte[cp]);
    else
      out.append(s.substr(i, static_cast<size_t>(len)));
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& t = byte_level();
  std::string out;
  for (unsigned char b : bytes) utf8_append(out, t.to_cp[b]);
  return out;
}

// "content" of a special-token entry in tokenizer_config.json: a string, {"content": ...}, or null.
std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

class BpeJsonTokenizer final : public Tokenizer {
 public:
  explicit BpeJsonTokenizer(const std::string& path) : path_(path) {
    json j;
    try {
      j = json::parse(read_file(path));
    } catch (const json::exception& e) {
      throw Error(path + ": malformed JSON: " + e.what());
    }
    try {
      load_model(j);
      load_added(j);
      load_normalizer(j);
      load_pre_tokenizer(j);
      load_config(j);
    } catch (const json::exception& e) {
      throw Error(path + ": unexpected tokenizer.json layout: " + e.what());
    }
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 8);
    WordCache::Table& cache = cache_.table();
    size_t pos = 0;
    while (pos < text.size()) {
      const auto m = added_.find(text, pos);
      const size_t end = m.pos == std::string_view::npos ? text.size() : m.pos;
      if (end > pos) encode_span(text.substr(pos, end - pos), cache, ids);
      if (m.pos == std::string_view::npos) break;
      ids.push_back(m.id);
      pos = m.pos + m.len;
    }
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) out += token_bytes(id);
    return out;
  }
  std::string decode_token(int32_t, int32_t id) const override {
    return std::string(token_bytes(id));
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  bool add_bos() const override { return add_bos_; }
  std::string kind() const override { return "bpe_json"; }
  std::string piece(int32_t id) const override { return valid(id) ? pieces_[id] : std::string(); }
  TokenType token_type(int32_t id) const override {
    return valid(id) ? types_[id] : TokenType::Unused;
  }
  std::vector<std::string> merges() const override {
    std::vector<std::string> out;
    out.reserve(merge_list_.size());
    for (auto [a, b] : merge_list_) out.push_back(pieces_[a] + " " + pieces_[b]);
    return out;
  }
  std::string pre_tokenizer() const override { return split_ ? rules_.name : ""; }

 private:
  bool valid(int32_t id) const { return id >= 0 && id < static_cast<int32_t>(pieces_.size()); }
  std::string_view token_bytes(int32_t id) const {
    return valid(id) ? std::string_view(bytes_[id]) : std::string_view();
  }

  void set_token(int32_t id, std::string piece, TokenType type, bool byte_level_spelling) {
    if (id < 0) throw Error(path_ + ": negative token id for '" + piece + "'");
    if (static_cast<size_t>(id) >= pieces_.size()) {
      pieces_.resize(id + 1);
      bytes_.resize(id + 1);
      types_.resize(id + 1, TokenType::Unused);
    }
    bytes_[id] = byte_level_spelling ? byte_level_decode(piece) : piece;
    pieces_[id] = std::move(piece);
    types_[id] = type;
  }

  void load_model(const json& j) {
    check(j.contains("model") && j["model"].is_object(), path_ + ": no \"model\" object");
    const json& m = j["model"];
    const std::string type = m.value("type", "BPE");
    check(type == "BPE", path_ + ": model type '" + type + "' is not supported (only BPE)");
    check(m.contains("vocab") && m["vocab"].is_object(), path_ + ": model has no vocab object");
    StringMap<int32_t> by_piece;
    by_piece.reserve(m["vocab"].size());
    for (const auto& [piece, id] : m["vocab"].items()) {
      const int32_t i = id.get<int32_t>();
      set_token(i, piece, TokenType::Normal, true);
      by_piece.emplace(piece, i);
    }
    ignore_merges_ = m.value("ignore_merges", false);
    if (ignore_merges_) {
      for (const auto& [piece, id] : by_piece) by_bytes_.emplace(bytes_[id], id);
    }
    // Every single byte must have a token, or some inputs could not be encoded.
    for (int b = 0; b < 256; ++b) {
      std::string s;
      utf8_append(s, byte_level().to_cp[b]);
      auto it = by_piece.find(s);
      check(it != by_piece.end(), path_ + ": vocab lacks the byte-level token for byte " +
                                      std::to_string(b) + " (not a byte-level BPE?)");
      byte_id_[b] = it->second;
    }
    const json& merges = m.at("merges");
    check(merges.is_array(), path_ + ": model.merges is not a list");
    merges_.reserve(merges.size());
    merge_list_.reserve(merges.size());
    std::string a, b, ab;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const json& e = merges[rank];
      if (e.is_string()) {
        const std::string& s = e.get_ref<const std::string&>();
        const size_t sp = s.find(' ', 1);
        check(sp != std::string::npos,
              path_ + ": merge " + std::to_string(rank) + " '" + s + "' is not \"left right\"");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else {
        check(e.is_array() && e.size() == 2,
              path_ + ": merge " + std::to_string(rank) + " is neither \"a b\" nor [a, b]");
        a = e[0].get<std::string>();
        b = e[1].get<std::string>();
      }
      ab.assign(a).append(b);
      auto ia = by_piece.find(a), ib = by_piece.find(b), im = by_piece.find(ab);
      check(ia != by_piece.end() && ib != by_piece.end() && im != by_piece.end(),
            path_ + ": merge " + std::to_string(rank) + " '" + a + " " + b +
                "' uses a token missing from the vocab");
      merges_.insert(ia->second, ib->second, {static_cast<int32_t>(rank), im->second});
      merge_list_.emplace_back(ia->second, ib->second);
    }
  }

  void load_added(const json& j) {
    if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return;
    for (const json& t : j["added_tokens"]) {
      const int32_t id = t.at("id").get<int32_t>();
      std::string content = t.at("content").get<std::string>();
      const bool special = t.value("special", false);
      added_.add(content, id);
      set_token(id, std::move(content), special ? TokenType::Control : TokenType::UserDefined,
                false);
    }
  }

  void load_normalizer(const json& j) {
    if (!j.contains("normalizer") || j["normalizer"].is_null()) return;
    const json& n = j["normalizer"];
    auto one = [&](const json& x) {
      const std::string type = x.at("type").get<std::string>();
      if (type == "NFC") {
        nfc_ = true;
      } else {
        throw Error(path_ + ": normalizer '" + type + "' is not supported (only NFC)");
      }
    };
    if (n.at("type") == "Sequence") {
      for (const json& x : n.at("normalizers")) one(x);
    } else {
      one(n);
    }
  }

  void load_pre_tokenizer(const json& j) {
    check(j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null(),
          path_ + ": no pre_tokenizer (not a byte-level BPE tokenizer)");
    const json& p = j["pre_tokenizer"];
    bool byte_level_seen = false;
    auto one = [&](const json& x) {
      const std::string type = x.at("type").get<std::string>();
      if (type == "Split") {
        check(!split_, path_ + ": more than one Split pre-tokenizer is not supported");
        const json& pat = x.at("pattern");
        check(pat.contains("Regex"), path_ + ": Split pre-tokenizer without a Regex pattern");
        const std::string regex = pat["Regex"].get<std::string>();
        check(find_split_rules(regex, &rules_),
              path_ + ": pre-tokenizer regex is not one of the supported families: " + regex);
        check(x.value("behavior", "Isolated") == "Isolated" && !x.value("invert", false),
              path_ + ": only Isolated, non-inverted Split pre-tokenizers are supported");
        split_ = true;
      } else if (type == "ByteLevel") {
        byte_level_seen = true;
        add_prefix_space_ = x.value("add_prefix_space", false);
        if (x.value("use_regex", true)) {
          check(!split_, path_ + ": Split followed by a regex ByteLevel is not supported");
          rules_ = gpt2_split_rules();
          split_ = true;
        }
      } else {
        throw Error(path_ + ": pre-tokenizer '" + type + "' is not supported");
      }
    };
    if (p.at("type") == "Sequence") {
      for (const json& x : p.at("pretokenizers")) one(x);
    } else {
      one(p);
    }
    check(byte_level_seen, path_ + ": no ByteLevel pre-tokenizer (not a byte-level BPE)");
  }

  int32_t find_token(const std::string& content) const {
    if (content.empty()) return -1;
    for (size_t i = 0; i < pieces_.size(); ++i)
      if (types_[i] != TokenType::Normal && pieces_[i] == content) return static_cast<int32_t>(i);
    const std::string spelled = byte_level_encode(content);
    for (size_t i = 0; i < pieces_.size(); ++i)
      if (types_[i] == TokenType::Normal && pieces_[i] == spelled) return static_cast<int32_t>(i);
    return -1;
  }

  // bos/eos/add_bos from tokenizer_config.json; add_bos falls back to the post-processor template.
  void load_config(const json& j) {
    bool template_bos = false;
    if (j.contains("post_processor") && j["post_processor"].is_object()) {
      const json& pp = j["post_processor"];
      if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") &&
          pp["single"].is_array() && !pp["single"].empty())
        template_bos = pp["single"][0].contains("SpecialToken");
    }
    const std::string cfg_path =
        (std::filesystem::path(path_).parent_path() / "tokenizer_config.json").string();
    std::optional<bool> add_bos_cfg;
    if (file_exists(cfg_path)) {
      json c;
      try {
        c = json::parse(read_file(cfg_path));
      } catch (const json::exception& e) {
        throw Error(cfg_path + ": malformed JSON: " + e.what());
      }
      if (c.contains("bos_token")) {
        const std::string s = token_content(c["bos_token"]);
        bos_ = find_token(s);
        check(s.empty() || bos_ >= 0, cfg_path + ": bos_token '" + s + "' is not in the vocab");
      }
      if (c.contains("eos_token")) {
        const std::string s = token_content(c["eos_token"]);
        eos_ = find_token(s);
        check(s.empty() || eos_ >= 0, cfg_path + ": eos_token '" + s + "' is not in the vocab");
      }
      if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean())
        add_bos_cfg = c["add_bos_token"].get<bool>();
    }
    add_bos_ = bos_ >= 0 && add_bos_cfg.value_or(template_bos || bos_ >= 0);
  }

  void encode_span(std::string_view span, WordCache::Table& cache,
                   std::vector<int32_t>& ids) const {
    std::string normalized, prefixed;
    if (nfc_ && !is_ascii(span)) {
      normalized = nfc(span);
      span = normalized;
    }
    if (add_prefix_space_ && !span.starts_with(' ')) {
      prefixed.reserve(span.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(span);
      span = prefixed;
    }
    if (!split_) {
      encode_word(span, cache, ids);
      return;
    }
    thread_local std::vector<uint32_t> ends;
    ends.clear();
    split_pretokens(rules_, span, ends);
    uint32_t start = 0;
    for (uint32_t end : ends) {
      encode_word(span.substr(start, end - start), cache, ids);
      start = end;
    }
  }

  void encode_word(std::string_view w, WordCache::Table& cache, std::vector<int32_t>& ids) const {
    if (w.empty()) return;
    if (w.size() == 1) {
      ids.push_back(byte_id_[static_cast<unsigned char>(w[0])]);
      return;
    }
    if (cache.get(w, ids)) return;
    if (ignore_merges_) {
      auto it = by_bytes_.find(w);
      if (it != by_bytes_.end()) {
        ids.push_back(it->second);
        cache.put(w, std::span<const int32_t>(&it->second, 1));
        return;
      }
    }
    thread_local std::vector<MergeSymbol> sym;
    sym.resize(w.size());
    for (size_t i = 0; i < w.size(); ++i)
      sym[i] = {byte_id_[static_cast<unsigned char>(w[i])], static_cast<uint32_t>(i), 1, 0, 0};
    link_symbols(sym);
    bpe_merge<int32_t>(
        sym, [this](const MergeSymbol& a, const MergeSymbol& b, int32_t* pri, int32_t* id) {
          const PairMap::Value* m = merges_.find(a.id, b.id);
          if (!m) return false;
          *pri = -m->rank;
          *id = m->id;
          return true;
        });
    const size_t first = ids.size();
    for (int32_t i = 0; i >= 0; i = sym[i].next) ids.push_back(sym[i].id);
    cache.put(w, std::span<const int32_t>(ids).subspan(first));
  }

  std::string path_;
  std::vector<std::string> pieces_;  // vocabulary spelling (added tokens: their content)
  std::vector<std::string> bytes_;   // decoded bytes
  std::vector<TokenType> types_;
  std::array<int32_t, 256> byte_id_{};
  PairMap merges_;
  std::vector<std::pair<int32_t, int32_t>> merge_list_;
  StringMap<int32_t> by_bytes_;  // only with ignore_merges
  AddedTokenMatcher added_;
  WordCache cache_;
  bool ignore_merges_ = false, nfc_ = false, split_ = false, add_prefix_space_ = false;
  SplitRules rules_;
  int32_t bos_ = -1, eos_ = -1;
  bool add_bos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_json(const std::string& path) {
  return std::make_unique<BpeJsonTokenizer>(path);
}

}  // namespace as::tok
