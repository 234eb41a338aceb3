// Helpers the algorithms share: quantize one Linear under a scheme, install the activation
// fake-quantizer used for propagation and evaluation, and decide group-size fallbacks.
#pragma once
#include <string>

#include "model/model.h"
#include "quant/algorithm.h"

namespace as {

// The group size actually used for a linear with `in` input features: `group` when it divides
// `in`, else -1 (per-channel) and `note` says why.
int64_t effective_group_size(int64_t group, int64_t in, std::string* note);

// Sets l.act_quant to the runtime activation quantizer of `act` (static scale for Fp8StaticTensor).
void install_act_quant(Linear& l, ActScheme act, const torch::Tensor& input_scale = {});

// Integer weight result from codes/scales/zeros: fills `q`, replaces l.w by the dequantized weight.
QuantizedLinear int_result(Linear& l, const torch::Tensor& codes, const torch::Tensor& scales,
                           const torch::Tensor& zeros, const torch::Tensor& g_idx, int bits, int64_t group,
                           bool symmetric, const torch::Tensor& dequantized);

// FP8 E4M3 weights with a per-tensor / per-channel / 128x128-block scale; replaces l.w.
QuantizedLinear fp8_weight_result(Linear& l, const std::string& strategy);

// Diagnostics of one linear: weight absmax, quantization MSE of the weight, scale summary.
nlohmann::json weight_diagnostics(const torch::Tensor& original, const torch::Tensor& dequantized,
                                  const QuantizedLinear& q);

}  // namespace as
