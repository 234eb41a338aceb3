// fp8_dynamic: per-output-channel E4M3 weights, activations quantized per token at run time.
// Data-free.
#include "quant/algorithms.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

class Fp8Dynamic : public QuantAlgorithm {
 public:
  bool needs_calibration() const override { return false; }
  void quantize_layer(LayerJob& job) override {
    for (Linear* l : job.layer.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = fp8_weight_result(*l, "channel");
      q.act = ActScheme::Fp8DynamicToken;
      install_act_quant(*l, q.act);
      job.diag[l->name] = weight_diagnostics(orig, l->w, q);
      job.results.push_back(std::move(q));
    }
  }
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_fp8_dynamic(const QuantOptions&) { return std::make_unique<Fp8Dynamic>(); }

}  // namespace as
