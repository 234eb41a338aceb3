#include "jobs/run_job.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "config/compression_registry.h"
#include "config/job_config.h"
#include "eval/mc.h"
#include "jobs/job_families.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using as::test::TempDir;

// Job files resolve relative paths against the working directory; the examples in configs/ are
// written for the repository root.
struct InSourceDir {
  fs::path saved = fs::current_path();
  InSourceDir() { fs::current_path(as::test::source_dir()); }
  ~InSourceDir() { fs::current_path(saved); }
};

std::vector<std::string> example_configs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(as::test::source_dir()) / "configs"))
    if (e.path().extension() == ".yaml") out.push_back("configs/" + e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string write_job(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir / name;
  std::ofstream(path) << text;
  return path;
}

std::string model_lines() {
  return "model:\n  path: " + as::test::shared("models/stories260K/stories260K.bin") +
         "\n  tokenizer: " + as::test::shared("models/stories260K/tok512.bin") + "\n";
}

json read_json(const std::string& path) { return json::parse(as::read_file(path)); }

void expect_error_contains(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const as::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "missing '" << f << "' in: " << msg;
  }
}

// --- a test family registered the way real families are: parser + runner ---------------------

struct ScaleOptions final : as::CompressionOptions {
  double factor = 1.0;
  bool fail = false;
  bool drop_model = false;
  json to_json() const override { return {{"factor", factor}, {"fail", fail}, {"drop_model", drop_model}}; }
};

void register_test_family() {
  static std::once_flag once;
  std::call_once(once, [] {
    as::register_builtin_families();
    as::register_compression_family({"test_scale", {"scale_norm"}, [](as::YamlReader& r, const std::string&) {
                                       auto o = std::make_shared<ScaleOptions>();
                                       o->factor = r.get_double("factor", 1.0, as::DoubleRange{0.0});
                                       o->fail = r.get_bool("fail", false);
                                       o->drop_model = r.get_bool("drop_model", false);
                                       return o;
                                     }});
    as::register_family_runner("test_scale", [](as::FamilyRunContext& ctx) {
      const auto& o = ctx.compression.options_as<ScaleOptions>();
      if (o.fail) throw as::Error("test_scale: asked to fail");
      if (o.drop_model) {
        ctx.model.reset();
        return;
      }
      ctx.model->final_norm().mul_(o.factor);
      ctx.report["scaled_tensors"] = 1;
      ctx.report["output_dir_seen"] = ctx.output_dir;
      ctx.report["dataset_seen"] = ctx.job.dataset.has_value();
      as::write_file_atomic((fs::path(ctx.output_dir) / "artifact.txt").string(), "scaled\n");
    });
    as::register_compression_family(
        {"parse_only", {}, [](as::YamlReader&, const std::string&) { return std::make_shared<ScaleOptions>(); }});
  });
}

// --- configs/ -------------------------------------------------------------------------------------

TEST(JobConfigs, EveryExampleParsesAndItsInputsExist) {
  InSourceDir cwd;
  auto files = example_configs();
  ASSERT_FALSE(files.empty());
  EXPECT_NE(std::find(files.begin(), files.end(), "configs/quickstart.yaml"), files.end());
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    as::JobConfig job;
    ASSERT_NO_THROW(job = as::load_job(f)) << f;
    EXPECT_EQ(job.source, f);
    // The resolved form reads back to the same job.
    json j = as::job_config_to_json(job);
    EXPECT_EQ(as::job_config_to_json(as::parse_job_config(j.dump(), f + ".resolved")), j);
  }
}

TEST(JobConfigs, McTaskNamesMatchTheEvaluator) {
  auto a = as::job_mc_tasks();
  auto b = as::mc_task_names();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

TEST(JobConfigs, QuickstartRunsEndToEnd) {
  InSourceDir cwd;
  TempDir out;
  as::JobOverrides o;
  o.output_dir = out / "run";
  const int threads_before = torch::get_num_threads();
  json r = as::run_job("configs/quickstart.yaml", o);
  EXPECT_EQ(torch::get_num_threads(), threads_before);

  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["job"], "configs/quickstart.yaml");
  EXPECT_EQ(r["model"]["num_layers"], 5);
  EXPECT_EQ(r["model"]["vocab_size"], 512);
  EXPECT_EQ(r["compression"]["family"], "none");
  EXPECT_EQ(r["compression"]["modified"], false);

  // Reference figure for the first 100 TinyStories paragraphs (../shared/README.md).
  const json& ppl = r["eval"]["ppl"];
  EXPECT_EQ(ppl["tokens"], 9618);
  EXPECT_NEAR(ppl["nll"].get<double>(), 1.4314, 2e-3);
  EXPECT_NEAR(ppl["ppl"].get<double>(), 4.184, 1e-2);
  EXPECT_EQ(ppl["sequences"], 100);

  ASSERT_EQ(r["eval"]["mc"].size(), 1u);
  const json& mc = r["eval"]["mc"][0];
  EXPECT_EQ(mc["task"], "arc_easy");
  EXPECT_EQ(mc["n"], 100);
  EXPECT_GE(mc["acc"].get<double>(), 0.0);
  EXPECT_LE(mc["acc"].get<double>(), 1.0);

  const json& gen = r["eval"]["generate"];
  EXPECT_EQ(gen["prompt"], "Once upon a time");
  EXPECT_GT(gen["new_tokens"].get<int64_t>(), 0);
  EXPECT_LE(gen["new_tokens"].get<int64_t>(), 48);
  EXPECT_FALSE(gen["text"].get<std::string>().empty());

  for (const char* t : {"parse_s", "load_s", "compression_s", "eval_s", "total_s"})
    EXPECT_TRUE(r["timings"].contains(t)) << t;
  EXPECT_GT(r["memory"]["peak_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(r["versions"]["libtorch"], TORCH_VERSION);
  EXPECT_FALSE(r["versions"]["angelslim"].get<std::string>().empty());

  // Files in output_dir: the report as returned, and a resolved config that is itself a job.
  EXPECT_EQ(read_json(out / "run/report.json"), r);
  const std::string resolved = out / "run/resolved_config.json";
  json rc = read_json(resolved);
  EXPECT_EQ(rc, r["config"]);
  EXPECT_TRUE(fs::path(rc["model"]["path"].get<std::string>()).is_absolute());
  EXPECT_EQ(rc["eval"]["ppl"]["max_paragraphs"], 100);
  EXPECT_EQ(as::job_config_to_json(as::load_job(resolved)), rc);
}

// --- jobs on temporary files ----------------------------------------------------------------------

TEST(RunJob, InvalidConfigFailsBeforeAnythingIsCreated) {
  TempDir dir;
  std::string out = dir / "out";
  std::string bad = write_job(dir, "bad.yaml", "global: {output_dir: " + out + ", threads: many}\n" + model_lines());
  expect_error_contains([&] { as::run_job(bad); }, {bad + ":1:", "global.threads: expected an integer"});
  EXPECT_FALSE(fs::exists(out));

  std::string missing = write_job(dir, "missing.yaml",
                                  "global: {output_dir: " + out + "}\nmodel: {path: " + (dir / "nope.bin") + "}\n");
  expect_error_contains([&] { as::run_job(missing); }, {missing, "model.path: no such file or directory", "nope.bin"});
  EXPECT_FALSE(fs::exists(out));

  std::string no_data = write_job(dir, "nodata.yaml",
                                  "global: {output_dir: " + out + "}\n" + model_lines() + "eval:\n  mc:\n" +
                                      "    - {task: piqa, data: " + dir.str() + "}\n");
  expect_error_contains([&] { as::run_job(no_data); }, {"eval.mc[0].data", "piqa"});
  EXPECT_FALSE(fs::exists(out));

  expect_error_contains([&] { as::run_job(dir / "absent.yaml"); }, {"absent.yaml: no such job file"});
}

TEST(RunJob, OverridesAndMinimalJob) {
  TempDir dir;
  std::string job = write_job(dir, "job.yaml", model_lines() + "eval:\n  generate: {prompt: Lily, max_new_tokens: 5}\n");
  as::JobOverrides o;
  o.output_dir = dir / "o";
  o.threads = 1;
  json r = as::run_job(job, o);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["threads"], 1);
  EXPECT_EQ(r["config"]["global"]["threads"], 1);
  EXPECT_LE(r["eval"]["generate"]["new_tokens"].get<int64_t>(), 5);
  EXPECT_FALSE(r["eval"].contains("ppl"));
  EXPECT_TRUE(fs::exists(dir / "o/report.json"));
}

TEST(RunJob, RegisteredFamilyRunsWithTypedOptions) {
  register_test_family();
  TempDir dir;
  std::string job = write_job(dir, "job.yaml",
                              "global: {output_dir: " + (dir / "out") + "}\n" + model_lines() +
                                  "compression:\n  test_scale: {factor: 0.5}\n"
                                  "eval:\n  generate: {prompt: Tom, max_new_tokens: 3}\n");
  json r = as::run_job(job);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["compression"]["family"], "test_scale");
  EXPECT_EQ(r["compression"]["algorithm"], "scale_norm");
  EXPECT_EQ(r["compression"]["options"]["factor"], 0.5);
  EXPECT_EQ(r["compression"]["scaled_tensors"], 1);
  EXPECT_EQ(r["compression"]["output_dir_seen"], dir / "out");
  EXPECT_EQ(r["compression"]["dataset_seen"], false);
  EXPECT_TRUE(fs::exists(dir / "out/artifact.txt"));
  EXPECT_EQ(r["config"]["compression"]["test_scale"]["name"], "scale_norm");
}

TEST(RunJob, FamilyFailureWritesAFailedReport) {
  register_test_family();
  TempDir dir;
  std::string job = write_job(dir, "job.yaml",
                              "global: {output_dir: " + (dir / "out") + "}\n" + model_lines() +
                                  "compression: {test_scale: {fail: true}}\n");
  expect_error_contains([&] { as::run_job(job); }, {"test_scale: asked to fail"});
  json r = read_json(dir / "out/report.json");
  EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(r["error"], "test_scale: asked to fail");
  EXPECT_TRUE(r["model"].contains("architecture"));  // what ran before the failure is kept
  EXPECT_TRUE(fs::exists(dir / "out/resolved_config.json"));

  std::string drop = write_job(dir, "drop.yaml",
                               "global: {output_dir: " + (dir / "out2") + "}\n" + model_lines() +
                                   "compression: {test_scale: {drop_model: yes}}\n");
  expect_error_contains([&] { as::run_job(drop); }, {"compression.test_scale: the family left no model"});
  EXPECT_EQ(read_json(dir / "out2/report.json")["status"], "failed");
}

TEST(RunJob, FamilyWithoutRunnerIsRejectedUpFront) {
  register_test_family();
  TempDir dir;
  std::string job = write_job(dir, "job.yaml",
                              "global: {output_dir: " + (dir / "out") + "}\n" + model_lines() + "compression: parse_only\n");
  expect_error_contains([&] { as::load_job(job); },
                        {"compression.parse_only: the family parses but has no runner", "none", "test_scale"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(RunJob, RunnerRegistryIsValidated) {
  as::register_builtin_families();
  as::register_builtin_families();  // idempotent
  EXPECT_NE(as::find_family_runner("none"), nullptr);
  EXPECT_EQ(as::find_family_runner("nope"), nullptr);
  expect_error_contains([] { as::register_family_runner("none", [](as::FamilyRunContext&) {}); },
                        {"family 'none' already has a runner"});
  expect_error_contains([] { as::register_family_runner("x", nullptr); }, {"has no run function"});
}

}  // namespace

// Every example job (quickstart is covered above, at full size) runs to completion and writes its
// report. The examples calibrate and evaluate at a size meant for users; here each runs as written
// except that calibration and evaluation read fewer samples (the job's resolved form, shrunk), so
// the suite stays fast on slow CI machines.
static json shrunk_example(const std::string& f) {
  json j = as::job_config_to_json(as::load_job(f));
  auto cap = [](json& v, int64_t most) {
    if (v.is_number_integer() && (v.get<int64_t>() < 0 || v.get<int64_t>() > most)) v = most;
  };
  if (j.contains("dataset") && j["dataset"].is_object()) {
    cap(j["dataset"]["num_samples"], 16);
    cap(j["dataset"]["seq_len"], 128);
  }
  json& ev = j["eval"];
  if (ev.contains("ppl") && ev["ppl"].is_object()) {
    cap(ev["ppl"]["max_paragraphs"], 20);
    cap(ev["ppl"]["max_tokens"], 2000);
  }
  if (ev.contains("mc"))
    for (json& m : ev["mc"]) cap(m["limit"], 20);
  if (ev.contains("generate") && ev["generate"].is_object()) cap(ev["generate"]["max_new_tokens"], 16);
  return j;
}

TEST(JobConfigs, EveryExampleRuns) {
  InSourceDir cwd;
  for (const auto& f : example_configs()) {
    if (f == "configs/quickstart.yaml") continue;
    SCOPED_TRACE(f);
    TempDir out;
    json job;
    ASSERT_NO_THROW(job = shrunk_example(f)) << f;
    const std::string path = write_job(out, "job.json", job.dump(2));
    as::JobOverrides o;
    o.output_dir = out / "run";
    json r;
    ASSERT_NO_THROW(r = as::run_job(path, o)) << f;
    EXPECT_EQ(r["status"], "ok") << f;
    EXPECT_TRUE(fs::exists(out / "run/report.json")) << f;
    EXPECT_EQ(r["config"]["compression"], as::job_config_to_json(as::load_job(f))["compression"]) << f;
    if (r["compression"]["family"] == "quantization") {
      EXPECT_TRUE(r["compression"]["export"]["validation_ok"].get<bool>()) << f;
      EXPECT_TRUE(fs::exists(out / "run/model/config.json")) << f;
      EXPECT_TRUE(std::isfinite(r["eval"]["ppl"]["ppl"].get<double>())) << f;
    }
  }
}
