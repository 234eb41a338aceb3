// Reads a compressed-tensors checkpoint directory: resolves every module's scheme from
// quantization_config (targets / ignore, CT priority exact > regex > class) and dequantizes
// quantized Linear weights to float32:
//   w[n, k] = (q[n, k] - zp[n, g]) * scale[n, g]     (zp = 0 for symmetric schemes)
// with g per strategy: tensor -> the single scale; channel -> row n; group -> k / group_size, or
// g_idx[k] with actorder "group"; block -> scale[n / br, k / bc]. The product is one float32
// multiply of the exact integer difference (FP8 codes decode exactly). Torch-free; the model loader
// wraps it.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/compressed_tensors/ct_scheme.h"
#include "io/safetensors.h"

namespace as::ct {

class CompressedTensorsReader {
 public:
  // Parses config.json (throws as::Error on an invalid quantization_config) and opens the tensors.
  explicit CompressedTensorsReader(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& model_config() const { return config_; }  // config.json, quantization_config included
  const QuantizationConfig& quantization_config() const { return qc_; }
  const Checkpoint& checkpoint() const { return *ck_; }

  // Quantized Linear modules, in natural order.
  const std::vector<std::string>& quantized_modules() const { return modules_; }
  // `name` is a module name, or "<module>.weight".
  bool is_quantized(const std::string& name) const;
  // Resolved scheme (targets = the group's targets); throws for modules that are not quantized.
  const ConfigGroup& scheme(const std::string& module) const;
  const std::string& group_name(const std::string& module) const;
  // Effective compression format of the module's group.
  const std::string& format(const std::string& module) const;
  // {N, K} = {out_features, in_features}.
  std::array<int64_t, 2> weight_shape(const std::string& module) const;
  // Signed integer codes [N*K] (int weights only).
  std::vector<int8_t> int_codes(const std::string& module) const;
  // Dequantized weight into out[N*K] (row-major). Throws naming the tensor on missing / malformed data.
  void dequantize_weight(const std::string& module, float* out) const;
  std::vector<float> dequantize_weight(const std::string& module) const;
  // Static input scale (nullopt for dynamic / weight-only schemes).
  std::optional<float> input_scale(const std::string& module) const;
  std::optional<int> input_zero_point(const std::string& module) const;

 private:
  struct Module {
    int group = -1;
    std::string format;
  };
  std::string canonical(const std::string& name) const;  // module key for a module or "<module>.weight"
  const Module& find(const std::string& module) const;
  const TensorView& tensor(const std::string& name) const;

  std::string dir_;
  nlohmann::json config_;
  QuantizationConfig qc_;
  std::unique_ptr<Checkpoint> ck_;
  std::map<std::string, Module> info_;
  std::vector<std::string> modules_;
};

}  // namespace as::ct
