// The static-FP8-activation algorithms: a per-tensor E4M3 activation scale = calibration absmax / 448
// of each linear's input, with
//   fp8_static  per-tensor E4M3 weights;
//   w4a8_fp8    int4 symmetric group-128 weights (pack-quantized).
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/core/fp8_calib.h"
#include "quant/linear_quant.h"

namespace as {

std::map<std::string, torch::Tensor> observe_input_absmax(LayerJob& job, bool per_channel) {
  std::map<std::string, quant::AbsMaxObserver> obs;
  for (Linear* l : job.layer.linears())
    obs.emplace(l->name, quant::AbsMaxObserver(per_channel ? quant::AbsMaxObserver::Mode::kChannel
                                                           : quant::AbsMaxObserver::Mode::kTensor,
                                               l->name + " input"));
  ForwardHooks hk;
  hk.on_linear_input = [&](const std::string& name, const torch::Tensor& x) {
    auto it = obs.find(name);
    if (it != obs.end()) it->second.update(x);
  };
  job.run(&hk, false);
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, o] : obs) out[k] = o.amax();
  return out;
}

namespace {

// Quantizes one linear's weight in place and returns the result to export.
using WeightQuantizer = QuantizedLinear (*)(Linear& l);

class StaticFp8Act : public QuantAlgorithm {
 public:
  explicit StaticFp8Act(WeightQuantizer wq) : wq_(wq) {}
  bool needs_calibration() const override { return true; }
  void quantize_layer(LayerJob& job) override {
    auto amax = observe_input_absmax(job, false);
    for (Linear* l : job.layer.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = wq_(*l);
      q.act = ActScheme::Fp8StaticTensor;
      q.input_scale = ops_fp8_scale(amax.at(l->name));
      install_act_quant(*l, q.act, q.input_scale);
      job.diag[l->name]["act_absmax"] = amax.at(l->name).item<double>();
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  WeightQuantizer wq_;
};


}  // namespace

torch::Tensor ops_fp8_scale(const torch::Tensor& amax) {
  auto a = amax.to(torch::kFloat32).reshape({1});
  return torch::where(a > 0, a / 448.0f, torch::ones_like(a));
}

std::unique_ptr<QuantAlgorithm> make_fp8_static(const QuantOptions&) {
  return std::make_unique<StaticFp8Act>([](Linear& l) { return fp8_weight_result(l, "tensor"); });
}
std::unique_ptr<QuantAlgorithm> make_w4a8_fp8(const QuantOptions&) {
  return std::make_unique<StaticFp8Act>([](Linear& l) { return rtn_linear(l, 4, 128, true); });
}

}  // namespace as
