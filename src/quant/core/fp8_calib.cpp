#include "quant/core/fp8_calib.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/int_quant.h"
#include "ops/quant_ops.h"

namespace as::quant {

AbsMaxObserver::AbsMaxObserver(Mode mode, std::string name) : mode_(mode), name_(std::move(name)) {}

void AbsMaxObserver::update(const torch::Tensor& x) {
  check(x.defined() && torch::isFloatingType(x.scalar_type()),
        name_ + ": expected a floating-point tensor");
  ops::check_finite(x, name_);
  torch::Tensor a = x.to(torch::kCPU, torch::kFloat32).abs();
  torch::Tensor m;
  if (mode_ == Mode::kTensor) {
    m = a.numel() ? a.max().reshape({1}) : torch::zeros({1}, torch::kFloat32);
  } else {
    check(x.dim() >= 1, name_ + ": per-channel observer needs at least 1 dimension");
    torch::Tensor a2 = a.reshape({-1, a.size(-1)});
    m = a2.size(0) ? std::get<0>(a2.max(0)) : torch::zeros({a2.size(1)}, torch::kFloat32);
    check(!amax_.defined() || amax_.size(0) == m.size(0),
          name_ + ": channel count changed from " + std::to_string(amax_.defined() ? amax_.size(0) : 0) +
              " to " + std::to_string(m.size(0)));
  }
  amax_ = amax_.defined() ? torch::max(amax_, m) : m;
  ++updates_;
}

torch::Tensor AbsMaxObserver::amax() const {
  return amax_.defined() ? amax_ : torch::zeros({1}, torch::kFloat32);
}

torch::Tensor AbsMaxObserver::fp8_scale() const { return ops::fp8_scale_from_amax(amax(), name_); }

std::vector<double> lepto_default_quantiles() {
  std::vector<double> q;
  for (int r = 8; r <= 20; ++r) q.push_back(0.999 + 0.00005 * r);
  return q;
}

std::vector<float> lepto_candidate_scales(const torch::Tensor& x,
                                          const std::vector<double>& quantiles,
                                          const std::string& name) {
  check(x.defined() && torch::isFloatingType(x.scalar_type()),
        name + ": expected a floating-point tensor");
  for (double p : quantiles)
    check(p > 0.0 && p <= 1.0, name + ": LeptoQuant quantile " + std::to_string(p) +
                                   " is outside (0, 1]");
  ops::check_finite(x, name);
  torch::Tensor a = x.to(torch::kCPU, torch::kFloat32).abs().reshape({-1});
  const int64_t N = a.numel();
  check(N > 0, name + ": no calibration values");
  const float amax = a.max().item<float>();
  const float s0 = kernels::fp8_scale_from_amax(amax);
  std::vector<float> cands{s0};
  if (amax == 0.0f || quantiles.empty()) return cands;

  auto rank_of = [&](double p) {
    return std::min<int64_t>(int64_t(std::llround(double(N) * p)), N - 1);
  };
  int64_t n_min = N - 1;
  for (double p : quantiles) n_min = std::min(n_min, rank_of(p));
  // Only the top (N - n_min) magnitudes matter: rank n ascending is index N-1-n of the descending top-k.
  torch::Tensor top = std::get<0>(torch::topk(a, N - n_min, 0, /*largest=*/true, /*sorted=*/true));
  auto t = top.accessor<float, 1>();
  for (double p : quantiles) {
    const float xp = t[N - 1 - rank_of(p)];
    const float c = std::fabs(kernels::e4m3_to_f32(kernels::f32_to_e4m3(xp / s0)));
    if (!(c > 0.0f)) continue;
    const float s = amax / c;
    if (std::find(cands.begin(), cands.end(), s) == cands.end()) cands.push_back(s);
  }
  return cands;
}

LeptoResult lepto_search(const torch::Tensor& x, const LeptoLoss& block_loss,
                         const std::vector<double>& quantiles, const std::string& name) {
  check(bool(block_loss), name + ": LeptoQuant needs a block loss function");
  LeptoResult r;
  r.candidates = lepto_candidate_scales(x, quantiles, name);
  r.amax_scale = r.candidates[0];
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const double loss = block_loss(r.candidates[i]);
    r.losses.push_back(loss);
    // s0 is the incumbent; only a strictly smaller (hence non-NaN) loss replaces it.
    if (i == 0 || (!std::isnan(loss) && (std::isnan(r.loss) || loss < r.loss))) {
      r.loss = loss;
      r.index = i;
    }
  }
  r.amax_loss = r.losses[0];
  r.scale = r.candidates[r.index];
  return r;
}

}  // namespace as::quant
