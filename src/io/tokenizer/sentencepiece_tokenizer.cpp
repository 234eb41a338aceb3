// SentencePiece BPE from a tokenizer.model (ModelProto), parsed by hand. Encoding follows
// sentencepiece's BPE model: normalize (spaces -> U+2581, dummy prefix), split into characters
// (user-defined pieces kept whole), then repeatedly merge the adjacent pair whose concatenation is
// the highest-scoring piece (leftmost on ties). Characters left unknown become <0xHH> byte pieces
// when the model was trained with byte_fallback, else <unk>.
#include <algorithm>
#include <array>
#include <cstdio>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "io/tokenizer/bpe_merge.h"
#include "io/tokenizer/loaders.h"
#include "io/tokenizer/protobuf_reader.h"
#include "io/tokenizer/string_map.h"
#include "io/tokenizer/unicode.h"
#include "io/tokenizer/word_cache.h"

namespace as::tok {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr int kModelBpe = 2;

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) : path_(path) {
    const std::string data = read_file(path);
    parse(data);
    build();
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    thread_local std::string norm;
    normalize(text, norm);
    if (norm.empty()) return ids;
    const std::string_view nv = norm;
    WordCache::Table& cache = cache_.table();

    // Symbols of the current chunk. id -2 marks a user-defined piece, which never merges; -1 a
    // plain character. When no piece spans "x|U+2581" (x not U+2581), the text is merged chunk by
    // chunk, cut before each such space: same result, small heaps, and chunks can be memoized.
    thread_local std::vector<MergeSymbol> sym;
    sym.clear();
    size_t chunk_start = 0;
    auto flush = [&](size_t chunk_end) {
      if (sym.empty()) return;
      const std::string_view chunk = nv.substr(chunk_start, chunk_end - chunk_start);
      const size_t first = ids.size();
      if (!cache.get(chunk, ids)) {
        merge_chunk(nv, sym, ids);
        if (chunked_) cache.put(chunk, std::span<const int32_t>(ids).subspan(first));
      }
      // A run of unknown characters is one <unk>, across chunks too.
      if (!byte_fallback_ && first > 0 && ids.size() > first && ids[first] == unk_ &&
          ids[first - 1] == unk_)
        ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(first));
      sym.clear();
      chunk_start = chunk_end;
    };
    bool prev_space = false;
    size_t i = 0;
    while (i < nv.size()) {
      size_t len = user_defined_ ? match_user_defined(nv.substr(i)) : 0;
      const bool user = len > 0;
      if (!user) {
        static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
        len = std::min<size_t>(kLen[static_cast<unsigned char>(nv[i]) >> 4], nv.size() - i);
      }
      const bool space = nv.substr(i, len) == kSpaceSymbol;
      if (chunked_ && space && !prev_space) flush(i);
      prev_space = space;
      sym.push_back({user ? -2 : -1, static_cast<uint32_t>(i), static_cast<uint32_t>(len), 0, 0});
      i += len;
    }
    flush(nv.size());
    return ids;
  }

  // decode_token() over the ids, except that consecutive byte pieces are gathered and bytes that
  // do not form valid UTF-8 become U+FFFD, as in sentencepiece's decoder.
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out, bytes;
    int32_t prev = -1;
    for (int32_t id : ids) {
      if (!valid(id)) continue;
      if (types_[id] == TokenType::Byte) {
        bytes += static_cast<char>(byte_value_[id]);
      } else {
        append_bytes(out, bytes);
        bytes.clear();
        out += decode_token(prev, id);
      }
      prev = id;
    }
    append_bytes(out, bytes);
    return out;
  }

  std::string decode_token(int32_t prev, int32_t id) const override {
    if (!valid(id) || types_[id] == TokenType::Control) return "";
    if (types_[id] == TokenType::Byte) return std::string(1, static_cast<char>(byte_value_[id]));
    return piece_text(id, prev >= 0 && prev == bos_);
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  bool add_bos() const override { return bos_ >= 0; }
  std::string kind() const override { return "sentencepiece"; }
  std::string piece(int32_t id) const override { return valid(id) ? pieces_[id] : ""; }
  float score(int32_t id) const override { return valid(id) ? scores_[id] : 0.0f; }
  TokenType token_type(int32_t id) const override {
    return valid(id) ? types_[id] : TokenType::Unused;
  }

 private:
  bool valid(int32_t id) const { return id >= 0 && id < static_cast<int32_t>(pieces_.size()); }
  void parse(std::string_view data) {
    ProtoReader model(data, path_);
    bool have_trainer = false;
    while (model.next()) {
      switch (model.field()) {
        case 1: {  // SentencePiece
          ProtoReader p(model.as_bytes(), path_);
          std::string piece;
          float score = 0.0f;
          int type = 1;
          while (p.next()) {
            if (p.field() == 1)
              piece = std::string(p.as_bytes());
            else if (p.field() == 2)
              score = p.as_float();
            else if (p.field() == 3)
              type = p.as_int32();
            else
              p.skip();
          }
          check(type >= 1 && type <= 6, path_ + ": piece " + std::to_string(pieces_.size()) +
                                            " has unknown type " + std::to_string(type));
          pieces_.push_back(std::move(piece));
          scores_.push_back(score);
          types_.push_back(static_cast<TokenType>(type));
          break;
        }
        case 2: {  // TrainerSpec
          have_trainer = true;
          ProtoReader t(model.as_bytes(), path_);
          while (t.next()) {
            switch (t.field()) {
              case 3:
                model_type_ = t.as_int32();
                break;
              case 24:
                whitespace_suffix_ = t.as_bool();
                break;
              case 35:
                byte_fallback_ = t.as_bool();
                break;
              case 40:
                unk_ = t.as_int32();
                break;
              case 41:
                bos_ = t.as_int32();
                break;
              case 42:
                eos_ = t.as_int32();
                break;
              case 44:
                unk_surface_ = std::string(t.as_bytes());
                break;
              default:
                t.skip();
            }
          }
          break;
        }
        case 3: {  // NormalizerSpec
          ProtoReader n(model.as_bytes(), path_);
          while (n.next()) {
            switch (n.field()) {
              case 1:
                normalizer_name_ = std::string(n.as_bytes());
                break;
              case 2:
                has_charsmap_ = !n.as_bytes().empty();
                break;
              case 3:
                add_dummy_prefix_ = n.as_bool();
                break;
              case 4:
                remove_extra_ws_ = n.as_bool();
                break;
              case 5:
                escape_ws_ = n.as_bool();
                break;
              default:
                n.skip();
            }
          }
          break;
        }
        default:
          model.skip();
      }
    }
    check(!pieces_.empty(), path_ + ": no pieces (not a SentencePiece model, or truncated)");
    check(have_trainer, path_ + ": no trainer_spec (truncated SentencePiece model?)");
    check(model_type_ == kModelBpe, path_ + ": SentencePiece model type " +
                                        std::to_string(model_type_) +
                                        " is not supported (only BPE = 2)");
    if (has_charsmap_)
      log_warn(path_ + ": normalizer '" + normalizer_name_ +
               "' has a precompiled charsmap, which is not applied (identity normalization)");
  }

  void build() {
    const int32_t n = static_cast<int32_t>(pieces_.size());
    auto in_range = [&](int32_t id) { return id >= 0 && id < n; };
    check(in_range(unk_) && types_[unk_] == TokenType::Unknown,
          path_ + ": unk_id " + std::to_string(unk_) + " is not an unknown piece");
    if (!in_range(bos_) || types_[bos_] != TokenType::Control) bos_ = -1;
    if (!in_range(eos_) || types_[eos_] != TokenType::Control) eos_ = -1;
    byte_value_.assign(pieces_.size(), -1);
    byte_ids_.fill(-1);
    for (int32_t i = 0; i < n; ++i) {
      const std::string& p = pieces_[i];
      switch (types_[i]) {
        case TokenType::Normal:
        case TokenType::UserDefined:
        case TokenType::Unused:
          mergeable_.emplace(p, i);
          if (types_[i] == TokenType::UserDefined) {
            user_defined_ = true;
            max_user_len_ = std::max(max_user_len_, p.size());
          }
          break;
        case TokenType::Byte: {
          unsigned v = 0;
          check(p.size() == 6 && std::sscanf(p.c_str(), "<0x%02X>", &v) == 1,
                path_ + ": byte piece " + std::to_string(i) + " is not <0xHH>: '" + p + "'");
          byte_value_[i] = static_cast<int16_t>(v);
          byte_ids_[v] = i;
          reserved_.emplace(p, i);
          break;
        }
        default:
          reserved_.emplace(p, i);
      }
    }
    // Chunked merging is exact when no mergeable piece holds a space symbol right after another
    // character that is not a space symbol.
    chunked_ = true;
    for (const auto& [p, id] : mergeable_) {
      for (size_t k = p.find(kSpaceSymbol, 1); k != std::string::npos;
           k = p.find(kSpaceSymbol, k + 1))
        if (k < kSpaceSymbol.size() ||
            p.compare(k - kSpaceSymbol.size(), kSpaceSymbol.size(), kSpaceSymbol) != 0)
          chunked_ = false;
    }
    if (byte_fallback_) {
      for (int b = 0; b < 256; ++b)
        check(byte_ids_[b] >= 0, path_ + ": byte_fallback is set but piece <0x" +
                                     std::to_string(b) + "> (decimal) is missing");
    }
  }

  // BPE-merges the symbols of one chunk of the normalized text `nv` and appends their ids.
  void merge_chunk(std::string_view nv, std::vector<MergeSymbol>& sym,
                   std::vector<int32_t>& ids) const {
    link_symbols(sym);
    bpe_merge<float>(sym, [&](const MergeSymbol& a, const MergeSymbol& b, float* pri, int32_t* id) {
      if (a.id == -2 || b.id == -2) return false;
      auto it = mergeable_.find(nv.substr(a.start, a.len + b.len));
      if (it == mergeable_.end()) return false;
      *pri = scores_[it->second];
      *id = it->second;
      return true;
    });
    bool prev_unk = false;
    for (int32_t s = 0; s >= 0; s = sym[s].next) {
      const std::string_view w = nv.substr(sym[s].start, sym[s].len);
      const int32_t id = piece_to_id(w);
      if (id != unk_) {
        ids.push_back(id);
        prev_unk = false;
      } else if (byte_fallback_) {
        for (unsigned char b : w) ids.push_back(byte_ids_[b]);
      } else if (!prev_unk) {
        ids.push_back(unk_);
        prev_unk = true;
      }
    }
  }

  int32_t piece_to_id(std::string_view w) const {
    if (auto it = reserved_.find(w); it != reserved_.end()) return it->second;
    if (auto it = mergeable_.find(w); it != mergeable_.end()) return it->second;
    return unk_;
  }

  // Longest user-defined piece that prefixes s; 0 when none.
  size_t match_user_defined(std::string_view s) const {
    for (size_t len = std::min(max_user_len_, s.size()); len > 0; --len) {
      auto it = mergeable_.find(s.substr(0, len));
      if (it != mergeable_.end() && types_[it->second] == TokenType::UserDefined) return len;
    }
    return 0;
  }

  void normalize(std::string_view text, std::string& out) const {
    out.clear();
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    size_t i = 0;
    if (remove_extra_ws_)
      while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) return;
    const std::string_view space = escape_ws_ ? kSpaceSymbol : std::string_view(" ");
    if (add_dummy_prefix_ && !whitespace_suffix_) out += space;
    bool prev_space = false;
    while (i < text.size()) {
      uint32_t cp;
      const int len = utf8_decode(p + i, text.size() - i, &cp);
      if (text[i] == ' ') {
        if (!(remove_extra_ws_ && prev_space)) out += space;
        prev_space = true;
      } else {
        if (cp == 0xFFFD && len == 1)
          out += kReplacement;
        else
          out.append(text.substr(i, static_cast<size_t>(len)));
        prev_space = false;
      }
      i += static_cast<size_t>(len);
    }
    if (remove_extra_ws_)
      while (out.ends_with(space)) out.erase(out.size() - space.size());
    if (add_dummy_prefix_ && whitespace_suffix_ && !out.empty()) out += space;
  }

  // Text of a normal / user-defined / unknown piece; `strip` drops one leading space symbol.
  std::string piece_text(int32_t id, bool strip) const {
    if (types_[id] == TokenType::Unknown) return unk_surface_;
    std::string_view p = pieces_[id];
    if (strip && (add_dummy_prefix_ || remove_extra_ws_) && p.starts_with(kSpaceSymbol))
      p.remove_prefix(kSpaceSymbol.size());
    std::string out;
    out.reserve(p.size());
    for (size_t i = 0; i < p.size();) {
      if (p.substr(i).starts_with(kSpaceSymbol)) {
        out += ' ';
        i += kSpaceSymbol.size();
      } else {
        out += p[i++];
      }
    }
    return out;
  }

  // Appends byte-piece output; bytes that do not form valid UTF-8 become U+FFFD, as in
  // sentencepiece's decoder.
  static void append_bytes(std::string& out, std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    for (size_t i = 0; i < bytes.size();) {
      uint32_t cp;
      const int len = utf8_decode(p + i, bytes.size() - i, &cp);
      if (cp == 0xFFFD && len == 1)
        out += kReplacement;
      else
        out.append(bytes.substr(i, static_cast<size_t>(len)));
      i += static_cast<size_t>(len);
    }
  }

  std::string path_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::vector<int16_t> byte_value_;
  std::array<int32_t, 256> byte_ids_{};
  StringMap<int32_t> mergeable_;  // normal, user-defined and unused pieces
  StringMap<int32_t> reserved_;   // control, unknown and byte pieces
  bool user_defined_ = false, chunked_ = false;
  WordCache cache_;
  size_t max_user_len_ = 0;
  // TrainerSpec / NormalizerSpec, with the protobuf defaults.
  int32_t model_type_ = 1, unk_ = 0, bos_ = 1, eos_ = 2;
  bool byte_fallback_ = false, whitespace_suffix_ = false;
  std::string unk_surface_ = " \xE2\x81\x87 ";
  std::string normalizer_name_;
  bool has_charsmap_ = false, add_dummy_prefix_ = true, remove_extra_ws_ = true, escape_ws_ = true;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace as::tok
