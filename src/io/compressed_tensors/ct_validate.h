// Validator for compressed-tensors checkpoint directories (config.json + safetensors), checking
// what vLLM / SGLang rely on when loading them:
//   - config.json parses; quantization_config keys, every QuantizationArgs field (types, allowed
//     values, unknown keys, group strategy without group_size, token strategy without dynamic,
//     block_structure shape, actorder only with group), config group keys and formats;
//   - every quantized Linear found by resolving targets / ignore against the tensor names carries
//     exactly the tensors of its scheme with the right dtype and shape (packed columns, scale shape
//     per strategy, zero point iff asymmetric, weight_shape values, g_idx), and no stray
//     quantization tensors exist elsewhere;
//   - value scans: packing padding bits zero, int codes in range, FP8 bytes not NaN (0x7F/0xFF),
//     scales finite and > 0, g_idx within [0, groups);
//   - every exact-name ignore entry exists as an unquantized float `.weight`; no module is claimed
//     by two config groups with different schemes; vLLM-fused shards (q/k/v, gate/up) share one scheme.
// Engine-compatibility findings that do not make the checkpoint malformed (e.g. a scheme vLLM has
// no kernel for, group sizes that do not divide K) are reported as warnings.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/compressed_tensors/ct_scheme.h"

namespace as::ct {

struct ValidationReport {
  bool ok = false;
  std::string format;                       // global format ("" when config.json is unusable)
  std::vector<Violation> violations;        // malformed checkpoint
  std::vector<Violation> warnings;          // loads in CT, but an engine may reject / mis-handle it
  std::vector<std::pair<std::string, std::string>> vllm_schemes;  // config group -> vLLM scheme
  size_t quantized_modules = 0;

  // {"ok": bool, "format": "...", "violations": [{"tensor_or_key", "message"}], "warnings": [...],
  //  "vllm_schemes": {group: scheme}, "quantized_modules": n}
  nlohmann::json to_json() const;
  // One line per violation: "<tensor_or_key>: <message>".
  std::string summary(size_t max_lines = 20) const;
};

struct ValidateOptions {
  bool scan_values = true;        // read every tensor's values (padding, ranges, NaN, scales)
  size_t max_violations = 1000;   // stop adding after this many (a final entry says how many were dropped)
};

ValidationReport validate_compressed_tensors(const std::string& dir, const ValidateOptions& opt = {});

}  // namespace as::ct
