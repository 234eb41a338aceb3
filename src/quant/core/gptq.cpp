#include "quant/core/gptq.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "kernels/int_quant.h"
#include "ops/quant_ops.h"

namespace as::quant {
namespace {

using torch::indexing::Slice;

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t in_features, torch::ScalarType dtype,
                                       std::string name)
    : in_(in_features), name_(std::move(name)) {
  check(in_features > 0, name_ + ": Hessian width must be positive");
  check(dtype == torch::kFloat32 || dtype == torch::kFloat64,
        name_ + ": Hessian dtype must be float32 or float64");
  h_ = torch::zeros({in_, in_}, torch::TensorOptions().dtype(dtype));
}

void HessianAccumulator::add(const torch::Tensor& x) {
  check(x.defined() && torch::isFloatingType(x.scalar_type()),
        name_ + ": expected a floating-point tensor");
  check(x.dim() >= 1 && x.size(-1) == in_,
        name_ + ": expected [..., " + std::to_string(in_) + "], got " + ops::shape_str(x));
  ops::check_finite(x, name_);
  torch::Tensor xs = x.reshape({-1, in_}).to(torch::kCPU, h_.scalar_type());
  const int64_t m = xs.size(0);
  if (m == 0) return;
  h_.mul_(double(n_) / double(n_ + m));
  n_ += m;
  xs = xs * std::sqrt(2.0 / double(n_));
  h_.addmm_(xs.t(), xs);
}

GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const GptqConfig& cfg, const std::string& name) {
  const std::string hname = name + " hessian";
  check(weight.defined() && torch::isFloatingType(weight.scalar_type()),
        name + ": expected a floating-point weight tensor");
  check(weight.dim() == 2, name + ": expected a 2-D weight [out, in], got " + ops::shape_str(weight));
  kernels::check_int_bits(cfg.bits, name.c_str());
  check(cfg.group_size == -1 || cfg.group_size > 0,
        name + ": group_size must be -1 or positive, got " + std::to_string(cfg.group_size));
  check(cfg.block_size > 0, name + ": block_size must be positive");
  check(cfg.percdamp >= 0.0 && cfg.percdamp < 1.0, name + ": percdamp must be in [0, 1)");
  const int64_t rows = weight.size(0), cols = weight.size(1);
  check(hessian.defined() && hessian.dim() == 2 && hessian.size(0) == cols &&
            hessian.size(1) == cols,
        hname + ": expected [" + std::to_string(cols) + ", " + std::to_string(cols) + "], got " +
            (hessian.defined() ? ops::shape_str(hessian) : std::string("undefined")));
  check(torch::isFloatingType(hessian.scalar_type()), hname + ": expected a floating-point tensor");
  ops::check_finite(weight, name);
  ops::check_finite(hessian, hname);

  const int bits = cfg.bits;
  const bool per_channel = cfg.group_size == -1 || cfg.group_size >= cols;
  const int64_t g = per_channel ? cols : cfg.group_size;
  const int64_t ng = per_channel ? 1 : (cols + g - 1) / g;
  const bool static_groups = cfg.static_groups && !per_channel;

  torch::Tensor W = weight.to(torch::kCPU, torch::kFloat32).clone();
  torch::Tensor H = hessian.to(torch::kCPU, torch::kFloat64).clone();

  // 1. dead columns
  torch::Tensor dead = H.diagonal() == 0;
  if (dead.any().item<bool>()) {
    H.diagonal().masked_fill_(dead, 1.0);
    W.index_put_({Slice(), dead}, 0.0f);
  }

  torch::Tensor scales = torch::zeros({rows, ng}, torch::kFloat32);
  torch::Tensor zeros = torch::zeros({rows, ng}, torch::kFloat32);

  // 2. parameters fixed before the loop: per-channel (whole row) or static groups (original order)
  if (per_channel) {
    ops::IntRowParams p = ops::int_row_params(W, bits, cfg.symmetric, name);
    scales.select(1, 0).copy_(p.scale);
    zeros.select(1, 0).copy_(p.zero);
  } else if (static_groups) {
    for (int64_t k = 0; k < ng; ++k) {
      ops::IntRowParams p = ops::int_row_params(
          W.index({Slice(), Slice(k * g, std::min(cols, (k + 1) * g))}), bits, cfg.symmetric, name);
      scales.select(1, k).copy_(p.scale);
      zeros.select(1, k).copy_(p.zero);
    }
  }

  // 3. act-order
  torch::Tensor perm = torch::arange(cols, torch::kInt64);
  if (cfg.act_order) {
    perm = std::get<1>(torch::sort(H.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
    W = W.index_select(1, perm).contiguous();
    H = H.index_select(0, perm).index_select(1, perm).contiguous();
  }
  const torch::Tensor invperm = torch::argsort(perm);

  // 4-5. damping, Cholesky of H, inverse, upper factor of the inverse
  // (Temporaries are dropped as soon as they are used: at K = 2048 each float64 matrix is 32 MiB,
  // and this is the peak of a low-memory calibration run.)
  const double mean_diag = H.diagonal().mean().item<double>();
  torch::Tensor U;
  double damp = cfg.percdamp;
  for (;;) {
    torch::Tensor Hd = H.clone();
    Hd.diagonal().add_(damp * mean_diag);
    auto [L, info] = torch::linalg_cholesky_ex(Hd);
    Hd = torch::Tensor();
    if (info.item<int64_t>() == 0) {
      torch::Tensor Hinv = torch::cholesky_inverse(L);
      L = torch::Tensor();
      auto [Uu, info2] = torch::linalg_cholesky_ex(Hinv, /*upper=*/true);
      Hinv = torch::Tensor();
      if (info2.item<int64_t>() == 0 && torch::isfinite(Uu).all().item<bool>()) {
        U = Uu.to(torch::kFloat32).contiguous();
        break;
      }
    }
    damp += 0.01;
    check(damp < 1.0, hname + ": not positive definite even with damping (percdamp up to " +
                          std::to_string(damp - 0.01) + ")");
  }
  H = torch::Tensor();

  // 6. lazy-batch column loop
  int64_t B = cfg.block_size;
  if (!per_channel && !static_groups) B = g <= B ? (B / g) * g : g;

  torch::Tensor Q = torch::zeros_like(W);
  torch::Tensor C = torch::zeros_like(W);  // codes (float)
  std::vector<int64_t> cg(static_cast<size_t>(cols));  // group of permuted column p
  {
    auto perm_a = perm.accessor<int64_t, 1>();
    for (int64_t p = 0; p < cols; ++p)
      cg[size_t(p)] = per_channel ? 0 : (static_groups ? perm_a[p] / g : p / g);
  }
  const bool dynamic = !per_channel && !static_groups;
  std::vector<double> row_loss(size_t(rows), 0.0);
  float* sp = scales.data_ptr<float>();
  float* zp = zeros.data_ptr<float>();

  for (int64_t i1 = 0; i1 < cols; i1 += B) {
    const int64_t i2 = std::min(i1 + B, cols), count = i2 - i1;
    torch::Tensor W1 = W.index({Slice(), Slice(i1, i2)}).contiguous();
    torch::Tensor Q1 = torch::empty_like(W1);
    torch::Tensor C1 = torch::empty_like(W1);
    torch::Tensor E1 = torch::empty_like(W1);
    torch::Tensor U1 = U.index({Slice(i1, i2), Slice(i1, i2)}).contiguous();
    float* w1 = W1.data_ptr<float>();
    float* q1 = Q1.data_ptr<float>();
    float* c1 = C1.data_ptr<float>();
    float* e1 = E1.data_ptr<float>();
    const float* u1 = U1.data_ptr<float>();
    // Rows are independent inside a block (the update mixes columns of one row only), so the
    // column loop runs per row, rows in parallel.
    at::parallel_for(0, rows, 16, [&](int64_t rb, int64_t re) {
      for (int64_t r = rb; r < re; ++r) {
        float* wr = w1 + r * count;
        double loss = 0.0;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t c = i1 + i;
          const int64_t k = cg[size_t(c)];
          if (dynamic && c % g == 0) {  // parameters from the error-updated columns of the group
            const kernels::IntQParams p = kernels::int_qparams_of(
                wr + i, size_t(std::min(i + g, count) - i), bits, cfg.symmetric);
            sp[r * ng + k] = p.scale;
            zp[r * ng + k] = float(p.zero);
          }
          const kernels::IntQParams p{sp[r * ng + k], int32_t(zp[r * ng + k])};
          const float w = wr[i];
          const int32_t code = kernels::int_quantize(w, p, bits);
          const float q = kernels::int_dequantize(code, p);
          const float d = u1[i * count + i];
          c1[r * count + i] = float(code);
          q1[r * count + i] = q;
          const float err = (w - q) / d;
          loss += double(w - q) * double(w - q) / (2.0 * double(d) * double(d));
          const float* urow = u1 + i * count;
          for (int64_t j = i + 1; j < count; ++j) wr[j] -= err * urow[j];
          e1[r * count + i] = err;
        }
        row_loss[size_t(r)] += loss;
      }
    });
    Q.index_put_({Slice(), Slice(i1, i2)}, Q1);
    C.index_put_({Slice(), Slice(i1, i2)}, C1);
    if (i2 < cols) {
      W.index({Slice(), Slice(i2, cols)}).sub_(E1.matmul(U.index({Slice(i1, i2), Slice(i2, cols)})));
    }
  }

  GptqResult r;
  for (double l : row_loss) r.loss += l;
  r.damp = damp;
  r.perm = perm;
  r.weight = Q.index_select(1, invperm).contiguous();
  r.q.bits = bits;
  r.q.symmetric = cfg.symmetric;
  r.q.codes = C.index_select(1, invperm).to(torch::kInt8).contiguous();
  r.q.scales = scales;
  r.q.zeros = zeros.to(torch::kInt8);
  torch::Tensor col_group = torch::from_blob(cg.data(), {cols}, torch::kInt64);
  r.q.g_idx = col_group.index_select(0, invperm).to(torch::kInt32);
  return r;
}

}  // namespace as::quant
