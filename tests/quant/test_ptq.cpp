// PTQ end to end on the stories260K fixture: every algorithm exports a checkpoint that passes the
// compressed-tensors validator and reloads; accuracy ordering; resume after a crash is
// byte-identical; options are validated.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "eval/ppl.h"
#include "io/compressed_tensors/ct_validate.h"
#include "model/model.h"
#include "quant/engine.h"
#include "quant/options.h"
#include "test_util.h"

using namespace as;
using namespace as::test;
namespace fs = std::filesystem;

namespace {

std::string stories() { return shared("models/stories260K/stories260K.bin"); }

QuantOptions opts(const std::string& algo, int64_t bits = 4, int64_t group = 32, bool sym = true) {
  QuantOptions o;
  o.algorithm = algo;
  o.bits = bits;
  o.group_size = group;
  o.symmetric = sym;
  if (algo.rfind("fp8_", 0) == 0) o.group_size = algo == "fp8_blockwise" ? 128 : -1, o.bits = 8;
  if (algo == "int8_smoothquant") o.bits = 8, o.group_size = -1;
  if (algo == "w4a8_fp8") o.bits = 4, o.group_size = 128;
  o.scale_dtype = "float32";
  return o;
}

PtqRunOptions run_opts(const std::string& dir, int64_t samples = 16) {
  PtqRunOptions r;
  r.output_dir = dir;
  r.progress = false;
  r.data = CalibDataOptions{shared("data/tinystories_val.txt"), "text_paragraphs", samples, 128, 1000, 0};
  return r;
}

double ppl_of(const std::string& model_dir, int64_t paragraphs = 60) {
  auto m = Model::load(model_dir);
  PplOptions p;
  p.max_paragraphs = paragraphs;
  p.progress = false;
  return eval_perplexity(*m, shared("data/tinystories_val.txt"), p).ppl;
}

double fp32_ppl() {
  auto m = Model::load(stories());
  PplOptions p;
  p.max_paragraphs = 60;
  p.progress = false;
  return eval_perplexity(*m, shared("data/tinystories_val.txt"), p).ppl;
}

}  // namespace

TEST(PtqOptions, DefaultsAndValidation) {
  ASSERT_EQ(quant_algorithm_names().size(), 9u);
  auto parse = [](const std::string& yaml, const std::string& algo) {
    YamlReader r(parse_yaml(yaml, "job.yaml"), "job.yaml", "compression.quantization");
    auto o = parse_quant_options(r, algo);
    r.allow("name");
    r.finish();
    return std::dynamic_pointer_cast<const QuantOptions>(o);
  };
  auto g = parse("{bits: 3, group_size: 32, gptq: {damp: 0.02, act_order: true, static_groups: true}}", "int4_gptq");
  EXPECT_EQ(g->bits, 3);
  EXPECT_TRUE(g->gptq.act_order);
  EXPECT_EQ(g->ignore, std::vector<std::string>{"lm_head"});
  auto err = [&](const std::string& yaml, const std::string& algo) -> std::string {
    try {
      parse(yaml, algo);
    } catch (const Error& e) {
      return e.what();
    }
    return "<no error>";
  };
  EXPECT_NE(err("{bits: 5}", "int4_rtn").find("bits"), std::string::npos);
  EXPECT_NE(err("{bits: 4}", "fp8_static").find("bits"), std::string::npos);
  EXPECT_NE(err("{gptq: {damp: 0.1}}", "int4_rtn").find("gptq"), std::string::npos);
  EXPECT_NE(err("{awq: {gird: 20}}", "int4_awq").find("gird"), std::string::npos);
  EXPECT_NE(err("{group_size: 64}", "w4a8_fp8").find("128"), std::string::npos);
  EXPECT_NE(err("{colour: 1}", "int4_rtn").find("colour"), std::string::npos);
}

TEST(Ptq, EveryAlgorithmExportsAValidCheckpointThatReloads) {
  const double base = fp32_ppl();
  for (const std::string& algo : quant_algorithm_names()) {
    TempDir tmp;
    auto model = Model::load(stories());
    auto res = run_ptq(*model, opts(algo), run_opts(tmp.str()));
    auto v = ct::validate_compressed_tensors(res.model_dir);
    EXPECT_TRUE(v.ok) << algo << ": " << v.to_json().dump();
    EXPECT_TRUE(res.report["export"]["validation_ok"].get<bool>()) << algo;
    EXPECT_EQ(res.report["layers"].size(), 5u);
    double p = ppl_of(res.model_dir);
    EXPECT_TRUE(std::isfinite(p)) << algo;
    if (algo.rfind("fp8_", 0) == 0) {
      EXPECT_LT(std::abs(p - base) / base, 0.02) << algo << " ppl " << p << " vs " << base;
    }
    // every linear reports its diagnostics
    auto& l0 = res.report["layers"][0];
    EXPECT_TRUE(l0.contains("model.layers.0.self_attn.q_proj")) << algo;
    EXPECT_TRUE(l0.contains("layer_output_rel_error")) << algo;
  }
}

TEST(Ptq, GptqAndAwqBeatRtnAtThreeBits) {
  auto run = [](const std::string& algo) {
    TempDir tmp;
    auto model = Model::load(stories());
    auto res = run_ptq(*model, opts(algo, 3, 32, true), run_opts(tmp.str(), 32));
    return ppl_of(res.model_dir);
  };
  double rtn = run("int4_rtn"), gptq = run("int4_gptq"), awq = run("int4_awq");
  EXPECT_LT(gptq, rtn) << "gptq " << gptq << " rtn " << rtn;
  EXPECT_LT(awq, rtn) << "awq " << awq << " rtn " << rtn;
}

TEST(Ptq, GroupFallbackIsReported) {
  TempDir tmp;
  auto model = Model::load(stories());
  auto res = run_ptq(*model, opts("int4_rtn", 4, 32), run_opts(tmp.str(), 4));
  // stories260K's down_proj has 172 inputs: not a multiple of 32
  bool found = false;
  for (auto& f : res.report["fallbacks"])
    if (f["linear"].get<std::string>().find("down_proj") != std::string::npos) found = true;
  EXPECT_TRUE(found) << res.report["fallbacks"].dump();
}

TEST(Ptq, ResumeAfterCrashIsByteIdentical) {
  TempDir a, b;
  {
    auto model = Model::load(stories());
    run_ptq(*model, opts("int4_gptq"), run_opts(a.str(), 8));
  }
  {
    auto model = Model::load(stories());
    auto r = run_opts(b.str(), 8);
    r.fail_after_layers = 2;
    EXPECT_THROW(run_ptq(*model, opts("int4_gptq"), r), Error);
    auto st = nlohmann::json::parse(read_file(b / "work/state.json"));
    EXPECT_EQ(st["layers_done"].get<int>(), 2);
    EXPECT_FALSE(fs::exists(b / "model/config.json"));
  }
  {
    auto model = Model::load(stories());
    run_ptq(*model, opts("int4_gptq"), run_opts(b.str(), 8));
  }
  for (auto& e : fs::directory_iterator(a / "model")) {
    auto name = e.path().filename().string();
    EXPECT_EQ(read_file(e.path().string()), read_file(b / ("model/" + name))) << name;
  }
}

TEST(Ptq, CalibrationNeedsData) {
  TempDir tmp;
  auto model = Model::load(stories());
  PtqRunOptions r;
  r.output_dir = tmp.str();
  r.progress = false;
  EXPECT_THROW(run_ptq(*model, opts("int4_gptq"), r), Error);
  // data-free algorithms run without a dataset
  EXPECT_NO_THROW(run_ptq(*model, opts("fp8_dynamic"), r));
}
