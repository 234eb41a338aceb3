#include "jobs/run_job.h"

#include "common/sysinfo.h"

#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include <torch/torch.h>
#include <torch/version.h>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "eval/mc.h"
#include "eval/ppl.h"
#include "jobs/job_families.h"
#include "model/model.h"
#include "runtime/generate.h"

#ifndef ANGELSLIM_VERSION
#define ANGELSLIM_VERSION "unknown"
#endif

namespace as {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Bytes of weights on disk: the file itself, or the weight files of a model directory.
uint64_t weights_on_disk(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return fs::file_size(path, ec);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file(ec) && (ext == ".safetensors" || ext == ".bin")) total += e.file_size(ec);
  }
  return total;
}

// Restores the process-wide log level and torch thread count when a job ends.
struct ProcessStateGuard {
  LogLevel level = log_level();
  int threads = torch::get_num_threads();
  ~ProcessStateGuard() {
    set_log_level(level);
    torch::set_num_threads(threads);
  }
};

void require_path(const JobConfig& job, const std::string& key, const std::string& path, bool dir_ok) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  if (!fs::exists(path, ec)) throw Error(job.source + ": " + key + ": no such file or directory: " + path);
  if (is_dir && !dir_ok) throw Error(job.source + ": " + key + ": is a directory, expected a file: " + path);
}

json versions() {
  json v = {{"angelslim", ANGELSLIM_VERSION},
            {"libtorch", TORCH_VERSION},
            {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                                  std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                                  std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
            {"cplusplus", static_cast<int64_t>(__cplusplus)}};
#if defined(__clang__)
  v["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  v["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  return v;
}

json model_info(const Model& m, const JobConfig& job, bool streamed) {
  const ModelConfig& c = m.config();
  json j = {{"path", job.model.path},
            {"architecture", c.architecture},
            {"model_type", c.model_type},
            {"num_layers", c.num_layers},
            {"hidden_size", c.hidden_size},
            {"vocab_size", c.vocab_size},
            {"num_params", c.num_params()},
            {"dtype", to_string(job.model.dtype)},
            {"stream_layers", streamed}};
  if (m.has_tokenizer()) j["tokenizer"] = m.tokenizer().kind();
  if (!m.nonfinite_tensors().empty()) j["nonfinite_tensors"] = m.nonfinite_tensors();
  return j;
}

json run_ppl(Model& model, const JobPpl& p, bool progress) {
  PplOptions o;
  o.protocol = to_string(p.protocol);
  o.max_paragraphs = p.max_paragraphs;
  o.ctx = p.ctx;
  o.stride = p.stride;
  o.max_tokens = p.max_tokens;
  o.progress = progress;
  PplResult r = eval_perplexity(model, p.data, o);
  log_info("ppl " + std::to_string(r.ppl) + " (nll " + std::to_string(r.nll) + ", " + std::to_string(r.tokens) +
           " tokens, " + o.protocol + ")");
  json j = {{"data", p.data},         {"protocol", o.protocol}, {"nll", r.nll},           {"ppl", r.ppl},
            {"tokens", r.tokens},     {"sequences", r.sequences}, {"seconds", r.seconds}};
  if (p.protocol == PplProtocol::Paragraphs) {
    j["max_paragraphs"] = p.max_paragraphs;
  } else {
    j["ctx"] = p.ctx;
    j["stride"] = p.stride;
  }
  return j;
}

json run_mc(Model& model, const JobMc& m, bool progress) {
  McOptions o;
  o.task = m.task;
  o.limit = m.limit;
  o.progress = progress;
  McResult r = eval_multiple_choice(model, m.data, o);
  log_info(m.task + ": acc " + std::to_string(r.acc) + ", acc_norm " + std::to_string(r.acc_norm) + " (n " +
           std::to_string(r.n) + ")");
  json j = {{"task", m.task}, {"data", m.data},   {"limit", m.limit},      {"acc", r.acc},
            {"acc_norm", r.acc_norm}, {"n", r.n}, {"seconds", r.seconds}};
  if (r.ppl > 0) j["ppl"] = r.ppl;
  return j;
}

json run_generate(Model& model, const JobConfig& job, const JobGenerate& g) {
  check(model.has_tokenizer(), job.source + ": eval.generate: the model has no tokenizer; set model.tokenizer");
  auto t0 = Clock::now();
  std::vector<int32_t> ids = encode_with_bos(model.tokenizer(), g.prompt);
  GenerateOptions o;
  o.max_new_tokens = g.max_new_tokens;
  o.sampling.temperature = static_cast<float>(g.temperature);
  o.sampling.top_k = static_cast<int>(g.top_k);
  o.sampling.top_p = static_cast<float>(g.top_p);
  o.sampling.seed = g.seed;
  GenerateResult r = generate(model, ids, o);
  log_info("generate: " + g.prompt + r.text);
  return {{"prompt", g.prompt},
          {"text", r.text},
          {"prompt_tokens", r.prompt_ids.size()},
          {"new_tokens", r.ids.size()},
          {"ids", r.ids},
          {"stopped_at_eos", r.stopped_at_eos},
          {"ttft_s", r.ttft_s},
          {"prefill_tokens_per_s", r.prefill_tokens_per_s},
          {"tokens_per_s", r.tokens_per_s},
          {"temperature", g.temperature},
          {"seed", g.seed},
          {"seconds", seconds_since(t0)}};
}

}  // namespace


void check_job_inputs(const JobConfig& job) {
  if (!find_family_runner(job.compression.family)) {
    throw Error(job.source + ": compression." + job.compression.family +
                ": the family parses but has no runner registered (families with runners: " +
                join_names(family_runner_names()) + ")");
  }
  require_path(job, "model.path", job.model.path, true);
  if (!job.model.tokenizer.empty()) require_path(job, "model.tokenizer", job.model.tokenizer, true);
  if (job.dataset) require_path(job, "dataset.path", job.dataset->path, false);
  if (job.eval.ppl) require_path(job, "eval.ppl.data", job.eval.ppl->data, false);
  for (size_t i = 0; i < job.eval.mc.size(); ++i) {
    const std::string key = "eval.mc[" + std::to_string(i) + "].data";
    require_path(job, key, job.eval.mc[i].data, true);
    try {
      mc_task_file(job.eval.mc[i].task, job.eval.mc[i].data);  // a directory must hold the task's file
    } catch (const Error& e) {
      throw Error(job.source + ": " + key + ": " + e.what());
    }
  }
  std::error_code ec;
  if (fs::exists(job.global.output_dir, ec) && !fs::is_directory(job.global.output_dir, ec))
    throw Error(job.source + ": global.output_dir: exists and is not a directory: " + job.global.output_dir);
}

JobConfig load_job(const std::string& yaml_path, const JobOverrides& overrides) {
  register_builtin_families();
  JobConfig job = load_job_config(yaml_path, overrides);
  check_job_inputs(job);
  return job;
}

json run_job(const std::string& yaml_path, const JobOverrides& overrides) {
  const auto t_start = Clock::now();
  const std::string started_at = utc_now();
  const JobConfig job = load_job(yaml_path, overrides);
  const JobConfig resolved = with_absolute_paths(job);
  const double parse_s = seconds_since(t_start);

  ProcessStateGuard restore;
  set_log_level(job.global.log_level);
  torch::set_num_threads(job.global.threads);
  torch::manual_seed(job.global.seed);
  const bool progress = job.global.log_level >= LogLevel::Info;

  const std::string& out_dir = job.global.output_dir;
  try {
    fs::create_directories(out_dir);
  } catch (const fs::filesystem_error& e) {
    throw Error(job.source + ": global.output_dir: cannot create " + out_dir + ": " + e.code().message());
  }
  const json resolved_json = job_config_to_json(resolved);
  write_file_atomic((fs::path(out_dir) / "resolved_config.json").string(), resolved_json.dump(2) + "\n");
  log_info("job " + yaml_path + " -> " + resolved.global.output_dir);

  json report = {{"status", "running"},
                 {"job", yaml_path},
                 {"started_at", started_at},
                 {"output_dir", resolved.global.output_dir},
                 {"config", resolved_json},
                 {"versions", versions()}};
  json timings = {{"parse_s", parse_s}};
  const std::string report_path = (fs::path(out_dir) / "report.json").string();
  const bool stream = job.global.memory_budget > 0 && weights_on_disk(job.model.path) > job.global.memory_budget;

  auto finish = [&](const std::string& status) {
    timings["total_s"] = seconds_since(t_start);
    const uint64_t peak = peak_rss_bytes();
    json mem = {{"peak_rss_bytes", peak}, {"budget_bytes", job.global.memory_budget}};
    if (job.global.memory_budget > 0) {
      mem["budget_exceeded"] = peak > job.global.memory_budget;
      if (peak > job.global.memory_budget)
        log_warn("peak RSS " + format_size(peak) + " exceeded global.memory_budget " +
                 format_size(job.global.memory_budget));
    }
    report["status"] = status;
    report["timings"] = timings;
    report["memory"] = mem;
    report["threads"] = job.global.threads;
    report["finished_at"] = utc_now();
    write_file_atomic(report_path, report.dump(2) + "\n");
  };

  try {
    // Model.
    auto t0 = Clock::now();
    LoadOptions lo;
    lo.dtype = job.model.dtype == ModelDType::BFloat16 ? torch::kBFloat16 : torch::kFloat32;
    lo.stream_layers = stream;
    if (stream) log_info("weights exceed global.memory_budget: decoder layers are streamed from disk");
    std::unique_ptr<Model> model = Model::load(job.model.path, lo, job.model.tokenizer);
    timings["load_s"] = seconds_since(t0);
    report["model"] = model_info(*model, job, stream);

    // Compression.
    t0 = Clock::now();
    json comp = {{"family", job.compression.family}, {"options", job.compression.options->to_json()}};
    if (!job.compression.algorithm.empty()) comp["algorithm"] = job.compression.algorithm;
    FamilyRunContext ctx{job, job.compression, model, out_dir, comp};
    (*find_family_runner(job.compression.family))(ctx);
    check(model != nullptr, job.source + ": compression." + job.compression.family + ": the family left no model");
    timings["compression_s"] = seconds_since(t0);
    report["compression"] = std::move(comp);

    // Evaluation.
    t0 = Clock::now();
    json ev = json::object();
    if (job.eval.ppl) ev["ppl"] = run_ppl(*model, *job.eval.ppl, progress);
    if (!job.eval.mc.empty()) {
      ev["mc"] = json::array();
      for (const auto& m : job.eval.mc) ev["mc"].push_back(run_mc(*model, m, progress));
    }
    if (job.eval.generate) ev["generate"] = run_generate(*model, job, *job.eval.generate);
    timings["eval_s"] = seconds_since(t0);
    report["eval"] = std::move(ev);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
    report["error"] = msg;
    try {
      finish("failed");
    } catch (const std::exception& w) {
      log_warn("could not write " + report_path + ": " + w.what());
    }
    throw;
  }
  finish("ok");
  log_info("report: " + (fs::path(resolved.global.output_dir) / "report.json").string());
  return report;
}

}  // namespace as
