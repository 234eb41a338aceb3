// AWQ (activation-aware weight quantization) on plain tensors: the per-input-channel scale search
// and the optional weight-clipping search.
//
// Scale search for a group of linears sharing one input X (q/k/v, gate/up, ...):
//   x_mean_j = mean_t |X_tj|
//   for alpha = i / n_grid, i = 0 .. n_grid-1:
//     s = clamp(x_mean^alpha, min 1e-4);  s /= sqrt(max(s) * min(s))
//     W_eff = Q(W * s) / s  for every linear (Q: group-wise integer fake quant, int_quant.h rules)
//     loss  = block loss of the W_eff (default: mean squared error of X W_eff^T against X W^T over
//             all linears' outputs, accumulated in float64)
//   keep the s with the smallest loss.
// alpha = 0 gives s = 1, i.e. plain RTN, so the chosen scales are never worse than RTN on the
// search objective. The quantizer is the same one used for export (the range always contains 0),
// unlike the reference AWQ quantizer; that keeps search and final packing consistent.
// Folding: the previous op (norm weight / previous linear's output rows) is divided by s and the
// linears' input columns multiplied by s (awq_apply_scales); after folding quantize W * s.
//
// Clip search (per linear, after scaling): for each (row, group), try max_val = amax * (1 - i/n_grid)
// for i < max_shrink * n_grid and keep the one minimising the mean over sampled tokens of the
// squared per-group partial output error; weights are then clamped to [-max_val, max_val].
#pragma once
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "ops/quant_ops.h"

namespace as::quant {

struct AwqConfig {
  int bits = 4;
  int64_t group_size = 128;
  bool symmetric = false;  // AWQ default: zero point
  int n_grid = 20;
};

// Block loss for the scale search: receives the effective (quantized, unscaled) weights of every
// linear in the group, in the order given, and returns the loss (smaller is better).
using AwqBlockLoss = std::function<double(const std::vector<torch::Tensor>& effective_weights)>;

struct AwqScaleResult {
  torch::Tensor scales;         // float32 [in]
  double alpha = 0.0;           // chosen grid point
  double loss = 0.0;            // its loss
  double rtn_loss = 0.0;        // loss at alpha = 0 (s = 1, plain RTN)
  std::vector<double> losses;   // one per grid point
};

// mean |x| per input channel over all token rows of x [..., in].
torch::Tensor awq_act_mean(const torch::Tensor& x, const std::string& name = "activations");

// weights: each [out_i, in] (same in); x: calibration inputs [..., in]. `block_loss` replaces the
// default linear-output MSE when set. Throws as::Error naming the offending tensor.
AwqScaleResult awq_search_scales(const std::vector<torch::Tensor>& weights, const torch::Tensor& x,
                                 const AwqConfig& cfg, const AwqBlockLoss& block_loss = {},
                                 const std::string& name = "weights");

// W * s over input columns (s [in]).
torch::Tensor awq_apply_scales(const torch::Tensor& w, const torch::Tensor& s);

struct AwqClipResult {
  torch::Tensor max_val;  // float32 [out, n_groups]
  torch::Tensor weight;   // clamp(w, -max_val, max_val) per group, w's dtype
};

AwqClipResult awq_search_clip(const torch::Tensor& w, const torch::Tensor& x, const AwqConfig& cfg,
                              int64_t n_sample_tokens = 512, double max_shrink = 0.5,
                              const std::string& name = "weight");

}  // namespace as::quant
