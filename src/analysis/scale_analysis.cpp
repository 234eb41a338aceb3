#include "analysis/scale_analysis.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "analysis/histogram.h"
#include "analysis/png.h"
#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "ops/quant_ops.h"

namespace as::analysis {
namespace {

namespace fs = std::filesystem;
constexpr const char* kLayerPrefix = "model.layers.";

std::string dims_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? " X " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Decoder layer index of "model.layers.<i>.<...>", or -1.
int layer_index(const Model& model, const std::string& name) {
  const std::string prefix = kLayerPrefix;
  if (name.rfind(prefix, 0) != 0) return -1;
  size_t pos = prefix.size(), end = pos;
  while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == pos || end - pos > 6 || end >= name.size() || name[end] != '.') return -1;
  const int i = std::stoi(name.substr(pos, end - pos));
  return i < model.num_layers() ? i : -1;
}

Linear* lookup(Model& model, const std::string& name) {
  const int i = layer_index(model, name);
  if (i < 0) return nullptr;
  for (Linear* l : model.layer(i).linears())
    if (l->name == name) return l;
  return nullptr;
}

struct Side {
  Histogram hist;
  TensorStats stats;
};

// Histograms of both tensors over one symmetric range, their stats, the figure and the JSON block.
nlohmann::json compare(const torch::Tensor& before, const torch::Tensor& after, const std::string& what,
                       const std::string& title, const std::string& after_label, int64_t bins,
                       const std::string& png_path) {
  const double range = symmetric_range({before, after});
  Side a{compute_histogram(before, bins, -range, range, what), tensor_stats(before, what)};
  Side b{compute_histogram(after, bins, -range, range, what + " (quantized)"), tensor_stats(after, what + " (quantized)")};
  const QdqError err = qdq_error(before, after);

  HistogramFigure fig;
  fig.title = title;
  fig.subtitle = std::to_string(bins) + " BINS OVER [-" + fmt(range) + ", " + fmt(range) + "], BAR HEIGHT LOG10(1 + COUNT)";
  fig.panels.push_back({"ORIGINAL", kOriginalColor, a.hist, a.stats, ""});
  fig.panels.push_back({after_label, kQuantizedColor, b.hist, b.stats, "REL MSE " + fmt(err.relative_mse)});
  write_png(png_path, render_histogram_figure(fig));

  return {{"original", to_json(a.stats)},
          {"quantized", to_json(b.stats)},
          {"qdq_mse", err.mse},
          {"qdq_relative_mse", err.relative_mse},
          {"histogram",
           {{"png", fs::path(png_path).filename().string()},
            {"bins", bins},
            {"range", {-range, range}},
            {"counts_original", a.hist.counts},
            {"counts_quantized", b.hist.counts}}}};
}

}  // namespace

std::vector<std::string> linear_names(Model& model) {
  std::vector<std::string> out;
  for (int i = 0; i < model.num_layers(); ++i)
    for (Linear* l : model.layer(i).linears()) out.push_back(l->name);
  return out;
}

Linear& find_linear(Model& model, const std::string& name) {
  if (Linear* l = lookup(model, name)) return *l;
  check(model.num_layers() > 0, "model has no decoder layers (no linear '" + name + "')");
  // The names repeat per layer: list layer 0's with the index range.
  const std::string first = std::string(kLayerPrefix) + "0.";
  std::string suffixes;
  for (Linear* l : model.layer(0).linears()) {
    std::string s = l->name.rfind(first, 0) == 0 ? l->name.substr(first.size()) : l->name;
    suffixes += (suffixes.empty() ? "" : ", ") + s;
  }
  throw Error("model has no linear '" + name + "'; valid names are " + kLayerPrefix + "<i>.<proj> with <i> in 0.." +
              std::to_string(model.num_layers() - 1) + " and <proj> one of " + suffixes + " (e.g. " + first +
              "mlp.down_proj)");
}

torch::Tensor collect_linear_inputs(Model& model, const std::string& name, const torch::Tensor& ids) {
  find_linear(model, name);
  check(ids.dim() == 2 && ids.size(0) > 0 && ids.size(1) > 0,
        "collect_linear_inputs: ids must be a non-empty [batch, seq] tensor, got " + c10::str(ids.sizes()));
  torch::NoGradGuard ng;
  const int last = layer_index(model, name);
  std::vector<torch::Tensor> parts;
  ForwardHooks hooks;
  hooks.on_linear_input = [&](const std::string& n, const torch::Tensor& x) {
    if (n == name) parts.push_back(x.detach().to(torch::kFloat32).reshape({-1, x.size(-1)}).clone());
  };
  for (int64_t r = 0; r < ids.size(0); ++r) {
    auto h = model.embed(ids.slice(0, r, r + 1).to(torch::kLong));
    for (int i = 0; i <= last; ++i) h = model.run_layer(i, h, 0, nullptr, &hooks);
  }
  check(!parts.empty(), name + ": the forward pass never reached this linear");
  return torch::cat(parts, 0);
}

nlohmann::json analyze_scales(Model& model, const ScaleAnalysisOptions& o) {
  check(!o.out_dir.empty(), "analyze: no output directory");
  check(o.bins >= 8 && o.bins <= 4096, "analyze: --bins must be in 8..4096, got " + std::to_string(o.bins));
  Linear& lin = find_linear(model, o.layer);
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  check(is_directory(o.out_dir), o.out_dir + ": cannot create the output directory" + (ec ? " (" + ec.message() + ")" : ""));

  nlohmann::json summary{{"model", model.path()}, {"layer", o.layer}};

  // Weight: original vs fresh FP8 per-channel QDQ, or vs the quantized checkpoint's weight.
  const torch::Tensor w = lin.w.detach().to(torch::kFloat32).contiguous();
  torch::Tensor w_after;
  nlohmann::json after;
  std::string after_label;
  if (!o.quantized.empty()) {
    LoadOptions lo;
    lo.load_tokenizer = false;
    auto qm = Model::load(o.quantized, lo);
    Linear* ql = lookup(*qm, o.layer);
    check(ql != nullptr, o.quantized + ": the quantized checkpoint has no linear '" + o.layer + "'");
    w_after = ql->w.detach().to(torch::kFloat32).contiguous();
    check(w_after.sizes() == w.sizes(), o.quantized + ": '" + o.layer + "' has shape " + c10::str(w_after.sizes()) +
                                            ", the model's has " + c10::str(w.sizes()));
    after = {{"source", "quantized_checkpoint"}, {"checkpoint", o.quantized}};
    after_label = "QUANTIZED CHECKPOINT (DEQUANTIZED)";
  } else {
    w_after = ops::fake_quant_fp8_per_channel(w, o.layer + ".weight");
    auto scale = ops::fp8_scale_per_channel(w, o.layer + ".weight");
    after = {{"source", "qdq"},
             {"scheme", "fp8_e4m3_per_channel"},
             {"scale_min", scale.min().item<double>()},
             {"scale_max", scale.max().item<double>()}};
    after_label = "FP8 E4M3 PER-CHANNEL QDQ";
  }
  const std::string wpng = (fs::path(o.out_dir) / "weights_hist.png").string();
  nlohmann::json wj = compare(w, w_after, o.layer + ".weight", "WEIGHT  " + o.layer + "  " + dims_text(w), after_label,
                              o.bins, wpng);
  wj["shape"] = w.sizes().vec();
  wj["after"] = after;
  summary["weight"] = wj;
  log_info("analyze: wrote " + wpng);

  // Input activations over calibration text: original vs FP8 per-tensor QDQ (scale absmax / 448).
  if (!o.data.path.empty()) {
    check(model.has_tokenizer(), "analyze: activations need a tokenizer (pass --tokenizer)");
    auto ids = build_calibration_batch(o.data, model.tokenizer());
    check(ids.numel() > 0, o.data.path + ": no calibration tokens");
    const torch::Tensor x = collect_linear_inputs(model, o.layer, ids);
    const std::string name = o.layer + ".input";
    const double scale = ops::fp8_scale_per_tensor(x, name).item<double>();
    const torch::Tensor xq = ops::fake_quant_fp8_per_tensor(x, {}, name);
    const std::string apng = (fs::path(o.out_dir) / "activations_hist.png").string();
    nlohmann::json aj = compare(x, xq, name,
                                "INPUT ACTIVATIONS  " + o.layer + "  [" + std::to_string(x.size(0)) + " TOKENS X " +
                                    std::to_string(x.size(1)) + "]",
                                "FP8 E4M3 PER-TENSOR QDQ, SCALE " + fmt(scale), o.bins, apng);
    aj["data"] = o.data.path;
    aj["samples"] = ids.size(0);
    aj["seq_len"] = ids.size(1);
    aj["tokens"] = x.size(0);
    aj["features"] = x.size(1);
    aj["after"] = {{"source", "qdq"}, {"scheme", "fp8_e4m3_per_tensor"}, {"scale", scale}};
    summary["activations"] = aj;
    log_info("analyze: wrote " + apng);
  } else {
    summary["activations"] = nullptr;
  }

  const std::string sj = (fs::path(o.out_dir) / "summary.json").string();
  write_file_atomic(sj, summary.dump(2) + "\n");
  log_info("analyze: wrote " + sj);
  return summary;
}

}  // namespace as::analysis
