// GPTQ (Frantar et al.) on plain tensors: Hessian accumulation from calibration activations and the
// OBS/Cholesky column-by-column quantizer with lazy batch updates.
//
// Objective per linear W [out, in] with calibration inputs x_t (t = 1..n):
//   H = (2/n) * sum_t x_t x_t^T        (streaming mean, HessianAccumulator)
//   minimise  tr((W - Q) H (W - Q)^T)  over Q on the integer grid of kernels/int_quant.h.
//
// Algorithm (gptq_quantize):
//   1. dead input columns (H_jj == 0): H_jj = 1, W[:, j] = 0 (the input was always zero).
//   2. static groups: every group's scale/zero is computed once from the original W, before the
//      act-order permutation (upstream GPTQ; with act-order g_idx stays the trivial j / g).
//   3. act_order: columns permuted by diag(H) descending (stable sort).
//   4. H += damp * mean(diag(H)) * I with damp = percdamp; if the Cholesky factorization fails,
//      damp grows by 0.01 and retries while damp < 1.
//   5. U = upper Cholesky factor of H^-1 (computed in float64).
//   6. columns in blocks of block_size: quantize column c, spread e = (w - q) / U_cc into the
//      remaining columns of the block with row c of U, then lazily update all later columns.
//   Dynamic groups (static_groups = false): a group's parameters come from the error-updated
//   columns when the loop reaches its first column. The block size is rounded to a multiple of the
//   group size (or raised to it) so a whole group is always up to date at that point (the reference
//   reads stale columns when a group starts inside a block).
//   Per-channel (group_size -1, or a group at least as wide as the row): one group per row,
//   parameters from the whole row up front.
//   Inside a block rows are independent, so the column loop runs row by row in parallel; the lazy
//   update of the later columns is one matmul per block.
//
// g_idx[j] is the group of input column j in the original order: j / g unless act_order runs with
// dynamic groups, where groups follow the permuted order. Codes and the dequantized weight are
// returned in the original column order.
#pragma once
#include <torch/types.h>

#include <string>

#include "ops/quant_ops.h"

namespace as::quant {

// Streaming H = (2/n) sum x x^T over every token row of every batch added.
class HessianAccumulator {
 public:
  // dtype: kFloat32 or kFloat64 (accumulation precision).
  explicit HessianAccumulator(int64_t in_features, torch::ScalarType dtype = torch::kFloat64,
                              std::string name = "activations");
  // x: [..., in_features], any floating dtype; every row is one token. Throws on a width mismatch
  // or non-finite values.
  void add(const torch::Tensor& x);
  const torch::Tensor& hessian() const { return h_; }
  int64_t tokens() const { return n_; }
  int64_t in_features() const { return in_; }

 private:
  int64_t in_;
  int64_t n_ = 0;
  torch::Tensor h_;
  std::string name_;
};

struct GptqConfig {
  int bits = 4;
  int64_t group_size = 128;  // -1: per-channel
  bool symmetric = true;
  bool act_order = false;
  bool static_groups = false;
  double percdamp = 0.01;
  int64_t block_size = 128;
};

struct GptqResult {
  ops::IntQuantized q;   // codes [out, in] (original column order), scales/zeros [out, n_groups], g_idx [in]
  torch::Tensor weight;  // dequantized float32 [out, in], equal to ops::dequantize_int(q)
  torch::Tensor perm;    // int64 [in] act-order permutation (identity without act_order)
  // sum over quantized entries of (w - q)^2 / (2 U_cc^2); equals 1/2 tr(D H D^T) for D = W - Q and
  // the damped H, i.e. the summed squared output error per calibration token.
  double loss = 0.0;
  double damp = 0.0;     // percdamp that factorized
};

// weight: [out, in] floating; hessian: [in, in] (from HessianAccumulator). Throws as::Error naming
// `name` (or "<name> hessian") on bad shapes, non-finite values, bad bits/group/block sizes, or a
// Hessian that stays indefinite under damping.
GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const GptqConfig& cfg, const std::string& name = "weight");

}  // namespace as::quant
