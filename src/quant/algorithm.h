// What a PTQ algorithm sees and produces for one decoder layer, and the algorithm registry.
//
// The engine (engine.h) walks the decoder layers in order. For layer i it hands the algorithm a
// LayerJob: the layer's weights (resident), the layer inputs of every calibration sample, and a
// way to run the layer on them with hooks. The algorithm
//   1. quantizes the layer's linears and appends one QuantizedLinear per quantized linear;
//   2. leaves the layer in its *quantized* form (each Linear's weight replaced by the dequantized
//      one, `act_quant` set to the activation fake-quantizer, folded scales applied to norms), so
//      the engine propagates the quantized layer's outputs to the next layer (sequential PTQ).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "model/model.h"
#include "quant/activation_cache.h"
#include "quant/options.h"

namespace as {

// How activations are quantized at inference (also what the exported config says).
enum class ActScheme { None, Fp8StaticTensor, Fp8DynamicToken, Fp8DynamicGroup128, Int8DynamicToken };

struct QuantizedLinear {
  std::string name;                  // HF module name
  std::string weight_type = "int";   // int | float (fp8 e4m3)
  std::string strategy = "group";    // tensor | channel | group | block
  int bits = 4;
  int64_t group_size = -1;
  bool symmetric = true;
  bool act_order = false;
  ActScheme act = ActScheme::None;
  torch::Tensor codes;        // int8 [out, in] (int) or uint8 e4m3 bytes (float)
  torch::Tensor scale;        // float32: [1] tensor, [out,1] channel, [out,G] group, [ceil(out/128),ceil(in/128)] block
  torch::Tensor zero;         // int8 [out, G] when asymmetric
  torch::Tensor g_idx;        // int32 [in] when act_order
  torch::Tensor input_scale;  // float32 [1] for static activations
  std::string note;           // e.g. "group_size 128 does not divide 172: per-channel fallback"
};

struct LayerJob {
  Model& model;
  int index;
  LayerWeights& layer;
  const QuantOptions& opt;
  const ActivationCache* inputs;  // null for data-free runs
  std::function<bool(const std::string&)> ignored;
  std::vector<QuantizedLinear> results;
  std::map<std::string, nlohmann::json> diag;  // per-linear diagnostics (merged into report.json)

  bool has_data() const { return inputs != nullptr && inputs->size() > 0; }
  // Runs the layer as it currently is on every calibration sample; hooks see the linear inputs.
  // Returns the outputs when `keep` (else an empty vector).
  std::vector<torch::Tensor> run(const ForwardHooks* hooks, bool keep) const;
  // All calibration inputs of one linear, concatenated over samples: [tokens, in] fp32.
  std::map<std::string, torch::Tensor> capture_linear_inputs(const std::vector<std::string>& names) const;
  // Records one quantized linear: its weight diagnostics (original vs dequantized weight), with any
  // algorithm-specific entries already in diag[name] kept on top, and the result for export.
  void add_result(const std::string& name, const torch::Tensor& original, const torch::Tensor& dequantized,
                  QuantizedLinear q);
};

class QuantAlgorithm {
 public:
  virtual ~QuantAlgorithm() = default;
  virtual bool needs_calibration() const = 0;
  virtual void quantize_layer(LayerJob& job) = 0;
};

using QuantAlgorithmFactory = std::function<std::unique_ptr<QuantAlgorithm>(const QuantOptions&)>;
void register_quant_algorithm(const std::string& name, QuantAlgorithmFactory f);
std::unique_ptr<QuantAlgorithm> make_quant_algorithm(const QuantOptions& o);
// Registers the built-in algorithms (one line each, in algorithms.cpp). Idempotent.
void register_builtin_quant_algorithms();

}  // namespace as
