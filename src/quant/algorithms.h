// Factories of the built-in PTQ algorithms (one file each: algo_<name>.cpp) and helpers they share.
#pragma once
#include <map>
#include <memory>
#include <string>

#include <torch/types.h>

#include "quant/algorithm.h"

namespace as {

std::unique_ptr<QuantAlgorithm> make_fp8_static(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_fp8_dynamic(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_fp8_blockwise(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_fp8_lepto(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_int8_smoothquant(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_int_rtn(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_int_gptq(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_int_awq(const QuantOptions& o);
std::unique_ptr<QuantAlgorithm> make_w4a8_fp8(const QuantOptions& o);

// Running absmax of every linear input of the layer over the calibration samples
// (per tensor [1], or per channel [in]).
std::map<std::string, torch::Tensor> observe_input_absmax(LayerJob& job, bool per_channel);
// amax / 448 as a [1] float32 tensor (1 when amax == 0).
torch::Tensor ops_fp8_scale(const torch::Tensor& amax);
// RTN integer quantization of one linear with the job's bits/group/symmetric (group fallback noted).
QuantizedLinear rtn_linear(Linear& l, int bits, int64_t group, bool symmetric);

}  // namespace as
