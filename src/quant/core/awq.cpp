#include "quant/core/awq.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "kernels/int_quant.h"
#include "ops/quant_ops.h"

namespace as::quant {
namespace {

using torch::indexing::Slice;

void check_float(const torch::Tensor& x, const std::string& name) {
  check(x.defined() && torch::isFloatingType(x.scalar_type()),
        name + ": expected a floating-point tensor");
}

torch::Tensor tokens_2d(const torch::Tensor& x, int64_t in, const std::string& name) {
  check_float(x, name);
  check(x.dim() >= 1 && x.size(-1) == in,
        name + ": expected [..., " + std::to_string(in) + "], got " + ops::shape_str(x));
  ops::check_finite(x, name);
  return x.reshape({-1, in}).to(torch::kCPU, torch::kFloat32);
}

void check_cfg(const AwqConfig& cfg, const std::string& name) {
  kernels::check_int_bits(cfg.bits, name.c_str());
  check(cfg.group_size == -1 || cfg.group_size > 0,
        name + ": group_size must be -1 or positive, got " + std::to_string(cfg.group_size));
  check(cfg.n_grid > 0, name + ": n_grid must be positive");
}

}  // namespace

torch::Tensor awq_act_mean(const torch::Tensor& x, const std::string& name) {
  check_float(x, name);
  check(x.dim() >= 1, name + ": expected at least 1 dimension");
  torch::Tensor x2 = tokens_2d(x, x.size(-1), name);
  check(x2.size(0) > 0, name + ": no calibration tokens");
  return x2.abs().mean(0);
}

torch::Tensor awq_apply_scales(const torch::Tensor& w, const torch::Tensor& s) {
  check(w.dim() == 2 && s.dim() == 1 && s.size(0) == w.size(1),
        "awq_apply_scales: scales " + ops::shape_str(s) + " do not match weight " + ops::shape_str(w));
  return (w.to(torch::kFloat32) * s.to(torch::kFloat32).unsqueeze(0)).to(w.scalar_type());
}

AwqScaleResult awq_search_scales(const std::vector<torch::Tensor>& weights, const torch::Tensor& x,
                                 const AwqConfig& cfg, const AwqBlockLoss& block_loss,
                                 const std::string& name) {
  check(!weights.empty(), name + ": no weights to scale");
  check_cfg(cfg, name);
  const int64_t in = weights[0].dim() == 2 ? weights[0].size(1) : -1;
  std::vector<torch::Tensor> wf;
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string wn = name + "[" + std::to_string(i) + "]";
    check_float(weights[i], wn);
    check(weights[i].dim() == 2 && weights[i].size(1) == in,
          wn + ": expected [out, " + std::to_string(in) + "], got " + ops::shape_str(weights[i]));
    ops::check_finite(weights[i], wn);
    wf.push_back(weights[i].to(torch::kCPU, torch::kFloat32).contiguous());
  }
  torch::Tensor X = tokens_2d(x, in, name + " activations");
  check(X.size(0) > 0, name + " activations: no calibration tokens");
  const torch::Tensor x_mean = X.abs().mean(0);

  AwqBlockLoss loss_fn = block_loss;
  torch::Tensor ref;
  if (!loss_fn) {
    ref = X.matmul(torch::cat(wf, 0).t());
    loss_fn = [&](const std::vector<torch::Tensor>& eff) {
      torch::Tensor out = X.matmul(torch::cat(eff, 0).t());
      return (out.to(torch::kFloat64) - ref.to(torch::kFloat64)).square().mean().item<double>();
    };
  }

  const ops::IntQuantSpec spec{cfg.bits, cfg.group_size, cfg.symmetric};
  AwqScaleResult r;
  r.loss = std::numeric_limits<double>::infinity();
  r.scales = torch::ones({in}, torch::kFloat32);
  for (int i = 0; i < cfg.n_grid; ++i) {
    const double alpha = double(i) / double(cfg.n_grid);
    torch::Tensor s = x_mean.pow(alpha).clamp_min(1e-4);
    s = s / torch::sqrt(s.max() * s.min());
    std::vector<torch::Tensor> eff;
    eff.reserve(wf.size());
    for (size_t j = 0; j < wf.size(); ++j) {
      torch::Tensor ws = wf[j] * s.unsqueeze(0);
      eff.push_back(ops::fake_quant_int(ws, spec, name + "[" + std::to_string(j) + "]") /
                    s.unsqueeze(0));
    }
    const double loss = loss_fn(eff);
    r.losses.push_back(loss);
    if (i == 0) r.rtn_loss = loss;
    if (loss < r.loss) {  // NaN never wins; no finite loss at all keeps s = 1
      r.loss = loss;
      r.alpha = alpha;
      r.scales = s;
    }
  }
  if (!std::isfinite(r.loss)) {
    r.loss = r.rtn_loss;
    r.alpha = 0.0;
  }
  return r;
}

AwqClipResult awq_search_clip(const torch::Tensor& w, const torch::Tensor& x, const AwqConfig& cfg,
                              int64_t n_sample_tokens, double max_shrink, const std::string& name) {
  check_cfg(cfg, name);
  check_float(w, name);
  check(w.dim() == 2, name + ": expected a 2-D weight [out, in], got " + ops::shape_str(w));
  check(n_sample_tokens > 0, name + ": n_sample_tokens must be positive");
  check(max_shrink >= 0.0 && max_shrink < 1.0, name + ": max_shrink must be in [0, 1)");
  ops::check_finite(w, name);
  const int64_t rows = w.size(0), cols = w.size(1);
  torch::Tensor W = w.to(torch::kCPU, torch::kFloat32).contiguous();
  torch::Tensor X = tokens_2d(x, cols, name + " activations");
  const int64_t T = X.size(0);
  check(T > 0, name + " activations: no calibration tokens");
  const int64_t stride = std::max<int64_t>(1, T / n_sample_tokens);
  X = X.index({Slice(0, T, stride)}).index({Slice(0, n_sample_tokens)}).contiguous();

  const int64_t g = cfg.group_size == -1 ? cols : std::min(cfg.group_size, cols);
  const int64_t ng = (cols + g - 1) / g;
  const int n_steps = std::max(1, int(max_shrink * cfg.n_grid));
  torch::Tensor max_val = torch::empty({rows, ng}, torch::kFloat32);
  torch::Tensor out_w = W.clone();
  const ops::IntQuantSpec spec{cfg.bits, -1, cfg.symmetric};
  for (int64_t k = 0; k < ng; ++k) {
    const int64_t c0 = k * g, c1 = std::min(cols, c0 + g);
    torch::Tensor Xg = X.index({Slice(), Slice(c0, c1)});
    torch::Tensor Wg = W.index({Slice(), Slice(c0, c1)});
    torch::Tensor ref = Xg.matmul(Wg.t());  // [T, out]
    torch::Tensor amax = Wg.abs().amax(1, /*keepdim=*/true);
    torch::Tensor best_err = torch::full({rows, 1}, std::numeric_limits<float>::infinity());
    torch::Tensor best_m = amax.clone();
    for (int i = 0; i < n_steps; ++i) {
      torch::Tensor m = amax * float(1.0 - double(i) / double(cfg.n_grid));
      torch::Tensor Wc = torch::max(torch::min(Wg, m), -m);
      torch::Tensor Qc = ops::fake_quant_int(Wc, spec, name);
      torch::Tensor err = (Xg.matmul(Qc.t()) - ref).square().mean(0).unsqueeze(1);  // [out, 1]
      torch::Tensor better = err < best_err;
      best_err = torch::where(better, err, best_err);
      best_m = torch::where(better, m, best_m);
    }
    max_val.select(1, k).copy_(best_m.squeeze(1));
    out_w.index_put_({Slice(), Slice(c0, c1)}, torch::max(torch::min(Wg, best_m), -best_m));
  }
  return {max_val, out_w.to(w.scalar_type())};
}

}  // namespace as::quant
