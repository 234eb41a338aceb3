// The data-free FP8 algorithms: E4M3 weights quantized once, activations quantized at run time.
//   fp8_dynamic    per-output-channel weight scales, activations per token.
//   fp8_blockwise  one weight scale per 128x128 block (DeepSeek style), activations per token and
//                  128-channel group.
#include "quant/algorithms.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

class Fp8DataFree : public QuantAlgorithm {
 public:
  Fp8DataFree(const char* granularity, ActScheme act) : granularity_(granularity), act_(act) {}
  bool needs_calibration() const override { return false; }
  void quantize_layer(LayerJob& job) override {
    for (Linear* l : job.layer.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = fp8_weight_result(*l, granularity_);
      q.act = act_;
      install_act_quant(*l, q.act);
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  const char* granularity_;
  ActScheme act_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_fp8_dynamic(const QuantOptions&) {
  return std::make_unique<Fp8DataFree>("channel", ActScheme::Fp8DynamicToken);
}
std::unique_ptr<QuantAlgorithm> make_fp8_blockwise(const QuantOptions&) {
  return std::make_unique<Fp8DataFree>("block", ActScheme::Fp8DynamicGroup128);
}

}  // namespace as
