// Tokenizer interface: byte-level BPE (tokenizer.json), SentencePiece BPE (tokenizer.model), and
// llama2.c tokenizer.bin. Torch-free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace as {

// Token kinds, numbered as SentencePiece and GGUF number them.
enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes text without BOS/EOS. Applies the tokenizer's own normalization (SentencePiece and
  // llama2.c add their dummy-prefix space; tokenizer.json matches added/special tokens in the
  // text). Thread-safe.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // The concatenation of decode_token(prev, id) over ids, with prev = -1 before the first.
  // SentencePiece and llama2.c: control tokens (BOS/EOS) decode to nothing, and only a piece right
  // after BOS loses its leading space, so decode({bos} + encode(x)) == x while decode(encode(x))
  // keeps the dummy-prefix space. tokenizer.json: every token, added/special ones included,
  // decodes to its text (as Hugging Face does by default), so decode(encode(x)) == x.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // Text of one token as it would appear in decoded output after `prev` (llama2.c and SP strip the
  // leading space of the first piece after BOS; prev = -1 when there is no previous token).
  // Byte tokens come back as the raw byte, so a multi-byte character may arrive in pieces.
  // Used for streaming generation.
  virtual std::string decode_token(int32_t prev, int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;    // -1 when the tokenizer defines none
  virtual int32_t eos_id() const = 0;    // -1 when none
  virtual bool add_bos() const = 0;      // whether generation/eval should prepend BOS
  virtual std::string kind() const = 0;  // "bpe_json", "sentencepiece", "llama2c"
  // Token string as stored in the vocabulary (for GGUF export and diagnostics).
  virtual std::string piece(int32_t id) const = 0;
  virtual float score(int32_t id) const {
    (void)id;
    return 0.0f;
  }
  virtual TokenType token_type(int32_t id) const {
    (void)id;
    return TokenType::Normal;
  }
  // BPE merges in rank order as "left right" in vocabulary spelling (tokenizer.json only).
  virtual std::vector<std::string> merges() const { return {}; }
  // Pre-tokenizer family of a tokenizer.json ("llama3", "qwen2", "gpt2"); empty otherwise.
  virtual std::string pre_tokenizer() const { return ""; }
};

// Loads a tokenizer from a tokenizer.json / tokenizer.model / tokenizer.bin file, or from a
// directory holding one (looked up in that order). tokenizer_config.json next to a
// tokenizer.json supplies bos/eos/add_bos. Throws as::Error naming the file on any defect.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// Finds the tokenizer file inside a model directory; empty string when there is none.
std::string find_tokenizer_file(const std::string& dir);

}  // namespace as
