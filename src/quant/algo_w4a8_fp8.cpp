// w4a8_fp8: int4 symmetric group-128 weights (pack-quantized) + FP8 E4M3 static per-tensor
// activation scales from calibration (absmax / 448).
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

class W4A8Fp8 : public QuantAlgorithm {
 public:
  bool needs_calibration() const override { return true; }
  void quantize_layer(LayerJob& job) override {
    auto amax = observe_input_absmax(job, false);
    for (Linear* l : job.layer.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = rtn_linear(*l, 4, 128, true);
      q.act = ActScheme::Fp8StaticTensor;
      q.input_scale = ops_fp8_scale(amax.at(l->name));
      install_act_quant(*l, q.act, q.input_scale);
      job.diag[l->name]["act_absmax"] = amax.at(l->name).item<double>();
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_w4a8_fp8(const QuantOptions&) { return std::make_unique<W4A8Fp8>(); }

}  // namespace as
