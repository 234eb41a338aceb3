// Writes a compressed-tensors checkpoint directory that vLLM / SGLang load:
//   config.json (the model's config + quantization_config), model.safetensors or
//   model-0000k-of-0000n.safetensors + model.safetensors.index.json, and copied tokenizer /
//   generation files. Every file is written atomically (temp file + rename); config.json last.
// After writing, the directory is validated (validate_compressed_tensors) and the writer throws
// as::Error listing the violations if any.
//
// Per quantized Linear <m> with weight [N, K] (see ct_layout.h for the full list):
//   pack-quantized : <m>.weight_packed I32 [N, ceil(K/pf)] (ct_pack.h layout), <m>.weight_shape I64 [2]
//   int-quantized  : <m>.weight I8 [N, K]          float-quantized: <m>.weight F8_E4M3 [N, K]
//   <m>.weight_scale (scale_dtype) per strategy, <m>.weight_zero_point (asymmetric only),
//   <m>.weight_g_idx I32 [K] (actorder group), <m>.input_scale [1] (static input only).
//
// Config groups: every distinct scheme among the linears becomes one group ("group_0", ... in
// first-appearance order). With one scheme the group targets ["Linear"] (what llm-compressor writes);
// with several (per-layer fallbacks, mixed precision) every group lists exact module names, because
// vLLM resolves its fused qkv_proj / gate_up_proj layers by class before exact names and would apply
// a "Linear" group to them. The global format is the groups' common format, else "mixed-precision".
// Unquantized Linear-like weights (is_linear_weight_candidate: 2-D `.weight`, not an embedding) are
// added to `ignore` (auto_ignore), as compressed-tensors does; vLLM raises for a Linear that is
// neither ignored nor matched by a group.
//
// Scales are stored in scale_dtype (BF16 by default, like CT's observed dtype). The stored value is
// round_scale(s, scale_dtype); quantize against that value when bit-exact dequantization matters.
//
// Streaming (low-memory export): a QuantizedLinear with `materialize` set starts with metadata only
// and gets its data from the callback while the weight files are written; see QuantizedLinear.
// The weight files are byte-identical to an eager export of the same data.
//
// Output atomicity: the weight files are first written into a hidden staging folder inside `dir`
// and renamed into place only after every one of them was written, so a failure while producing
// tensor data (a throwing materialize / fill, data rejected at materialization, I/O) leaves the
// files already in `dir` untouched and config.json unwritten. The staging folder (".ct-export-*")
// is removed before returning or throwing; only a killed process leaves one behind (safe to delete).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/compressed_tensors/ct_scheme.h"
#include "io/compressed_tensors/ct_validate.h"
#include "io/dtype.h"
#include "io/safetensors.h"

namespace as::ct {

// A tensor stored as-is (embeddings, norms, lm_head, biases, ...): raw little-endian bytes, or a
// fill callback that produces them while the file is written.
struct PlainTensor {
  std::string name;
  DType dtype = DType::BF16;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  SafetensorsWriter::Fill fill;  // used when set (bytes must then be empty)
};

// One quantized Linear; weight [N = out_features, K = in_features], row-major.
//
// Eager (materialize empty): every field is filled up front and checked before anything is written.
//
// Streaming (materialize set):
//   * Filled up front: name, scheme, out_features, in_features. These alone determine the config
//     group, every tensor name / dtype / shape, and which of input_scale / input_zero_point exist
//     (static input -> input_scale; static asymmetric int input -> also input_zero_point), so
//     build_quantization_config and the file headers never need the data. input_scale /
//     input_zero_point may be set up front too (they are handed to materialize) or left empty.
//   * Empty up front (checked): codes, fp8, weight_scale, weight_zero_point, g_idx.
//   * write_compressed_tensors calls materialize exactly once, just before the first of this
//     linear's data tensors is produced, on a writer-owned QuantizedLinear holding a copy of the
//     fields above (materialize itself is not copied) and empty vectors. The callback must fill the
//     data fields exactly as for an eager linear and must not change name / scheme / features.
//     The data is then checked with the eager rules (errors name the module); an exception from the
//     callback is rethrown as as::Error naming the module. build_quantization_config never calls it.
//   * Memory: at most one linear is materialized at a time. Its vectors are released (capacity
//     freed) once all its tensors are written. A safetensors file orders tensors by dtype size
//     before name, so a linear's tensors may not be adjacent (e.g. BF16 scales come before I8 / FP8
//     weights; a linear may straddle two shards); when the next linear must be materialized while
//     the current one still has unwritten tensors, the current one is "parked": its remaining
//     tensors are serialized (those >= WriterOptions::spool_min_bytes to a temporary spool file in
//     the staging folder, smaller ones kept in memory) and its vectors are released. The spool
//     grows by at most the parked tensors' bytes and is deleted once the weight files are written.
//   The test suite checks all of this (tests/ct/test_ct_streaming.cpp).
struct QuantizedLinear {
  std::string name;            // module name, e.g. "model.layers.0.self_attn.q_proj"
  ConfigGroup scheme;          // weights / input_activations / format; targets are ignored
  int64_t out_features = 0;    // N
  int64_t in_features = 0;     // K
  std::vector<int8_t> codes;   // int weights: N*K signed codes in [qmin, qmax]
  std::vector<uint8_t> fp8;    // float weights: N*K FP8 E4M3FN bytes (no NaN)
  std::vector<float> weight_scale;         // weight_scale_shape(weights, N, K), row-major, > 0
  std::vector<int8_t> weight_zero_point;   // asymmetric weights only: same shape as weight_scale
  std::vector<int32_t> g_idx;              // actorder "group" only: K entries in [0, groups)
  std::optional<float> input_scale;        // static input quantization only
  std::optional<int8_t> input_zero_point;  // static asymmetric int input only
  std::function<void(QuantizedLinear&)> materialize;  // streaming: fills the data fields (see above)
};

struct ExportModel {
  nlohmann::json config = nlohmann::json::object();  // the original config.json object
  std::vector<PlainTensor> tensors;                   // everything not quantized
  std::vector<QuantizedLinear> linears;
  std::vector<std::string> ignore = {"lm_head"};      // exact module names or "re:<regex>"
  std::vector<std::string> extra_files;               // copied by file name (tokenizer, generation config, ...)
};

enum class TargetStyle : uint8_t {
  Auto,        // one scheme -> ["Linear"]; several -> exact module names
  ExactNames,  // always exact module names
};

struct WriterOptions {
  DType scale_dtype = DType::BF16;              // BF16, F16 or F32 (weight_scale and input_scale)
  uint64_t max_shard_bytes = 5'000'000'000ull;  // 0 = one file
  TargetStyle targets = TargetStyle::Auto;
  bool auto_ignore = true;
  std::string ct_version = "0.12.2";
  bool validate = true;
  ValidateOptions validate_options;
  // Streaming only: a parked linear's unwritten tensors of at least this many bytes go to the spool
  // file instead of memory (0 = spool all of them).
  uint64_t spool_min_bytes = 64ull << 10;
};

struct WriteResult {
  QuantizationConfig config;
  std::vector<std::string> files;  // file names written into the directory
  ValidationReport report;         // empty (ok=false, nothing checked) when validate is off
};

// Value a scale has once stored as `dtype` (BF16 / F16 round to nearest even; F32 unchanged).
float round_scale(float s, DType dtype);

// The quantization_config the writer would produce (also checks every linear's metadata, and the
// data of eager linears; never calls materialize; throws as::Error).
QuantizationConfig build_quantization_config(const ExportModel& model, const WriterOptions& opt = {});

// Writes `model` into `dir` (created when missing). Throws as::Error naming the module / tensor /
// file on bad input, I/O failure, or validation violations. Calls each streaming linear's
// materialize exactly once (unless an earlier error stops the write).
WriteResult write_compressed_tensors(const std::string& dir, const ExportModel& model, const WriterOptions& opt = {});

}  // namespace as::ct
