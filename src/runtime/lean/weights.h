// Internal to the lean runtime: the weights one forward pass uses, whatever file they came from.
// Two sources fill this struct: a packed directory (`angelslim pack`, weights_packed.cpp) and a GGUF
// file (ours or llama.cpp's, weights_gguf.cpp). Tensors are used in place from the mapped file when
// their layout is one the kernels run (zero copy); the rest is converted once at load.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/packed/packed.h"
#include "runtime/lean/lean.h"

namespace as::gguf {
class GGUFFile;
}

namespace as::lean::detail {

struct Linear {
  bool is_packed = false;
  packed::QuantType type{};
  const uint8_t* data = nullptr;  // packed rows, or fp32 [N, K]
  std::vector<float> owned;       // fp32 copy when the mapped tensor is unusable in place
  std::vector<uint8_t> owned_packed;  // packed rows converted at load (GGUF types the kernels lack)
  bool interleaved = false;       // packed rows in the type's interleaved layout (rows8 / rows32, packed.h)
  int64_t N = 0, K = 0;
  int64_t k_main = 0;             // split linear: columns in `data` (the rest is `tail`); 0 = K
  std::shared_ptr<Linear> tail;   // split linear: the last K - k_main columns (q8_g32 or fp32)
  uint64_t bytes = 0;  // bytes one use of the linear reads (tail included)
  std::function<void()> release;  // drops the file pages `data` points into (set when it is mapped)
  const float* bias = nullptr;
  int64_t kmain() const { return k_main ? k_main : K; }
  void apply(const float* X, int64_t M, float* Y) const;
  std::optional<packed::QuantType> recoded_from;  // the file's type when re-encoded at load
  // Moves a packed linear into the rows its kernels run fastest on: first the exact re-encoding
  // packed::run_type asks for (tern167_pc as tern2_pc without AVX-512 VBMI; env ANGELSLIM_RECODE),
  // then its type's interleaved layout (rows8 for int4, rows32 for sherry125, t167d) when it has one
  // and N is a multiple of its row group (decode then reads 8 or 32 rows per vector; llama.cpp
  // repacks Q4_0 the same way; env ANGELSLIM_INTERLEAVE=0 disables it). Returns true when `data` no
  // longer points into the source, so the caller can release its pages.
  bool use_interleaved();
  bool recode_for_speed();  // the first step alone
};

struct Layer {
  const float *attn_norm = nullptr, *ffn_norm = nullptr, *q_norm = nullptr, *k_norm = nullptr;
  Linear q, k, v, o, gate, up, down;
  // q|k|v and gate|up concatenated along N (one matmul per group; N == 0 when not fused). The
  // separate linears keep their byte counts but are not run once fused.
  Linear qkv, gate_up;
  // The seven linears as loaded (the fused copies excluded).
  std::array<const Linear*, 7> linears() const { return {&q, &k, &v, &o, &gate, &up, &down}; }
};

// Token embedding rows: `decode` turns one stored row into `dim` floats.
struct Embedding {
  const uint8_t* data = nullptr;
  uint64_t row_bytes = 0, nbytes = 0;
  std::function<void(const uint8_t* row, float* out)> decode;
};

struct Weights {
  LeanConfig c;
  std::string source;         // the directory or file
  std::string type, lm_type;  // packed type names (or a description of the GGUF's types)
  bool rope_adjacent = false;  // RoPE over adjacent pairs (llama.cpp's llama layout) instead of halves
  Embedding embed;
  const float* final_norm = nullptr;
  std::vector<Layer> layers;
  Linear lm_head;
  uint64_t file_bytes = 0;  // bytes of the file's tensors
  std::vector<std::vector<float>> owned;  // fp32 copies of small tensors
  std::shared_ptr<const void> keep;       // keeps the mapping alive
  std::vector<std::string> notes;         // conversions made at load (shown by bench / generate)
};

// The seven linears of a decoder layer: where each lives, its file names and its [N, K].
struct LinearSpec {
  Linear Layer::*field;
  const char* hf;    // "self_attn.q_proj" (HF / packed directories)
  const char* gguf;  // "attn_q"
  int64_t N, K;
  bool bias;  // the config says it carries a bias
};
std::vector<LinearSpec> layer_linears(const LeanConfig& c);

Weights load_packed_dir(const std::string& dir);
// Fuses each layer's q/k/v and gate/up into one packed matrix when the parts share type, layout
// and K (fuse.cpp); env ANGELSLIM_FUSE=0 keeps them separate.
void fuse_for_decode(Weights& W);
Weights load_gguf(std::shared_ptr<const gguf::GGUFFile> f, const LeanConfig& c, bool rope_adjacent);

// Y[M, N] = X[M, K] . W[N, K]^T for fp32 W.
void gemm_f32(const float* W, int64_t N, int64_t K, const float* X, int64_t M, float* Y);

}  // namespace as::lean::detail
