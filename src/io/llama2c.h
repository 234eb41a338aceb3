// llama2.c checkpoint reader (karpathy/llama2.c "version 0" float32 format). Torch-free.
//
// Layout: 7 x int32 header {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}
// (a negative vocab_size means the classifier is NOT shared with the embedding), then float32
// arrays: token_embedding [V,D], rms_att [L,D], wq [L,D,D], wk [L,KV,D], wv [L,KV,D], wo [L,D,D],
// rms_ffn [L,D], w1 [L,F,D], w2 [L,D,F], w3 [L,F,D], rms_final [D], freq_cis_real [S,hd/2],
// freq_cis_imag [S,hd/2], then wcls [V,D] when unshared. RoPE rotates interleaved pairs (2i, 2i+1).
#pragma once
#include <cstdint>
#include <string>

#include "common/file.h"

namespace as {

struct Llama2cHeader {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
  bool shared_classifier;
};

struct Llama2cCheckpoint {
  Llama2cHeader h{};
  MappedFile file;
  const float* token_embedding = nullptr;
  const float* rms_att = nullptr;
  const float* wq = nullptr;
  const float* wk = nullptr;
  const float* wv = nullptr;
  const float* wo = nullptr;
  const float* rms_ffn = nullptr;
  const float* w1 = nullptr;
  const float* w2 = nullptr;
  const float* w3 = nullptr;
  const float* rms_final = nullptr;
  const float* wcls = nullptr;
  int head_dim() const { return h.dim / h.n_heads; }
  int kv_dim() const { return head_dim() * h.n_kv_heads; }
};

// Maps and validates (header sanity, exact file size); throws as::Error naming the file.
Llama2cCheckpoint read_llama2c(const std::string& path);
// Heuristic used by loaders: a regular file whose header parses and whose size matches.
bool looks_like_llama2c(const std::string& path);

}  // namespace as
