// int8_smoothquant: W8A8 INT8. SmoothQuant scales s = max|X|^alpha / max|W|^(1-alpha) migrate
// activation outliers into the weights; they are folded into the preceding RMSNorm weights
// (input_layernorm -> q/k/v, post_attention_layernorm -> gate/up), so no runtime op is added.
// Weights: symmetric int8 per output channel; activations: dynamic per-token int8.
#include <torch/torch.h>

#include "ops/quant_ops.h"
#include "quant/algorithms.h"
#include "quant/core/smoothquant.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

class Int8SmoothQuant : public QuantAlgorithm {
 public:
  explicit Int8SmoothQuant(const QuantOptions& o) : o_(o) {}
  bool needs_calibration() const override { return true; }
  void quantize_layer(LayerJob& job) override {
    LayerWeights& L = job.layer;
    auto amax = observe_input_absmax(job, /*per_channel=*/true);
    struct Group {
      torch::Tensor* norm;
      std::vector<Linear*> lins;
    };
    for (Group g : {Group{&L.input_norm, {&L.q, &L.k, &L.v}}, Group{&L.post_norm, {&L.gate, &L.up}}}) {
      bool any_ignored = false;
      for (auto* l : g.lins) any_ignored |= job.ignored(l->name);
      if (any_ignored) continue;
      std::vector<torch::Tensor> ws;
      for (auto* l : g.lins) ws.push_back(l->w.to(torch::kFloat32));
      auto s = quant::smoothquant_scales(amax.at(g.lins[0]->name), ws, o_.smoothquant.alpha, g.lins[0]->name);
      *g.norm = quant::smooth_fold_prev(g.norm->to(torch::kFloat32), s).to(g.norm->scalar_type());
      for (auto* l : g.lins) {
        l->w = quant::smooth_fold_next(l->w.to(torch::kFloat32), s).to(l->w.scalar_type());
        job.diag[l->name]["smooth_scale_max"] = s.max().item<double>();
        job.diag[l->name]["act_absmax_before"] = amax.at(g.lins[0]->name).max().item<double>();
        job.diag[l->name]["act_absmax_after"] = (amax.at(g.lins[0]->name) / s).max().item<double>();
      }
    }
    for (Linear* l : L.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = rtn_linear(*l, 8, -1, true);
      q.act = ActScheme::Int8DynamicToken;
      install_act_quant(*l, q.act);
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  QuantOptions o_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_int8_smoothquant(const QuantOptions& o) {
  return std::make_unique<Int8SmoothQuant>(o);
}

}  // namespace as
