// SmoothQuant: migrate activation outliers into the weights with a per-input-channel scale.
//
//   a_j = max_t |X_tj|                   (calibration absmax of the linears' shared input)
//   w_j = max over the linears and their rows of |W[:, j]|, clamped to >= 1e-5
//   s_j = a_j^alpha / w_j^(1 - alpha), clamped to >= 1e-5;  s_j = 1 for a dead channel (a_j == 0)
// Fold: the previous op's output channel j (norm weight/bias, or the previous linear's output row j)
// is divided by s_j (smooth_fold_prev), every linear's input column j is multiplied by s_j
// (smooth_fold_next). X / s then feeds W * s, so the float output is unchanged.
//
// smoothquant_search_alpha picks alpha from a grid by the output MSE of the W8A8-style fake-quantized
// product: activations symmetric dynamic (per token or per tensor, scale amax / (2^(b-1) - 1)),
// weights per-channel symmetric (int_quant.h convention).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace as::quant {

// alpha in [0, 1]. act_absmax [in]; weights each [out_i, in]. Returns float32 [in].
torch::Tensor smoothquant_scales(const torch::Tensor& act_absmax,
                                 const std::vector<torch::Tensor>& weights, double alpha = 0.5,
                                 const std::string& name = "weights");

// prev: size(0) == in (norm weight [in], bias [in], or a previous linear's weight [in, k]) -> prev / s.
torch::Tensor smooth_fold_prev(const torch::Tensor& prev, const torch::Tensor& s);
// w [out, in] -> w * s over input columns.
torch::Tensor smooth_fold_next(const torch::Tensor& w, const torch::Tensor& s);

struct SmoothQuantSearchConfig {
  std::vector<double> alphas = {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  int act_bits = 8;
  int weight_bits = 8;
  bool per_token_act = true;  // false: per-tensor dynamic activation scale
};

struct SmoothQuantSearchResult {
  double alpha = 0.0;
  torch::Tensor scales;  // float32 [in]
  double loss = 0.0;     // output MSE at the chosen alpha
  double unsmoothed_loss = 0.0;  // output MSE without smoothing (s = 1)
  std::vector<double> losses;    // one per alpha
};

// Output MSE of the fake-quantized product Q_a(x / s) Q_w(W * s)^T against x W^T, summed over
// the linears (s undefined -> no smoothing).
double smoothquant_output_mse(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                              const torch::Tensor& s, const SmoothQuantSearchConfig& cfg);

// x: calibration inputs [..., in] (its per-channel absmax is the statistic a).
SmoothQuantSearchResult smoothquant_search_alpha(const torch::Tensor& x,
                                                 const std::vector<torch::Tensor>& weights,
                                                 const SmoothQuantSearchConfig& cfg = {},
                                                 const std::string& name = "weights");

}  // namespace as::quant
