#include "quant/engine.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "common/sysinfo.h"
#include "quant/activation_cache.h"
#include "quant/algorithms.h"
#include "quant/artifacts.h"
#include "quant/export.h"

namespace fs = std::filesystem;

namespace as {
namespace {

// ignore entries: exact module names, "re:<regex>", or a bare regex (matched from the start)
std::function<bool(const std::string&)> make_ignore(const std::vector<std::string>& ignore) {
  std::vector<std::string> exact;
  std::vector<std::regex> res;
  for (auto& s : ignore) {
    if (s.rfind("re:", 0) == 0) {
      res.emplace_back(s.substr(3));
    } else if (s.find_first_of("*+?[](){}|\\^$") != std::string::npos) {
      res.emplace_back(s);
    } else {
      exact.push_back(s);
    }
  }
  return [exact, res](const std::string& name) {
    for (auto& e : exact)
      if (name == e || (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0 &&
                        name[name.size() - e.size() - 1] == '.'))
        return true;
    for (auto& r : res)
      if (std::regex_search(name, r, std::regex_constants::match_continuous)) return true;
    return false;
  };
}

std::string fingerprint(const Model& model, const QuantOptions& opt, const PtqRunOptions& run) {
  nlohmann::json j{{"model", model.path()},
                   {"config", model_config_to_json(model.config())},
                   {"algorithm", opt.algorithm},
                   {"options", opt.to_json()},
                   {"dtype", c10::toString(model.dtype())}};
  if (run.data)
    j["data"] = {{"path", run.data->path}, {"format", run.data->format}, {"n", run.data->num_samples},
                 {"seq", run.data->seq_len}, {"skip", run.data->skip}, {"seed", run.data->seed}};
  return std::to_string(std::hash<std::string>{}(j.dump()));
}

std::string layer_file(const std::string& work, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "layer_%04d.safetensors", i);
  return (fs::path(work) / buf).string();
}

// Tensors of layer i that are not quantized linears, as they are now (folded norms, biases, ignored
// linears' weights).
std::map<std::string, torch::Tensor> dense_tensors(Model& model, int i, const std::set<std::string>& quantized) {
  LayerWeights& L = model.layer(i);
  const std::string p = "model.layers." + std::to_string(i) + ".";
  std::map<std::string, torch::Tensor> d;
  d[p + "input_layernorm.weight"] = L.input_norm.clone();
  d[p + "post_attention_layernorm.weight"] = L.post_norm.clone();
  if (L.q_norm.defined()) d[p + "self_attn.q_norm.weight"] = L.q_norm.clone();
  if (L.k_norm.defined()) d[p + "self_attn.k_norm.weight"] = L.k_norm.clone();
  for (Linear* l : L.linears()) {
    if (l->b.defined()) d[l->name + ".bias"] = l->b.clone();
    if (!quantized.count(l->name)) d[l->name + ".weight"] = l->w.clone();
  }
  return d;
}

}  // namespace

PtqRunResult run_ptq(Model& model, const QuantOptions& opt, const PtqRunOptions& run) {
  using clk = std::chrono::steady_clock;
  const auto t_start = clk::now();
  auto algo = make_quant_algorithm(opt);
  auto ignored = make_ignore(opt.ignore);
  const int L = model.num_layers();
  const std::string work = (fs::path(run.output_dir) / "work").string();
  fs::create_directories(work);

  // --- calibration data
  torch::Tensor batch;
  if (run.data) {
    batch = build_calibration_batch(*run.data, model.tokenizer());
  } else if (algo->needs_calibration()) {
    throw Error("compression.quantization: " + opt.algorithm + " needs calibration data: add a `dataset` section");
  }
  const int64_t n = batch.defined() ? batch.size(0) : 0;

  // --- activation memory plan: two caches (inputs + outputs) of n samples
  const int64_t H = model.config().hidden_size;
  const uint64_t act_bytes = uint64_t(n) * uint64_t(batch.defined() ? batch.size(1) : 0) * uint64_t(H) * 4ull * 2ull;
  uint64_t layer_bytes = 0;
  for (auto& nm : model.store().names())
    if (nm.rfind("model.layers.0.", 0) == 0) layer_bytes += model.store().nbytes(nm);
  // Spill when the caches plus a layer's working set take more than a quarter of the budget: the
  // rest goes to libtorch itself (~165 MB resident) and the algorithm's temporaries (GPTQ: several
  // K x K float64 matrices).
  const bool spill = run.memory_budget > 0 && act_bytes + 4 * layer_bytes > run.memory_budget / 4;
  if (run.memory_budget > 0) limit_heap_retention();
  if (spill) log_info("calibration: activations (" + std::to_string(act_bytes >> 20) + " MiB) spill to disk to stay under the memory budget");

  // --- resume state
  const std::string fp = fingerprint(model, opt, run);
  const std::string state_path = (fs::path(work) / "state.json").string();
  int start = 0;
  std::optional<ActivationCache> acts;
  if (file_exists(state_path)) {
    auto st = nlohmann::json::parse(read_file(state_path));
    if (st.value("fingerprint", "") == fp) {
      start = st.value("layers_done", 0);
      if (start > 0 && n > 0)
        acts.emplace(ActivationCache::restore((fs::path(work) / st["acts"].get<std::string>()).string(), spill,
                                              (fs::path(work) / "spill_in").string()));
      log_info("resuming from layer " + std::to_string(start) + "/" + std::to_string(L));
    } else {
      log_info("previous run in " + work + " used other settings: starting over");
      for (auto& e : fs::directory_iterator(work)) fs::remove_all(e.path());
    }
  }
  torch::NoGradGuard ng;
  if (n > 0 && !acts) {
    acts.emplace(n, (fs::path(work) / "spill_in").string(), spill);
    for (int64_t i = 0; i < n; ++i) acts->put(i, model.embed(batch.narrow(0, i, 1)));
  }

  Progress prog("quantize " + opt.algorithm + " layer", L);
  if (run.progress) prog.update(start);
  for (int i = start; i < L; ++i) {
    const auto t0 = clk::now();
    model.load_layer(i);
    LayerJob job{model, i, model.layer(i), opt, n > 0 ? &*acts : nullptr, ignored, {}, {}};
    // float outputs (for the layer's relative error), spilled like the activations
    // and each linear's input statistics (absmax, outlier channels) for the diagnostics
    std::optional<ActivationCache> ref;
    std::map<std::string, torch::Tensor> act_amax;  // per input channel
    if (n > 0) {
      ref.emplace(n, (fs::path(work) / "spill_ref").string(), spill);
      ForwardHooks hk;
      hk.on_linear_input = [&](const std::string& name, const torch::Tensor& x) {
        auto a = x.detach().abs().reshape({-1, x.size(-1)}).amax(0).to(torch::kFloat32);
        auto it = act_amax.find(name);
        if (it == act_amax.end()) act_amax[name] = a;
        else it->second = torch::maximum(it->second, a);
      };
      for (int64_t s = 0; s < n; ++s) ref->put(s, model.run_layer(i, acts->get(s).to(model.dtype()), 0, nullptr, &hk));
    }
    algo->quantize_layer(job);
    std::set<std::string> qnames;
    for (auto& q : job.results) qnames.insert(q.name);
    LayerArtifacts art;
    art.dense = dense_tensors(model, i, qnames);
    for (auto& [k, v] : job.diag) art.diag[k] = v;
    for (auto& [k, a] : act_amax) {
      if (!art.diag.contains(k)) continue;  // ignored linears carry no diagnostics
      const double med = a.median().item<double>();
      art.diag[k]["act_absmax"] = a.max().item<double>();
      art.diag[k]["act_outlier_channel_fraction"] =
          med > 0 ? (a > 6.0 * med).to(torch::kFloat32).mean().item<double>() : 0.0;
    }
    if (n > 0) {
      ActivationCache next(n, (fs::path(work) / ((i % 2) ? "spill_a" : "spill_b")).string(), spill);
      double num = 0, den = 0;
      for (int64_t s = 0; s < n; ++s) {
        auto y = model.run_layer(i, acts->get(s).to(model.dtype()), 0).to(torch::kFloat32);
        auto r = ref->get(s);
        num += (y - r).pow(2).sum().item<double>();
        den += r.pow(2).sum().item<double>();
        next.put(s, y);
      }
      art.diag["layer_output_rel_error"] = den > 0 ? std::sqrt(num / den) : 0.0;
      // checkpoint: artifacts, then activations, then the state that points at them
      art.linears = std::move(job.results);
      save_layer_artifacts(layer_file(work, i), art);
      const std::string acts_dir = "acts_" + std::to_string(i);
      next.persist((fs::path(work) / acts_dir).string());
      write_file_atomic(state_path, nlohmann::json{{"fingerprint", fp}, {"layers_done", i + 1}, {"acts", acts_dir}}.dump());
      if (i > 0) fs::remove_all(fs::path(work) / ("acts_" + std::to_string(i - 1)));
      acts.emplace(std::move(next));
    } else {
      art.linears = std::move(job.results);
      save_layer_artifacts(layer_file(work, i), art);
      write_file_atomic(state_path, nlohmann::json{{"fingerprint", fp}, {"layers_done", i + 1}, {"acts", ""}}.dump());
    }
    model.unload_layer(i);
    if (run.memory_budget > 0) return_free_memory();
    if (run.fail_after_layers >= 0 && i + 1 >= run.fail_after_layers)
      throw Error("simulated failure after layer " + std::to_string(i));
    if (run.progress)
      prog.update(i + 1, std::to_string(std::chrono::duration<double>(clk::now() - t0).count()).substr(0, 5) + "s/layer");
  }
  prog.finish();

  // --- export
  const std::string out_model = (fs::path(run.output_dir) / "model").string();
  std::vector<std::string> layer_files;
  for (int i = 0; i < L; ++i) layer_files.push_back(layer_file(work, i));
  nlohmann::json export_report = export_ptq_checkpoint(model, opt, layer_files, out_model);

  // --- report: per-layer diagnostics and fallbacks
  PtqRunResult res;
  res.model_dir = out_model;
  nlohmann::json layers = nlohmann::json::array();
  nlohmann::json fallbacks = nlohmann::json::array();
  for (int i = 0; i < L; ++i) {
    auto art = load_layer_artifacts(layer_files[static_cast<size_t>(i)]);
    layers.push_back(art.diag);
    for (auto& q : art.linears)
      if (!q.note.empty()) fallbacks.push_back({{"linear", q.name}, {"note", q.note}});
  }
  res.report = {{"algorithm", opt.algorithm},
                {"options", opt.to_json()},
                {"calibration_samples", n},
                {"activations_spilled", spill},
                {"layers", layers},
                {"fallbacks", fallbacks},
                {"export", export_report},
                {"quantize_seconds", std::chrono::duration<double>(clk::now() - t_start).count()},
                {"peak_rss_bytes", peak_rss_bytes()}};
  return res;
}

}  // namespace as
