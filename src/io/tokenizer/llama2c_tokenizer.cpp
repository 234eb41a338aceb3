// llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length and
// the bytes. Encoding follows llama2.c's encode(): a " " dummy-prefix token, one token per UTF-8
// character (unknown characters fall back to byte tokens, id = byte + 3), then repeatedly merge
// the adjacent pair whose concatenation is the best-scoring token (leftmost on ties).
#include <cstring>

#include "common/error.h"
#include "common/file.h"
#include "io/tokenizer/bpe_merge.h"
#include "io/tokenizer/loaders.h"
#include "io/tokenizer/string_map.h"
#include "io/tokenizer/word_cache.h"

namespace as::tok {
namespace {

constexpr int32_t kBos = 1, kEos = 2, kByteBase = 3;

// Byte value of a "<0xHH>" piece, or -1.
int byte_piece_value(std::string_view p) {
  if (p.size() != 6 || !p.starts_with("<0x") || p[5] != '>') return -1;
  int v = 0;
  for (char c : p.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else
      return -1;
  }
  return v;
}

class Llama2cTokenizer final : public Tokenizer {
 public:
  explicit Llama2cTokenizer(const std::string& path) {
    MappedFile f(path);
    const uint8_t* p = f.data();
    const size_t n = f.size();
    size_t off = 0;
    auto need = [&](size_t k, const char* what) {
      if (n - off < k)
        throw Error(path + ": truncated tokenizer.bin (" + what + " of token " +
                    std::to_string(pieces_.size()) + " at byte " + std::to_string(off) + ")");
    };
    need(4, "max_token_length");
    int32_t max_len;
    std::memcpy(&max_len, p, 4);
    off = 4;
    check(max_len > 0 && max_len < (1 << 20),
          path + ": bad max_token_length " + std::to_string(max_len));
    while (off < n) {
      need(8, "header");
      float score;
      int32_t len;
      std::memcpy(&score, p + off, 4);
      std::memcpy(&len, p + off + 4, 4);
      off += 8;
      check(len >= 0 && len <= max_len, path + ": token " + std::to_string(pieces_.size()) +
                                            " has length " + std::to_string(len) +
                                            " (max_token_length " + std::to_string(max_len) + ")");
      need(static_cast<size_t>(len), "bytes");
      pieces_.emplace_back(reinterpret_cast<const char*>(p + off), static_cast<size_t>(len));
      scores_.push_back(score);
      off += static_cast<size_t>(len);
    }
    // Byte fallback addresses ids 3..258.
    check(pieces_.size() >= static_cast<size_t>(kByteBase + 256),
          path + ": too few tokens (" + std::to_string(pieces_.size()) + ")");
    byte_.resize(pieces_.size());
    by_piece_.reserve(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
      byte_[i] = static_cast<int16_t>(byte_piece_value(pieces_[i]));
      by_piece_.emplace(pieces_[i], static_cast<int32_t>(i));  // first id wins on duplicates
    }
    chunked_ = true;
    for (const std::string& p : pieces_)
      for (size_t k = p.find(' ', 1); k != std::string::npos; k = p.find(' ', k + 1))
        if (p[k - 1] != ' ') chunked_ = false;
    auto sp = by_piece_.find(std::string_view(" "));
    space_id_ = sp == by_piece_.end() ? -1 : sp->second;
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    if (text.empty()) return ids;
    // Work string: the dummy prefix then the text; symbols point into it.
    thread_local std::string w;
    w.clear();
    if (space_id_ >= 0) w += ' ';
    const uint32_t base = static_cast<uint32_t>(w.size());
    w.append(text);

    // Symbols of the current chunk. When no token has a space right after a non-space byte, the
    // text is merged chunk by chunk, cut before each such space: same result, small heaps.
    thread_local std::vector<MergeSymbol> sym;
    sym.clear();
    WordCache::Table& cache = cache_.table();
    size_t chunk_start = 0;
    auto flush = [&](size_t chunk_end) {
      if (sym.empty()) return;
      const std::string_view chunk =
          std::string_view(w).substr(chunk_start, chunk_end - chunk_start);
      chunk_start = chunk_end;
      if (cache.get(chunk, ids)) {
        sym.clear();
        return;
      }
      const size_t first = ids.size();
      link_symbols(sym);
      bpe_merge<float>(
          sym, [this](const MergeSymbol& a, const MergeSymbol& b, float* pri, int32_t* id) {
            if (byte_[a.id] >= 0 || byte_[b.id] >= 0) return false;  // byte fallback never merges
            auto it = by_piece_.find(std::string_view(w).substr(a.start, a.len + b.len));
            if (it == by_piece_.end()) return false;
            *pri = scores_[it->second];
            *id = it->second;
            return *pri > -1e10f;  // llama2.c's initial best score
          });
      for (int32_t i = 0; i >= 0; i = sym[i].next) ids.push_back(sym[i].id);
      cache.put(chunk, std::span<const int32_t>(ids).subspan(first));
      sym.clear();
    };
    if (space_id_ >= 0) sym.push_back({space_id_, 0, 1, 0, 0});
    size_t len = 0;  // bytes of the current character (llama2.c's str_len)
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c & 0xC0) != 0x80) len = 0;
      ++len;
      const bool cont_next =
          i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
      if (cont_next && len < 4) continue;
      const size_t start = i + 1 - len;
      if (chunked_ && c == ' ' && base + i > 0 && w[base + i - 1] != ' ') flush(base + i);
      auto it = by_piece_.find(text.substr(start, len));
      if (it != by_piece_.end()) {
        sym.push_back(
            {it->second, base + static_cast<uint32_t>(start), static_cast<uint32_t>(len), 0, 0});
      } else {
        for (size_t k = start; k <= i; ++k)
          sym.push_back({static_cast<unsigned char>(text[k]) + kByteBase,
                         base + static_cast<uint32_t>(k), 1, 0, 0});
      }
      len = 0;
    }
    flush(w.size());
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    int32_t prev = -1;
    for (int32_t id : ids) {
      out += decode_token(prev, id);
      prev = id;
    }
    return out;
  }

  std::string decode_token(int32_t prev, int32_t id) const override {
    if (!valid(id) || id == kBos || id == kEos) return "";
    if (byte_[id] >= 0) return std::string(1, static_cast<char>(byte_[id]));
    std::string_view p = pieces_[id];
    if (prev == kBos && p.starts_with(' ')) p.remove_prefix(1);
    return std::string(p);
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  bool add_bos() const override { return true; }
  std::string kind() const override { return "llama2c"; }
  std::string piece(int32_t id) const override { return valid(id) ? pieces_[id] : ""; }
  float score(int32_t id) const override { return valid(id) ? scores_[id] : 0.0f; }
  TokenType token_type(int32_t id) const override {
    if (!valid(id)) return TokenType::Unused;
    if (id == 0) return TokenType::Unknown;
    if (id == kBos || id == kEos) return TokenType::Control;
    return byte_[id] >= 0 ? TokenType::Byte : TokenType::Normal;
  }

 private:
  bool valid(int32_t id) const { return id >= 0 && id < static_cast<int32_t>(pieces_.size()); }

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int16_t> byte_;  // byte value of "<0xHH>" pieces, else -1
  StringMap<int32_t> by_piece_;
  int32_t space_id_ = -1;
  bool chunked_ = false;
  WordCache cache_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_llama2c(const std::string& path) {
  return std::make_unique<Llama2cTokenizer>(path);
}

}  // namespace as::tok
