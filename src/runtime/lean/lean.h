// Lean, torch-free runtime for packed models (`angelslim pack` output), plus the packer itself.
//
// Packed directory layout:
//   config.json        the source HF config plus an "angelslim_packed" section:
//                      {"version": 1, "type": TYPE, "lm_head": TYPE|"f32", "embed_dtype": "F32"|"BF16"|"F16",
//                       "f32_linears": [names kept in F32 because K is not a multiple of the block],
//                       "fallback_linears": {name: "q8_g32"} (K below TYPE's block but a multiple of 32),
//                       "split_linears": {name: {"k_main": K0, "tail": "q8_g32"|"f32"}}}
//   model.safetensors  decoder linears as U8 `<linear>.qweight` [N, packed_row_bytes(TYPE, K)];
//                      biases, norms F32; the embedding in F32, or as stored when the source is BF16/F16;
//                      lm_head as `lm_head.qweight` (q8_g32 by default: it is read once per decoded
//                      token, so it is a large share of decode bandwidth) or `lm_head.weight` F32.
//                      __metadata__ {"angelslim.packed_type": TYPE, "angelslim.lm_head": ...,
//                      "angelslim.format_version": "1"}.
//   tokenizer files    copied from the source directory.
// TYPE "f32" is an unpacked passthrough: every linear stays F32 `<linear>.weight` (a reference for
// the runtime itself). Linears whose K is not a multiple of TYPE's block size B are split when
// K > B: the first K0 = floor(K / B) * B columns in TYPE (`<linear>.qweight`), the last K - K0 in
// q8_g32 (`<linear>.qweight_tail`) when that count is a multiple of 32, else F32
// (`<linear>.weight_tail`); per-channel scales then cover the first K0 columns. Linears with K < B
// are packed as q8_g32 when K is a multiple of 32 (fallback_linears), else kept in F32.
//
// Runtime: weights are used in place from the mmap (zero copy) except F32 tensors that are not
// 4-byte aligned, and BF16 linears, which are converted once. KV cache in fp16 (or fp32), preallocated
// activations; prefill runs packed GEMM (M = chunk of prompt tokens), decode runs GEMV, both on the
// packed kernels' thread pool (as::packed::set_num_threads).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/safetensors.h"
#include "io/tokenizer/tokenizer.h"
#include "kernels/attention.h"
#include "kernels/packed/packed.h"

namespace as::gguf {
class GGUFFile;
}

namespace as::lean {

struct LeanConfig {
  std::string model_type = "llama";
  int64_t hidden = 0, inter = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  int64_t max_position = 2048;
  double eps = 1e-5, rope_theta = 10000.0;
  std::string rope_type = "none";  // none | linear | llama3
  double rope_factor = 1.0, rope_low = 1.0, rope_high = 4.0;
  int64_t rope_orig_max = 8192;
  bool tie = false, qkv_bias = false, o_bias = false, mlp_bias = false, qk_norm = false;
  int32_t bos = -1;
  std::vector<int32_t> eos;
};
// Torch-free config.json parsing for llama / qwen2 / qwen3. Throws as::Error naming `context`.
LeanConfig parse_config(const nlohmann::json& j, const std::string& context);

// True when dir/config.json exists and carries an "angelslim_packed" section.
bool is_packed_dir(const std::string& dir);

// ---- packing ----
struct PackOptions {
  std::string type;              // a packed type name (see packed::quant_type_names()) or "f32"
  std::string lm_head = "q8_g32";  // packed type name, "f32", or "same" (= type)
};
struct PackReport {
  std::string type;
  uint64_t source_bytes = 0, packed_bytes = 0;
  int64_t packed_linears = 0;
  std::vector<std::string> f32_linears;
  std::map<std::string, std::string> fallback_linears;  // linear -> the type used instead (q8_g32)
  std::map<std::string, std::pair<int64_t, std::string>> split_linears;  // linear -> (K0, tail type)
  double seconds = 0;
};
PackReport pack_model(const std::string& src_dir, const std::string& out_dir, const PackOptions& opt);

// ---- runtime ----
class LeanModel {
 public:
  // max_context: KV cache length (0 = min(max_position, 4096)). kv: cache element type (fp16 by
  // default, as llama.cpp; fp32 for bit-level comparisons with a float reference).
  explicit LeanModel(const std::string& dir, int64_t max_context = 0, kernels::KvType kv = kernels::KvType::F16);
  // A GGUF file (llama / qwen2 / qwen3, ours or llama.cpp's). `c` describes the file (the caller reads
  // its metadata); rope_adjacent: the q/k rows are in llama.cpp's llama order (RoPE over adjacent
  // pairs). How each tensor type is run: runtime/lean/weights_gguf.cpp.
  LeanModel(std::shared_ptr<const gguf::GGUFFile> f, const LeanConfig& c, bool rope_adjacent, int64_t max_context = 0,
            kernels::KvType kv = kernels::KvType::F16);
  ~LeanModel();
  const LeanConfig& config() const;
  const std::string& packed_type() const;   // linears' type ("gguf:q4_0+q6_k" for GGUF files)
  const std::string& lm_head_type() const;
  const std::vector<std::string>& load_notes() const;  // lossy conversions made at load
  // Linears moved into an interleaved layout at load (rows8 for int4, rows32 for sherry125; env
  // ANGELSLIM_INTERLEAVE=0 keeps the row layout, for A/B comparisons).
  int64_t interleaved_linears() const;
  // Linears re-encoded at load into a type whose kernels run faster on this CPU (tern167_pc as
  // tern2_pc without AVX-512 VBMI, packed::run_type; env ANGELSLIM_RECODE=0 keeps the file's type).
  int64_t recoded_linears() const;
  int64_t max_context() const;
  int64_t position() const;  // tokens in the KV cache
  void reset();              // empties the KV cache
  // Appends n tokens at position() and returns logits: [vocab] for the last token, or [n, vocab]
  // when all_logits (valid until the next call). Prefill is processed in chunks.
  const float* forward(const int32_t* ids, int64_t n, bool all_logits = false);
  uint64_t weight_bytes() const;            // bytes of the packed file's tensors
  uint64_t decode_bytes_per_token() const;  // weight bytes one decode step reads (linears + lm_head + 1 embedding row)
  uint64_t kv_bytes_per_position() const;   // cache bytes one position adds (K and V, all layers)
  kernels::KvType kv_type() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

struct Sampling {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
};
// Greedy (temperature 0) or seeded sampling over one logits row.
class Sampler {
 public:
  explicit Sampler(Sampling s);
  int32_t sample(const float* logits, int64_t vocab);

 private:
  Sampling s_;
  uint64_t state_;
  std::vector<std::pair<float, int32_t>> buf_;
};

struct GenOptions {
  int64_t max_new_tokens = 64;
  Sampling sampling;
  bool stop_at_eos = true;
  kernels::KvType kv = kernels::KvType::F16;
  std::function<void(int32_t, const std::string&)> on_token;
};
struct GenResult {
  std::vector<int32_t> prompt_ids, ids;
  std::string text;
  double ttft_s = 0, prefill_tokens_per_s = 0, tokens_per_s = 0;
  bool stopped_at_eos = false;
};
GenResult generate(LeanModel& m, const Tokenizer* tok, const std::vector<int32_t>& prompt_ids, const GenOptions& o);

// `angelslim generate` on the lean runtime: `open(context_length)` loads the model, prepends BOS when
// the tokenizer asks for it, streams text to stdout or returns the JSON object via print_json.
// Returns the exit code.
using OpenLeanModel = std::function<std::unique_ptr<LeanModel>(int64_t max_context, kernels::KvType kv)>;
int generate_command(const OpenLeanModel& open, const Tokenizer& tok, const std::string& prompt, const GenOptions& o,
                     bool json, const std::function<void(const std::string&)>& print_json);

}  // namespace as::lean
