// int4_awq: activation-aware per-input-channel scales (grid search over s = mean|x|^alpha),
// folded into the preceding norm / linear, optional per-group clipping search, then RTN codes.
//
// Scale groups of a Llama/Qwen decoder layer (prev op -> linears sharing its output):
//   input_layernorm -> q, k, v;   v_proj -> o_proj (only without GQA, when the shapes line up);
//   post_attention_layernorm -> gate, up;   up_proj -> down_proj.
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/core/awq.h"
#include "quant/linear_quant.h"

namespace as {
namespace {


class IntAwq : public QuantAlgorithm {
 public:
  explicit IntAwq(const QuantOptions& o) : o_(o) {}
  bool needs_calibration() const override { return true; }

  void quantize_layer(LayerJob& job) override {
    LayerWeights& L = job.layer;
    auto X = job.capture_linear_inputs({L.q.name, L.o.name, L.gate.name, L.down.name});
    quant::AwqConfig cfg;
    cfg.bits = static_cast<int>(o_.bits);
    cfg.symmetric = o_.symmetric;
    cfg.n_grid = static_cast<int>(o_.awq.grid);
    struct Group {
      torch::Tensor* prev;  // norm weight [in] or previous linear weight [in, k]
      torch::Tensor* prev_bias;
      std::vector<Linear*> lins;
      std::string input;
    };
    std::vector<Group> groups = {{&L.input_norm, nullptr, {&L.q, &L.k, &L.v}, L.q.name},
                                 {&L.post_norm, nullptr, {&L.gate, &L.up}, L.gate.name},
                                 {&L.up.w, &L.up.b, {&L.down}, L.down.name}};
    if (L.v.w.size(0) == L.o.w.size(1)) groups.push_back({&L.v.w, &L.v.b, {&L.o}, L.o.name});
    std::map<std::string, torch::Tensor> scale_of_input;  // input name -> s (for the clip search)
    for (auto& g : groups) {
      bool any_ignored = false;
      for (auto* l : g.lins) any_ignored |= job.ignored(l->name);
      if (any_ignored) continue;  // scales must apply to every consumer of the shared input
      std::vector<torch::Tensor> ws;
      int64_t in = g.lins[0]->w.size(1);
      std::string note;
      cfg.group_size = effective_group_size(o_.group_size, in, &note);
      for (auto* l : g.lins) ws.push_back(l->w.to(torch::kFloat32));
      auto r = quant::awq_search_scales(ws, X.at(g.input), cfg, {}, g.lins[0]->name);
      auto s = r.scales;
      // fold: prev / s, linears * s
      *g.prev = (g.prev->to(torch::kFloat32) / (g.prev->dim() == 1 ? s : s.view({-1, 1}))).to(g.prev->scalar_type());
      if (g.prev_bias && g.prev_bias->defined()) *g.prev_bias = (g.prev_bias->to(torch::kFloat32) / s).to(g.prev_bias->scalar_type());
      for (auto* l : g.lins) {
        l->w = quant::awq_apply_scales(l->w.to(torch::kFloat32), s).to(l->w.scalar_type());
        job.diag[l->name]["awq_alpha"] = r.alpha;
        job.diag[l->name]["awq_loss"] = r.loss;
        job.diag[l->name]["awq_rtn_loss"] = r.rtn_loss;
      }
      scale_of_input[g.input] = s;
    }
    for (Linear* l : L.linears()) {
      if (job.ignored(l->name)) continue;
      std::string in_name = (l == &L.k || l == &L.v) ? L.q.name : (l == &L.up ? L.gate.name : l->name);
      std::string note;
      const int64_t g = effective_group_size(o_.group_size, l->w.size(1), &note);
      auto orig = l->w.clone();
      if (o_.awq.clip_search) {
        auto x = X.at(in_name);
        auto it = scale_of_input.find(in_name);
        if (it != scale_of_input.end()) x = x / it->second;  // the input the scaled weight now sees
        quant::AwqConfig cc = cfg;
        cc.group_size = g;
        cc.n_grid = static_cast<int>(o_.awq.clip_grid);
        auto c = quant::awq_search_clip(l->w.to(torch::kFloat32), x, cc, 512, o_.awq.max_shrink, l->name + ".weight");
        l->w = c.weight.to(l->w.scalar_type());
      }
      auto q = rtn_linear(*l, static_cast<int>(o_.bits), o_.group_size, o_.symmetric);
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  QuantOptions o_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_int_awq(const QuantOptions& o) { return std::make_unique<IntAwq>(o); }

}  // namespace as
