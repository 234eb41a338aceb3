// fp8_lepto (LeptoQuant): per-tensor E4M3 weights; each activation group's static scale is chosen
// among outlier-isolation candidates (the FP8 code of a tail quantile of |x| under the absmax scale
// becomes the top of the range) by the MSE of the decoder layer's output against the float layer.
// Candidates come from each group's OWN input (the reference uses the block input for o/down, a
// bug) and include the plain absmax scale, so the result is never worse than fp8_static on this
// objective.
//
// Groups: {q,k,v} (input of q), {o}, {gate,up} (input of gate), {down}.
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/core/fp8_calib.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

constexpr int64_t kMaxLossSamples = 16;

class Fp8Lepto : public QuantAlgorithm {
 public:
  explicit Fp8Lepto(const QuantOptions& o) : o_(o) {}
  bool needs_calibration() const override { return true; }

  void quantize_layer(LayerJob& job) override {
    LayerWeights& L = job.layer;
    auto X = job.capture_linear_inputs({L.q.name, L.o.name, L.gate.name, L.down.name});
    // float reference outputs on a subset of samples
    const int64_t n = std::min<int64_t>(job.inputs->size(), kMaxLossSamples);
    std::vector<torch::Tensor> ref;
    for (int64_t i = 0; i < n; ++i)
      ref.push_back(job.model.run_layer(job.index, job.inputs->get(i).to(job.model.dtype()), 0).to(torch::kFloat32));
    auto loss_with = [&]() {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) {
        auto y = job.model.run_layer(job.index, job.inputs->get(i).to(job.model.dtype()), 0).to(torch::kFloat32);
        s += (y - ref[static_cast<size_t>(i)]).pow(2).mean().item<double>();
      }
      return s / double(n);
    };
    std::vector<double> quantiles;
    for (double f : o_.lepto.fractions) quantiles.push_back(1.0 - f);
    if (quantiles.empty()) quantiles = quant::lepto_default_quantiles();
    struct Group {
      std::vector<Linear*> lins;
      std::string input;
    };
    std::map<std::string, float> chosen;
    for (Group g : {Group{{&L.q, &L.k, &L.v}, L.q.name}, Group{{&L.o}, L.o.name}, Group{{&L.gate, &L.up}, L.gate.name},
                    Group{{&L.down}, L.down.name}}) {
      auto r = quant::lepto_search(
          X.at(g.input),
          [&](float scale) {
            auto s = torch::full({1}, scale, torch::kFloat32);
            for (auto* l : g.lins) install_act_quant(*l, ActScheme::Fp8StaticTensor, s);
            double loss = loss_with();
            for (auto* l : g.lins) install_act_quant(*l, ActScheme::None);
            return loss;
          },
          quantiles, g.input + " input");
      for (auto* l : g.lins) {
        chosen[l->name] = r.scale;
        job.diag[l->name]["lepto_scale"] = r.scale;
        job.diag[l->name]["lepto_amax_scale"] = r.amax_scale;
        job.diag[l->name]["lepto_loss"] = r.loss;
        job.diag[l->name]["lepto_amax_loss"] = r.amax_loss;
        job.diag[l->name]["lepto_candidate"] = r.index;
      }
    }
    for (Linear* l : L.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = fp8_weight_result(*l, "tensor");
      q.act = ActScheme::Fp8StaticTensor;
      q.input_scale = torch::full({1}, chosen.at(l->name), torch::kFloat32);
      install_act_quant(*l, q.act, q.input_scale);
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  QuantOptions o_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_fp8_lepto(const QuantOptions& o) { return std::make_unique<Fp8Lepto>(o); }

}  // namespace as
