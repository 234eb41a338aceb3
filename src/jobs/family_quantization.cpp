#include "jobs/family_quantization.h"

#include <mutex>

#include "common/log.h"
#include "jobs/job_families.h"
#include "quant/engine.h"

namespace as {
namespace {

void run_quantization(FamilyRunContext& ctx) {
  const auto& opt = ctx.compression.options_as<QuantOptions>();
  PtqRunOptions run;
  run.output_dir = ctx.output_dir;
  run.memory_budget = ctx.job.global.memory_budget;
  if (ctx.job.dataset) {
    const auto& d = *ctx.job.dataset;
    run.data = CalibDataOptions{d.path, to_string(d.format), d.num_samples, d.seq_len, d.skip, d.seed};
  }
  auto res = run_ptq(*ctx.model, opt, run);
  for (auto& [k, v] : res.report.items()) ctx.report[k] = v;
  ctx.report["model_dir"] = res.model_dir;
  // evaluate what was exported: reload it (weights dequantized, activations fake-quantized as the
  // scheme says)
  LoadOptions lo;
  lo.dtype = ctx.model->dtype();
  lo.stream_layers = run.memory_budget > 0;
  std::string tok = ctx.job.model.tokenizer;
  ctx.model.reset();
  ctx.model = Model::load(res.model_dir, lo, tok);
  log_info("quantized checkpoint: " + res.model_dir);
}

}  // namespace

void register_quantization_family() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_compression_family({"quantization", quant_algorithm_names(), parse_quant_options});
    register_family_runner("quantization", run_quantization);
  });
}

}  // namespace as
