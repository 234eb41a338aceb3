// int4_gptq: GPTQ with Hessians from the layer's calibration inputs (damping, lazy blocks,
// act-order with static groups, sym/asym). Linears that share an input (q/k/v, gate/up) share
// one Hessian.
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/core/gptq.h"
#include "quant/linear_quant.h"

namespace as {
namespace {

// Linears fed by the same tensor share a Hessian: key = the first linear of the group.
std::string input_group(const LayerWeights& L, const std::string& name) {
  if (name == L.k.name || name == L.v.name) return L.q.name;
  if (name == L.up.name) return L.gate.name;
  return name;
}

class IntGptq : public QuantAlgorithm {
 public:
  explicit IntGptq(const QuantOptions& o) : o_(o) {}
  bool needs_calibration() const override { return true; }
  void quantize_layer(LayerJob& job) override {
    LayerWeights& L = job.layer;
    std::map<std::string, quant::HessianAccumulator> hs;
    for (Linear* l : L.linears())
      if (input_group(L, l->name) == l->name) hs.emplace(l->name, quant::HessianAccumulator(l->w.size(1), torch::kFloat64, l->name + " input"));
    ForwardHooks hk;
    hk.on_linear_input = [&](const std::string& name, const torch::Tensor& x) {
      auto it = hs.find(name);
      if (it != hs.end()) it->second.add(x);
    };
    job.run(&hk, false);
    for (Linear* l : L.linears()) {
      if (job.ignored(l->name)) continue;
      std::string note;
      quant::GptqConfig c;
      c.bits = static_cast<int>(o_.bits);
      c.group_size = effective_group_size(o_.group_size, l->w.size(1), &note);
      c.symmetric = o_.symmetric;
      c.act_order = o_.gptq.act_order;
      c.static_groups = o_.gptq.static_groups;
      c.percdamp = o_.gptq.damp;
      c.block_size = o_.gptq.block_size;
      auto orig = l->w.clone();
      const std::string group = input_group(L, l->name);
      torch::Tensor H = hs.at(group).hessian();
      // The group's accumulator is not needed after its last linear (q/k/v end at v, gate/up at up).
      const bool last_of_group = l->name == L.v.name || l->name == L.up.name ||
                                 (group == l->name && l->name != L.q.name && l->name != L.gate.name);
      if (last_of_group) hs.erase(group);
      auto r = quant::gptq_quantize(l->w, H, c, l->name + ".weight");
      H = torch::Tensor();
      auto q = int_result(*l, r.q.codes, r.q.scales, r.q.zeros, r.q.g_idx, c.bits, c.group_size, c.symmetric, r.weight);
      q.note = note;
      job.diag[l->name]["gptq_loss"] = r.loss;
      job.diag[l->name]["gptq_damp"] = r.damp;
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  QuantOptions o_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_int_gptq(const QuantOptions& o) { return std::make_unique<IntGptq>(o); }

}  // namespace as
