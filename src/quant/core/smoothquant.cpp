#include "quant/core/smoothquant.h"

#include <limits>

#include "common/error.h"
#include "ops/quant_ops.h"

namespace as::quant {
namespace {

// Validates the linears and returns them as float32 CPU tensors.
std::vector<torch::Tensor> checked_weights(const std::vector<torch::Tensor>& weights, int64_t in,
                                           const std::string& name) {
  check(!weights.empty(), name + ": no weights to smooth");
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string wn = name + "[" + std::to_string(i) + "]";
    const torch::Tensor& w = weights[i];
    check(w.defined() && torch::isFloatingType(w.scalar_type()),
          wn + ": expected a floating-point tensor");
    check(w.dim() == 2 && w.size(1) == in,
          wn + ": expected [out, " + std::to_string(in) + "], got " + ops::shape_str(w));
    ops::check_finite(w, wn);
    out.push_back(w.to(torch::kCPU, torch::kFloat32));
  }
  return out;
}

}  // namespace

torch::Tensor smoothquant_scales(const torch::Tensor& act_absmax,
                                 const std::vector<torch::Tensor>& weights, double alpha,
                                 const std::string& name) {
  check(alpha >= 0.0 && alpha <= 1.0, name + ": alpha must be in [0, 1], got " + std::to_string(alpha));
  check(act_absmax.defined() && torch::isFloatingType(act_absmax.scalar_type()) &&
            act_absmax.dim() == 1,
        name + ": activation absmax must be a 1-D floating tensor");
  const int64_t in = act_absmax.size(0);
  ops::check_finite(act_absmax, name + " activation absmax");
  torch::Tensor a = act_absmax.to(torch::kCPU, torch::kFloat32).abs();
  std::vector<torch::Tensor> wf = checked_weights(weights, in, name);
  torch::Tensor wmax = torch::zeros({in}, torch::kFloat32);
  for (const auto& w : wf)
    if (w.size(0) > 0) wmax = torch::max(wmax, std::get<0>(w.abs().max(0)));
  wmax = wmax.clamp_min(1e-5);
  torch::Tensor s = (a.clamp_min(1e-5).pow(alpha) / wmax.pow(1.0 - alpha)).clamp_min(1e-5);
  return torch::where(a > 0, s, torch::ones_like(s));
}

torch::Tensor smooth_fold_prev(const torch::Tensor& prev, const torch::Tensor& s) {
  check(prev.dim() >= 1 && s.dim() == 1 && prev.size(0) == s.size(0),
        "smooth_fold_prev: scales " + ops::shape_str(s) + " do not match " + ops::shape_str(prev));
  std::vector<int64_t> shape(size_t(prev.dim()), 1);
  shape[0] = s.size(0);
  return (prev.to(torch::kFloat32) / s.to(torch::kFloat32).reshape(shape)).to(prev.scalar_type());
}

torch::Tensor smooth_fold_next(const torch::Tensor& w, const torch::Tensor& s) {
  check(w.dim() == 2 && s.dim() == 1 && w.size(1) == s.size(0),
        "smooth_fold_next: scales " + ops::shape_str(s) + " do not match weight " + ops::shape_str(w));
  return (w.to(torch::kFloat32) * s.to(torch::kFloat32).unsqueeze(0)).to(w.scalar_type());
}

double smoothquant_output_mse(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                              const torch::Tensor& s, const SmoothQuantSearchConfig& cfg) {
  const int64_t in = x.size(-1);
  torch::Tensor X = x.reshape({-1, in}).to(torch::kCPU, torch::kFloat32);
  torch::Tensor Xs = s.defined() ? X / s.unsqueeze(0) : X;
  torch::Tensor Xq = cfg.per_token_act ? ops::fake_quant_int_per_token(Xs, cfg.act_bits, "activations")
                                       : ops::fake_quant_int_per_tensor(Xs, cfg.act_bits, "activations");
  double se = 0.0;
  int64_t count = 0;
  const ops::IntQuantSpec wspec{cfg.weight_bits, -1, true};
  for (const auto& w : weights) {
    torch::Tensor wf = w.to(torch::kCPU, torch::kFloat32);
    torch::Tensor ws = s.defined() ? wf * s.unsqueeze(0) : wf;
    torch::Tensor out = Xq.matmul(ops::fake_quant_int(ws, wspec).t());
    torch::Tensor ref = X.matmul(wf.t());
    se += (out.to(torch::kFloat64) - ref.to(torch::kFloat64)).square().sum().item<double>();
    count += out.numel();
  }
  return count ? se / double(count) : 0.0;
}

SmoothQuantSearchResult smoothquant_search_alpha(const torch::Tensor& x,
                                                 const std::vector<torch::Tensor>& weights,
                                                 const SmoothQuantSearchConfig& cfg,
                                                 const std::string& name) {
  check(x.defined() && torch::isFloatingType(x.scalar_type()) && x.dim() >= 1,
        name + " activations: expected a floating-point tensor [..., in]");
  check(!cfg.alphas.empty(), name + ": empty alpha grid");
  const int64_t in = x.size(-1);
  ops::check_finite(x, name + " activations");
  std::vector<torch::Tensor> wf = checked_weights(weights, in, name);
  torch::Tensor X = x.reshape({-1, in}).to(torch::kCPU, torch::kFloat32);
  check(X.size(0) > 0, name + " activations: no calibration tokens");
  torch::Tensor a = std::get<0>(X.abs().max(0));

  SmoothQuantSearchResult r;
  r.unsmoothed_loss = smoothquant_output_mse(X, wf, {}, cfg);
  r.loss = std::numeric_limits<double>::infinity();
  for (double alpha : cfg.alphas) {
    torch::Tensor s = smoothquant_scales(a, wf, alpha, name);
    const double loss = smoothquant_output_mse(X, wf, s, cfg);
    r.losses.push_back(loss);
    if (loss < r.loss) {
      r.loss = loss;
      r.alpha = alpha;
      r.scales = s;
    }
  }
  check(r.scales.defined(), name + ": smoothing search produced no finite loss");
  return r;
}

}  // namespace as::quant
