// GGUF export (llama.cpp's format) of Llama / Qwen2 / Qwen3 models: metadata, tokenizer vocabulary
// and weights in one of the ggml types we can write.
//
// Naming and layout follow llama.cpp's convert_hf_to_gguf.py: token_embd / blk.N.* / output_norm /
// output (omitted when tied); norms and biases stay F32; for general.architecture "llama" the q/k
// rows (and biases) are permuted from HF's rotate-half order back to Meta's interleaved order.
//
// Tensor types for a requested type T (what llama-quantize does, minus its per-layer mixes):
//   F32 / F16 / BF16: every 2-D weight in T.
//   quantized T: every 2-D weight in T, except
//     - output.weight (token_embd.weight when tied): Q6_K, or Q8_0 when T is Q8_0 or the rows do not
//       fit T's block;
//     - token_embd.weight (untied) for TQ1_0 / TQ2_0 / STQ1_0: Q4_K;
//   (`pure` turns both exceptions off.)
//   A matrix whose row length is not a multiple of the chosen type's block falls back:
//     TQ1_0, TQ2_0, STQ1_0, Q2_K -> Q4_0; Q4_K, Q6_K -> Q8_0 (llama.cpp would use Q5_0 for Q4_K; we do not
//     write Q5_0); then F16 when that does not fit either. Every fallback is reported.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/gguf/ggml_types.h"
#include "io/tokenizer/tokenizer.h"
#include "model/config.h"
#include "model/weights.h"

namespace as {

class Model;

struct GGUFExportOptions {
  gguf::GGMLType type = gguf::GGMLType::F16;
  bool pure = false;       // no Q6_K / Q4_K override for the output and embedding matrices
  std::string name;        // general.name (default: the model file / directory name)
};

struct GGUFTensorPlan {
  std::string name;        // GGUF name ("blk.0.attn_q.weight")
  std::string source;      // HF name it comes from
  gguf::GGMLType type;
  std::vector<int64_t> ne; // GGUF order
};

struct GGUFExportResult {
  std::string path;
  std::string architecture;           // "llama", "qwen2", "qwen3"
  uint32_t file_type = 0;             // general.file_type written
  uint64_t bytes = 0;                 // file size
  std::vector<GGUFTensorPlan> tensors;
  std::vector<std::string> fallbacks; // one line per tensor that could not use the requested type
};

// The GGUF architecture string for a config ("llama", "qwen2", "qwen3"); throws for others.
std::string gguf_architecture(const ModelConfig& cfg);
// llama.cpp's general.file_type (llama_ftype) for a requested type; throws for types we do not write.
uint32_t gguf_file_type(gguf::GGMLType t);
// Types `--type` accepts, in ggml spelling ("F32", "F16", "BF16", "Q8_0", ...).
std::vector<std::string> gguf_export_type_names();

// Inverse of permute_interleaved_to_half: rows of a q/k projection (or bias) [n_heads*hd, ...] from
// rotate-half order (j pairs with j + hd/2) to interleaved pairs (2j, 2j+1).
torch::Tensor permute_half_to_interleaved(const torch::Tensor& w, int64_t n_heads);

// Writes `out_path` (atomically) from a config, a weight store with HF names, and a tokenizer.
GGUFExportResult export_gguf(const ModelConfig& cfg, const WeightStore& store, const Tokenizer& tok,
                             const std::string& out_path, const GGUFExportOptions& opts = {});
// Same, from a loaded model (reads the tensors from its weight store, one at a time).
GGUFExportResult export_gguf(const Model& model, const std::string& out_path, const GGUFExportOptions& opts = {});

}  // namespace as
