// compressed-tensors ("CT") quantization schemes as vLLM / SGLang load them: the
// `quantization_config` object of config.json, its QuantizationArgs, config groups, module-name
// resolution (targets / ignore), and the presets this project exports. Torch-free.
//
// JSON shape written (keys sorted, as CT's json.dump(sort_keys=True) does):
//   {"config_groups": {"group_0": {"format": "...", "input_activations": {...}|null,
//                                  "output_activations": null, "targets": [...], "weights": {...}}},
//    "format": "...", "global_compression_ratio": null, "ignore": [...], "kv_cache_scheme": null,
//    "quant_method": "compressed-tensors", "quantization_status": "compressed",
//    "sparsity_config": {}, "transform_config": {}, "version": "0.12.2"}
// QuantizationArgs carry exactly CT's fields (num_bits, type, symmetric, group_size, strategy,
// block_structure, dynamic, actorder, observer, observer_kwargs); CT forbids any other key there.
//
// Target / ignore resolution follows CT (and vLLM): a target is an exact module name, a class name
// ("Linear" is the only class resolvable without the model), or "re:<regex>" matched with Python
// re.match semantics (anchored at the start, not at the end). When several groups match one module
// CT picks exact name > regex > class; the validator reports such overlaps when the schemes differ.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/dtype.h"

namespace as::ct {

// One problem found in a checkpoint or config: the tensor name or JSON key path, and what is wrong.
struct Violation {
  std::string tensor_or_key;
  std::string message;
};

enum class QuantType : uint8_t { Int, Float };
enum class Strategy : uint8_t { Tensor, Channel, Group, Block, Token, TensorGroup, AttnHead };
enum class Dynamic : uint8_t { False, True, Local };  // JSON: false / true / "local"
enum class ActOrder : uint8_t { None, Group, Weight };  // JSON: null / "group" / "weight"

const char* to_string(QuantType t);
const char* to_string(Strategy s);
const char* to_string(ActOrder a);

// CT format names (CompressionFormat values).
inline constexpr const char* kFormatPackQuantized = "pack-quantized";
inline constexpr const char* kFormatIntQuantized = "int-quantized";
inline constexpr const char* kFormatFloatQuantized = "float-quantized";
inline constexpr const char* kFormatNaiveQuantized = "naive-quantized";
inline constexpr const char* kFormatMixedPrecision = "mixed-precision";
// Every CompressionFormat value CT knows.
bool is_known_format(const std::string& f);
// The formats this toolkit writes, reads and validates tensor by tensor.
bool is_supported_format(const std::string& f);
// vLLM's is_activation_quantization_format (naive/int/float-quantized, nvfp4-pack-quantized).
bool is_activation_format(const std::string& f);

// CT QuantizationArgs, normalized the way CT's validators leave it (strategy always set).
struct QuantArgs {
  int num_bits = 8;
  QuantType type = QuantType::Int;
  bool symmetric = true;
  Strategy strategy = Strategy::Tensor;
  std::optional<int> group_size;                  // >0 for group; -1 allowed (legacy "channel")
  std::optional<std::array<int, 2>> block_structure;  // [rows, cols] for block
  Dynamic dynamic = Dynamic::False;
  ActOrder actorder = ActOrder::None;
  std::optional<std::string> observer;            // calibration-only; see to_json
  nlohmann::json observer_kwargs = nlohmann::json::object();

  bool is_dynamic() const { return dynamic != Dynamic::False; }
  // Integer code range [qmin, qmax] = [-2^(b-1), 2^(b-1)-1] (int types).
  int qmin() const { return -(1 << (num_bits - 1)); }
  int qmax() const { return (1 << (num_bits - 1)) - 1; }

  // Serializes every CT field (model_dump style). `observer` defaults as CT infers it:
  // "minmax" for static / local quantization, null for dynamic.
  nlohmann::json to_json() const;
  // Parses and validates like CT's pydantic model; throws as::Error naming `where` on the first
  // problem. parse() collects all problems instead and returns nullopt when any was found.
  static QuantArgs from_json(const nlohmann::json& j, const std::string& where = "QuantizationArgs");
  static std::optional<QuantArgs> parse(const nlohmann::json& j, const std::string& where,
                                        std::vector<Violation>& out);

  // Equality of the quantization meaning (observer fields are ignored).
  bool same_quantization(const QuantArgs& o) const;
};

// CT QuantizationScheme = one config group.
struct ConfigGroup {
  std::vector<std::string> targets;
  std::optional<QuantArgs> weights;
  std::optional<QuantArgs> input_activations;
  std::optional<QuantArgs> output_activations;
  std::optional<std::string> format;  // per-group format; "mixed-precision" is not allowed here

  nlohmann::json to_json() const;
  static ConfigGroup from_json(const nlohmann::json& j, const std::string& where = "config group");
  static std::optional<ConfigGroup> parse(const nlohmann::json& j, const std::string& where,
                                          std::vector<Violation>& out);
  // Same weights / input / output args and format (targets are not compared).
  bool same_scheme(const ConfigGroup& o) const;
  // Effective format of this group: its own, else the global one.
  std::string effective_format(const std::string& global_format) const {
    return format ? *format : global_format;
  }
};

// The whole `quantization_config` object.
struct QuantizationConfig {
  std::string quant_method = "compressed-tensors";
  std::string format;
  std::string quantization_status = "compressed";
  std::vector<std::string> ignore;
  std::vector<std::pair<std::string, ConfigGroup>> config_groups;  // name -> group, file order
  std::optional<QuantArgs> kv_cache_scheme;
  std::string version = "0.12.2";
  nlohmann::json extra = nlohmann::json::object();  // other top-level keys, kept on round trip

  nlohmann::json to_json() const;
  static QuantizationConfig from_json(const nlohmann::json& j);  // throws on the first problem
  static std::optional<QuantizationConfig> parse(const nlohmann::json& j, std::vector<Violation>& out,
                                                 const std::string& where = "quantization_config");
};

// ---- target / ignore resolution --------------------------------------------------------------

// True when `target` is "re:<regex>" and the regex matches `name` from its start (Python re.match).
// An invalid regex never matches (compile it with compile_target_regex to see the error).
bool regex_target_matches(const std::string& target, const std::string& name);
// Compiles "re:<regex>" with std::regex ECMAScript; nullopt + message on failure.
std::optional<std::regex> compile_target_regex(const std::string& target, std::string* error = nullptr);

enum class MatchKind : uint8_t { None = 0, Class = 1, Regex = 2, Exact = 3 };  // higher = more specific
// How `target` matches module `name` (is_linear: whether the module is a Linear).
MatchKind match_target(const std::string& target, const std::string& name, bool is_linear);

// Resolves module names against a QuantizationConfig (regexes compiled once).
class TargetMatcher {
 public:
  explicit TargetMatcher(const QuantizationConfig& cfg);
  bool is_ignored(const std::string& name, bool is_linear) const;
  struct Result {
    int group = -1;                  // chosen group (CT priority), -1 when none matches
    MatchKind kind = MatchKind::None;
    std::vector<int> all_groups;     // every group with a matching target
  };
  // Group resolution ignoring the ignore list.
  Result resolve(const std::string& name, bool is_linear) const;
  // Ignore-aware: returns -1 for ignored modules.
  int group_of(const std::string& name, bool is_linear) const;
  // Regex errors found while compiling ("ignore[i]" / "config_groups.<g>.targets[i]" -> message).
  const std::vector<Violation>& regex_errors() const { return regex_errors_; }

 private:
  struct Pattern {
    std::string text;
    std::optional<std::regex> re;
  };
  MatchKind match(const Pattern& p, const std::string& name, bool is_linear) const;
  std::vector<Pattern> ignore_;
  std::vector<std::vector<Pattern>> targets_;
  std::vector<Violation> regex_errors_;
};

// Whether a tensor `<module>.weight` of this dtype/shape is treated as a Linear weight when the
// module class is unknown (checkpoint-only view): a 2-D tensor whose module name does not look like
// an embedding (last component containing "embed", or wte/wpe). The writer (auto-ignore) and the
// validator share this rule.
bool is_linear_weight_candidate(const std::string& module, const std::vector<int64_t>& shape);

// ---- tensor geometry ---------------------------------------------------------------------------

// Values per int32 word: 32 / num_bits (integer division, as CT's pack_to_int32).
int pack_factor(int num_bits);
// Packed length of `n` values: ceil(n / pack_factor).
int64_t packed_length(int64_t n, int num_bits);
// Number of scale groups along K (group strategy: ceil(K / group_size)).
int64_t num_groups(const QuantArgs& w, int64_t in_features);
// Expected `weight_scale` shape for a weight [N, K] (tensor: [1]; channel: [N,1];
// group: [N, ceil(K/g)]; block: [ceil(N/br), ceil(K/bc)]). Throws for strategies without weight scales.
std::vector<int64_t> weight_scale_shape(const QuantArgs& w, int64_t out_features, int64_t in_features);
// True when `weight_zero_point` is stored packed along N (pack-quantized, asymmetric, group/channel).
bool zero_point_is_packed(const QuantArgs& w, const std::string& format);

// ---- presets ------------------------------------------------------------------------------------
// Each returns a ConfigGroup without targets; the writer fills targets.
namespace presets {
// FP8 W8A8, per-tensor weights + static per-tensor input scale (CT "FP8"), float-quantized.
ConfigGroup fp8_static();
// FP8 per-channel weights + dynamic per-token input (CT "FP8_DYNAMIC"), float-quantized.
ConfigGroup fp8_dynamic();
// FP8 block weights [block x block] + dynamic per-group(block) input (CT "FP8_BLOCK"), float-quantized.
ConfigGroup fp8_block(int block = 128);
// INT8 W8A8: per-channel symmetric int8 weights + dynamic per-token int8 input (CT "W8A8"), int-quantized.
ConfigGroup int8_w8a8_dynamic();
// INT8 W8A8 with a static per-tensor int8 input scale (symmetric, or asymmetric with input_zero_point).
ConfigGroup int8_w8a8_static(bool input_symmetric = true);
// Weight-only int (bits 2..8) pack-quantized. group_size > 0: group strategy; group_size <= 0:
// per-channel. actorder Group adds weight_g_idx (group strategy only). CT "W4A16" = wna16(4,128,true).
ConfigGroup wna16(int bits = 4, int group_size = 128, bool symmetric = true, ActOrder actorder = ActOrder::None);
// W4A8-FP8: int4 symmetric group weights (pack-quantized) + FP8 input activations.
// StaticTensor (default): input_activations {float8, tensor, dynamic:false} + `input_scale` per
// linear. vLLM's scheme selection has no kernel for this (its W4A8-FP8 path requires dynamic
// per-token input; no other path accepts int4 weights with a static FP8 input) and raises
// "No compressed-tensors compatible scheme was found". DynamicToken: {float8, token, dynamic:true},
// which vLLM maps to CompressedTensorsW4A8Fp8 on SM90 (group_size 128) only.
enum class W4A8Input : uint8_t { StaticTensor, DynamicToken };
ConfigGroup w4a8_fp8(int group_size = 128, W4A8Input input = W4A8Input::StaticTensor);
}  // namespace presets

// Per-layer fallback: a group-strategy scheme whose group size does not divide in_features becomes
// per-channel (CT writes ceil-shaped scales there, but vLLM allocates K/group_size columns).
// actorder is dropped with the fallback. Other schemes are returned unchanged.
ConfigGroup with_channel_fallback(const ConfigGroup& g, int64_t in_features);

// Best-effort description of the vLLM linear scheme chosen for a group (mirrors vLLM's
// CompressedTensorsConfig._get_scheme_from_parts), e.g. "CompressedTensorsW8A8Fp8", or
// "none: ..." when vLLM raises NotImplementedError for it.
std::string vllm_scheme_for(const ConfigGroup& g, const std::string& global_format);
// Same for SGLang's compressed-tensors loader (which only looks at the global format).
std::string sglang_scheme_for(const ConfigGroup& g, const std::string& global_format);

}  // namespace as::ct
