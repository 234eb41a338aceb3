// Round-to-nearest (RTN) integer weight quantization: per-group min/max parameters, no calibration.
// The baseline GPTQ and AWQ are measured against. Conventions: kernels/int_quant.h.
#pragma once
#include <torch/types.h>

#include <string>

#include "ops/quant_ops.h"

namespace as::quant {

struct RtnResult {
  ops::IntQuantized q;   // codes, scales, zeros, g_idx (contiguous groups)
  torch::Tensor weight;  // dequantized weight, float32 [out, in]
};

// w: [out, in] floating weight. Throws as::Error naming `name` on a bad shape, non-finite values or
// bits outside [2, 8].
RtnResult rtn_quantize(const torch::Tensor& w, const ops::IntQuantSpec& spec,
                       const std::string& name = "weight");

}  // namespace as::quant
