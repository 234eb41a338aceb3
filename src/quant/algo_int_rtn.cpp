// int4_rtn: round-to-nearest integer weights (bits 2/3/4/8, group or per-channel, sym or asym).
// Data-free; the baseline GPTQ and AWQ are measured against.
#include <torch/torch.h>

#include "quant/algorithms.h"
#include "quant/core/rtn.h"
#include "quant/linear_quant.h"

namespace as {

QuantizedLinear rtn_linear(Linear& l, int bits, int64_t group, bool symmetric) {
  std::string note;
  const int64_t g = effective_group_size(group, l.w.size(1), &note);
  auto r = quant::rtn_quantize(l.w, {bits, g, symmetric}, l.name + ".weight");
  auto q = int_result(l, r.q.codes, r.q.scales, r.q.zeros, {}, bits, g, symmetric, r.weight);
  q.note = note;
  return q;
}

namespace {

class IntRtn : public QuantAlgorithm {
 public:
  explicit IntRtn(const QuantOptions& o) : o_(o) {}
  bool needs_calibration() const override { return false; }
  void quantize_layer(LayerJob& job) override {
    for (Linear* l : job.layer.linears()) {
      if (job.ignored(l->name)) continue;
      auto orig = l->w.clone();
      auto q = rtn_linear(*l, static_cast<int>(o_.bits), o_.group_size, o_.symmetric);
      job.add_result(l->name, orig, l->w, std::move(q));
    }
  }

 private:
  QuantOptions o_;
};

}  // namespace

std::unique_ptr<QuantAlgorithm> make_int_rtn(const QuantOptions& o) { return std::make_unique<IntRtn>(o); }

}  // namespace as
