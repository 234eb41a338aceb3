// FP8 (E4M3FN) activation calibration: running absmax observers, the static scale amax / 448, and
// the LeptoQuant outlier-isolation scale search.
//
// LeptoQuant, for one activation tensor X (all calibration tokens of a linear's input, N elements):
//   s0  = amax / 448                                   (the plain fp8_static scale)
//   for each quantile p:  n = min(round(N p), N - 1),  x_p = |X| value of rank n (ascending)
//                         c = |decode(e4m3(x_p / s0))| (the FP8 value that element gets under s0)
//                         s = amax / c                  (>= s0: x_p's code becomes the top of the range)
//   candidates = {s0} + distinct s (c == 0 is skipped);
//   pick the candidate minimising a caller-supplied block-output loss (e.g. MSE of the decoder
//   block's output with FP8-QDQ inputs against the float block). s0 is evaluated first and is
//   replaced only by a strictly smaller loss, so the result is never worse than fp8_static on the
//   calibration objective. The caller should compute X from the linear's own input (the reference
//   reuses the block input for o_proj/down_proj, a known bug).
#pragma once
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace as::quant {

// Running max of |x|: per tensor ([1]) or per channel over the last dim ([C]).
class AbsMaxObserver {
 public:
  enum class Mode { kTensor, kChannel };
  explicit AbsMaxObserver(Mode mode = Mode::kTensor, std::string name = "activations");
  // x: [..., C], any floating dtype. Throws on non-finite values or a channel-count change.
  void update(const torch::Tensor& x);
  // float32 [1] or [C]; zeros before any update.
  torch::Tensor amax() const;
  // amax / 448 (amax == 0 -> 1), float32.
  torch::Tensor fp8_scale() const;
  int64_t updates() const { return updates_; }

 private:
  Mode mode_;
  std::string name_;
  torch::Tensor amax_;
  int64_t updates_ = 0;
};

// Quantiles of the reference (p = 0.999 + 0.00005 r, r = 8 .. 20).
std::vector<double> lepto_default_quantiles();

// Candidate scales, s0 first. x: any floating tensor; quantiles in (0, 1].
std::vector<float> lepto_candidate_scales(const torch::Tensor& x,
                                          const std::vector<double>& quantiles = lepto_default_quantiles(),
                                          const std::string& name = "activations");

struct LeptoResult {
  float scale = 1.0f;        // chosen activation scale (dequant multiplier)
  float amax_scale = 1.0f;   // s0
  double loss = 0.0;         // loss of the chosen scale
  double amax_loss = 0.0;    // loss of s0
  size_t index = 0;          // into candidates (0 = s0)
  std::vector<float> candidates;
  std::vector<double> losses;
};

using LeptoLoss = std::function<double(float act_scale)>;

LeptoResult lepto_search(const torch::Tensor& x, const LeptoLoss& block_loss,
                         const std::vector<double>& quantiles = lepto_default_quantiles(),
                         const std::string& name = "activations");

}  // namespace as::quant
