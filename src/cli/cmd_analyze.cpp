// angelslim analyze --model DIR --layer NAME --out DIR [--quantized DIR]
//                   [--data FILE --samples N --seq-len L] [--json]
// Scale analysis of one linear: weight and input-activation histograms before / after FP8 QDQ.
#include <nlohmann/json.hpp>

#include "analysis/scale_analysis.h"
#include "cli/model_options.h"

namespace as::cli::cmd_analyze {
namespace {

struct Opts {
  ModelOptions m;
  analysis::ScaleAnalysisOptions a;
  bool json = false;
};

int run(Opts o) {
  auto model = o.m.load();
  auto summary = analysis::analyze_scales(*model, o.a);
  if (o.json) print_json(summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return 0;
}

const Register reg_analyze(
    {"analyze", "Scale analysis of one linear: weight / activation histograms before and after FP8 QDQ",
     [](CLI::App& sub, const GlobalOptions&) {
       auto o = std::make_shared<Opts>();
       o->a.data.num_samples = 8;
       o->a.data.seq_len = 256;
       o->m.add_to(sub);
       sub.add_option("--layer,-l", o->a.layer, "HF module name of the linear, e.g. model.layers.0.mlp.down_proj")
           ->required();
       sub.add_option("--out,-o", o->a.out_dir, "Output directory (weights_hist.png, activations_hist.png, summary.json)")
           ->required();
       sub.add_option("--quantized", o->a.quantized,
                      "Compressed-tensors checkpoint: its dequantized weight replaces the fresh FP8 QDQ");
       sub.add_option("--data", o->a.data.path, "Calibration text for the activation histogram (none: weights only)");
       sub.add_option("--data-format", o->a.data.format, "Calibration file format")
           ->check(CLI::IsMember({"text_paragraphs", "jsonl_text", "jsonl_messages"}))
           ->capture_default_str();
       sub.add_option("--samples", o->a.data.num_samples, "Calibration rows")->capture_default_str()
           ->check(CLI::PositiveNumber);
       sub.add_option("--seq-len", o->a.data.seq_len, "Tokens per calibration row")->capture_default_str()
           ->check(CLI::PositiveNumber);
       sub.add_option("--skip", o->a.data.skip, "Documents of --data skipped first")->capture_default_str()
           ->check(CLI::NonNegativeNumber);
       sub.add_option("--seed", o->a.data.seed, "Calibration shuffle seed")->capture_default_str();
       sub.add_option("--bins", o->a.bins, "Histogram bins")->capture_default_str()->check(CLI::Range(8, 4096));
       sub.add_flag("--json", o->json, "Print the summary as one JSON object");
       return [o] { return run(*o); };
     }});

}  // namespace
}  // namespace as::cli::cmd_analyze
