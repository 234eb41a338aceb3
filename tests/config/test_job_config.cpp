#include "config/job_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "config/compression_registry.h"
#include "config_test_util.h"
#include "test_util.h"

namespace {

using as::JobConfig;
using as::test::expect_error;

const char* kMinimal = "global: {output_dir: out}\nmodel: {path: m.bin}\n";

JobConfig parse(const std::string& text, const as::JobOverrides& o = {}) {
  return as::parse_job_config(text, "job.yaml", o);
}

// Every key of every section.
const char* kFull = R"(# a job with every field
global:
  output_dir: runs/full
  seed: 7
  threads: 3
  memory_budget: 512MiB
  log_level: debug
model:
  path: models/m
  dtype: bfloat16
  tokenizer: models/m/tokenizer.json
dataset:
  path: data/calib.jsonl
  format: jsonl_messages
  num_samples: 64
  seq_len: 128
  skip: 100
  seed: 11
compression:
  none: {}
eval:
  ppl:
    data: data/eval.txt
    protocol: stream
    ctx: 256
    stride: 128
    max_tokens: 10000
  mc:
    - {task: arc_easy, data: data/arc_easy.jsonl, limit: 100}
    - task: piqa
      data: data/piqa.jsonl
  generate:
    prompt: Once upon a time
    max_new_tokens: 32
    temperature: 0.7
    top_k: 40
    top_p: 0.9
    seed: 5
)";

TEST(JobConfig, FullJobEveryField) {
  JobConfig c = parse(kFull);
  EXPECT_EQ(c.source, "job.yaml");
  EXPECT_EQ(c.global.output_dir, "runs/full");
  EXPECT_EQ(c.global.seed, 7u);
  EXPECT_EQ(c.global.threads, 3);
  EXPECT_EQ(c.global.memory_budget, 512ull << 20);
  EXPECT_EQ(c.global.log_level, as::LogLevel::Debug);
  EXPECT_EQ(c.model.path, "models/m");
  EXPECT_EQ(c.model.dtype, as::ModelDType::BFloat16);
  EXPECT_EQ(c.model.tokenizer, "models/m/tokenizer.json");
  ASSERT_TRUE(c.dataset);
  EXPECT_EQ(c.dataset->path, "data/calib.jsonl");
  EXPECT_EQ(c.dataset->format, as::DatasetFormat::JsonlMessages);
  EXPECT_EQ(c.dataset->num_samples, 64);
  EXPECT_EQ(c.dataset->seq_len, 128);
  EXPECT_EQ(c.dataset->skip, 100);
  EXPECT_EQ(c.dataset->seed, 11u);
  EXPECT_TRUE(c.compression.is_none());
  EXPECT_EQ(c.compression.algorithm, "");
  ASSERT_NE(c.compression.options, nullptr);
  ASSERT_TRUE(c.eval.ppl);
  EXPECT_EQ(c.eval.ppl->data, "data/eval.txt");
  EXPECT_EQ(c.eval.ppl->protocol, as::PplProtocol::Stream);
  EXPECT_EQ(c.eval.ppl->ctx, 256);
  EXPECT_EQ(c.eval.ppl->stride, 128);
  EXPECT_EQ(c.eval.ppl->max_tokens, 10000);
  ASSERT_EQ(c.eval.mc.size(), 2u);
  EXPECT_EQ(c.eval.mc[0].task, "arc_easy");
  EXPECT_EQ(c.eval.mc[0].data, "data/arc_easy.jsonl");
  EXPECT_EQ(c.eval.mc[0].limit, 100);
  EXPECT_EQ(c.eval.mc[1].task, "piqa");
  EXPECT_EQ(c.eval.mc[1].limit, -1);
  ASSERT_TRUE(c.eval.generate);
  EXPECT_EQ(c.eval.generate->prompt, "Once upon a time");
  EXPECT_EQ(c.eval.generate->max_new_tokens, 32);
  EXPECT_DOUBLE_EQ(c.eval.generate->temperature, 0.7);
  EXPECT_EQ(c.eval.generate->top_k, 40);
  EXPECT_DOUBLE_EQ(c.eval.generate->top_p, 0.9);
  EXPECT_EQ(c.eval.generate->seed, 5u);
}

TEST(JobConfig, Defaults) {
  JobConfig c = parse(std::string(kMinimal) + "dataset: {path: d.txt}\neval: {ppl: {data: e.txt}, generate: {prompt: hi}}\n");
  EXPECT_EQ(c.global.seed, 0u);
  EXPECT_EQ(c.global.threads, 2);
  EXPECT_EQ(c.global.memory_budget, 0u);
  EXPECT_EQ(c.global.log_level, as::LogLevel::Info);
  EXPECT_EQ(c.model.dtype, as::ModelDType::Float32);
  EXPECT_EQ(c.model.tokenizer, "");
  EXPECT_EQ(c.dataset->format, as::DatasetFormat::TextParagraphs);
  EXPECT_EQ(c.dataset->num_samples, 128);
  EXPECT_EQ(c.dataset->seq_len, 256);
  EXPECT_EQ(c.dataset->skip, 0);
  EXPECT_EQ(c.eval.ppl->protocol, as::PplProtocol::Paragraphs);
  EXPECT_EQ(c.eval.ppl->max_paragraphs, -1);
  EXPECT_EQ(c.eval.generate->max_new_tokens, 64);
  EXPECT_EQ(c.eval.generate->temperature, 0.0);
  EXPECT_TRUE(c.eval.mc.empty());
  EXPECT_TRUE(c.compression.is_none());

  JobConfig m = parse(kMinimal);
  EXPECT_FALSE(m.dataset);
  EXPECT_TRUE(m.eval.empty());
}

TEST(JobConfig, SeedsInheritGlobalSeed) {
  JobConfig c = parse("global: {output_dir: o, seed: 42}\nmodel: {path: m}\ndataset: {path: d}\n"
                      "eval: {generate: {prompt: p}}\n");
  EXPECT_EQ(c.dataset->seed, 42u);
  EXPECT_EQ(c.eval.generate->seed, 42u);
}

TEST(JobConfig, CompressionNoneSpellings) {
  for (const char* comp : {"", "compression: none\n", "compression: {none: {}}\n", "compression:\n  none:\n",
                           "compression:\n"}) {
    JobConfig c = parse(std::string(kMinimal) + comp);
    EXPECT_TRUE(c.compression.is_none()) << comp;
    EXPECT_EQ(as::compression_to_json(c.compression), nlohmann::json::parse(R"({"none": {}})"));
  }
}

TEST(JobConfig, Overrides) {
  as::JobOverrides o;
  o.output_dir = "elsewhere";
  o.threads = 5;
  JobConfig c = parse(kMinimal, o);
  EXPECT_EQ(c.global.output_dir, "elsewhere");
  EXPECT_EQ(c.global.threads, 5);
  // With an output_dir override the file need not name one, nor have a global section.
  JobConfig d = parse("model: {path: m}\n", o);
  EXPECT_EQ(d.global.output_dir, "elsewhere");
  as::JobOverrides bad;
  bad.threads = 0;
  expect_error([&] { parse(kMinimal, bad); }, {"job.yaml", "threads override must be >= 1, got 0"});
}

TEST(JobConfig, ResolvedJsonRoundTrips) {
  for (const std::string& text : {std::string(kFull), std::string(kMinimal),
                                  std::string(kMinimal) + "eval: {ppl: {data: e, max_paragraphs: 10}}\n"}) {
    JobConfig a = parse(text);
    nlohmann::json ja = as::job_config_to_json(a);
    JobConfig b = as::parse_job_config(ja.dump(2), "resolved.json");
    EXPECT_EQ(as::job_config_to_json(b), ja);
  }
  nlohmann::json j = as::job_config_to_json(parse(kFull));
  EXPECT_EQ(j["global"]["memory_budget"], "512MiB");
  EXPECT_EQ(j["global"]["log_level"], "debug");
  EXPECT_EQ(j["model"]["dtype"], "bfloat16");
  EXPECT_EQ(j["eval"]["mc"][1]["limit"], -1);
  EXPECT_EQ(j["compression"], nlohmann::json::parse(R"({"none": {}})"));
}

TEST(JobConfig, AbsolutePaths) {
  JobConfig c = as::with_absolute_paths(parse(kFull));
  auto cwd = std::filesystem::current_path();
  EXPECT_EQ(c.model.path, (cwd / "models/m").string());
  EXPECT_EQ(c.global.output_dir, (cwd / "runs/full").string());
  EXPECT_EQ(c.model.tokenizer, (cwd / "models/m/tokenizer.json").string());
  EXPECT_EQ(c.dataset->path, (cwd / "data/calib.jsonl").string());
  EXPECT_EQ(c.eval.ppl->data, (cwd / "data/eval.txt").string());
  EXPECT_EQ(c.eval.mc[1].data, (cwd / "data/piqa.jsonl").string());
  JobConfig m = as::with_absolute_paths(parse(kMinimal));
  EXPECT_EQ(m.model.tokenizer, "");  // unset stays unset
}

// --- unknown keys at every level ---------------------------------------------------------------

TEST(JobConfigErrors, UnknownTopLevelKey) {
  expect_error([] { parse(std::string(kMinimal) + "evals: {}\n"); },
               {"job.yaml:3:1:", "unknown key 'evals'", "did you mean 'eval'",
                "allowed top-level keys: global, model, dataset, compression, eval"});
  // A misspelt required section is reported as unknown, not as missing.
  expect_error([] { parse("global: {output_dir: o}\nmodle: {path: m}\n"); }, {"unknown key 'modle'"});
}

TEST(JobConfigErrors, UnknownKeyInEachSection) {
  struct Case {
    std::string text;
    std::vector<std::string> fragments;
  };
  std::vector<Case> cases = {
      {"global: {output_dir: o, thread: 4}\nmodel: {path: m}\n",
       {"job.yaml:1:", "unknown key 'global.thread'", "did you mean 'threads'",
        "allowed keys under 'global': output_dir, seed, threads, memory_budget, log_level"}},
      {"global: {output_dir: o}\nmodel: {path: m, revision: main}\n",
       {"job.yaml:2:", "unknown key 'model.revision'", "allowed keys under 'model': path, dtype, tokenizer"}},
      {std::string(kMinimal) + "dataset: {path: d, samples: 3}\n",
       {"unknown key 'dataset.samples'", "allowed keys under 'dataset': path, format, num_samples"}},
      {std::string(kMinimal) + "eval: {ppl: {data: x}, gen: {}}\n",
       {"unknown key 'eval.gen'", "allowed keys under 'eval': ppl, mc, generate"}},
      {std::string(kMinimal) + "eval:\n  ppl:\n    data: x\n    window: 3\n",
       {"job.yaml:6:5:", "unknown key 'eval.ppl.window'", "allowed keys under 'eval.ppl': data, protocol"}},
      {std::string(kMinimal) + "eval:\n  mc:\n    - {task: piqa, data: x}\n    - {task: piqa, data: x, limt: 3}\n",
       {"unknown key 'eval.mc[1].limt'", "did you mean 'limit'", "allowed keys under 'eval.mc[1]': task, data, limit"}},
      {std::string(kMinimal) + "eval: {generate: {prompt: p, temp: 1}}\n",
       {"unknown key 'eval.generate.temp'", "allowed keys under 'eval.generate': prompt, max_new_tokens"}},
      {std::string(kMinimal) + "compression: {none: {bits: 4}}\n",
       {"unknown key 'compression.none.bits'", "'compression.none' takes no keys"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    expect_error([&] { parse(c.text); }, c.fragments);
  }
}

// --- wrong types, bad values, missing keys -----------------------------------------------------

TEST(JobConfigErrors, WrongTypes) {
  expect_error([] { parse("global: {output_dir: o, threads: two}\nmodel: {path: m}\n"); },
               {"job.yaml:1:34:", "global.threads: expected an integer, got 'two'"});
  expect_error([] { parse("global: {output_dir: o, seed: 1.5}\nmodel: {path: m}\n"); },
               {"global.seed: expected an integer"});
  expect_error([] { parse("global: {output_dir: [a]}\nmodel: {path: m}\n"); },
               {"global.output_dir: expected a string, got a list"});
  expect_error([] { parse("global: {output_dir: o}\nmodel: m.bin\n"); }, {"model: expected a mapping, got 'm.bin'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {generate: {prompt: p, temperature: hot}}\n"); },
               {"eval.generate.temperature: expected a number, got 'hot'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {mc: {task: piqa}}\n"); },
               {"eval.mc: expected a list of mappings, got a mapping"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {mc: [piqa]}\n"); }, {"eval.mc[0]: expected a mapping"});
  expect_error([] { parse(std::string(kMinimal) + "compression: [none]\n"); },
               {"compression: expected a compression family name or a mapping", "registered families:"});
  expect_error([] { parse(std::string(kMinimal) + "compression: {none: 3}\n"); },
               {"compression.none: expected a mapping, got '3'"});
}

TEST(JobConfigErrors, BadEnumValuesListAllowed) {
  expect_error([] { parse("global: {output_dir: o}\nmodel: {path: m, dtype: float16}\n"); },
               {"job.yaml:2:", "model.dtype: invalid value 'float16'; allowed values: float32, bfloat16"});
  expect_error([] { parse("global: {output_dir: o, log_level: verbose}\nmodel: {path: m}\n"); },
               {"global.log_level: invalid value 'verbose'; allowed values: info, warn, debug, quiet"});
  expect_error([] { parse(std::string(kMinimal) + "dataset: {path: d, format: csv}\n"); },
               {"dataset.format: invalid value 'csv'; allowed values: text_paragraphs, jsonl_text, jsonl_messages"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {ppl: {data: d, protocol: sliding}}\n"); },
               {"eval.ppl.protocol: invalid value 'sliding'; allowed values: paragraphs, stream"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {mc: [{task: mmlu, data: d}]}\n"); },
               {"eval.mc[0].task: invalid value 'mmlu'; allowed values: arc_easy, arc_challenge, piqa"});
}

TEST(JobConfigErrors, BadValues) {
  struct Case {
    std::string text;
    std::string fragment;
  };
  std::string m = kMinimal;
  std::vector<Case> cases = {
      {"global: {output_dir: o, threads: 0}\nmodel: {path: m}\n", "global.threads: must be between 1 and 4096, got 0"},
      {"global: {output_dir: o, seed: -1}\nmodel: {path: m}\n", "global.seed: must be >= 0, got -1"},
      {m + "dataset: {path: d, num_samples: 0}\n", "dataset.num_samples: must be >= 1, got 0"},
      {m + "dataset: {path: d, skip: -3}\n", "dataset.skip: must be >= 0, got -3"},
      {m + "eval: {ppl: {data: d, max_paragraphs: 0}}\n", "eval.ppl.max_paragraphs: must be -1 (all) or >= 1, got 0"},
      {m + "eval: {ppl: {data: d, protocol: stream, ctx: 128, stride: 256}}\n",
       "eval.ppl.stride: must be <= ctx (128), got 256"},
      {m + "eval: {ppl: {data: d, ctx: 128}}\n", "eval.ppl.ctx: only applies to protocol: stream"},
      {m + "eval: {ppl: {data: d, protocol: stream, max_paragraphs: 3}}\n",
       "eval.ppl.max_paragraphs: only applies to protocol: paragraphs"},
      {m + "eval: {mc: [{task: piqa, data: d, limit: 0}]}\n", "eval.mc[0].limit: must be -1 (all) or >= 1, got 0"},
      {m + "eval: {generate: {prompt: p, max_new_tokens: 0}}\n", "eval.generate.max_new_tokens: must be >= 1, got 0"},
      {m + "eval: {generate: {prompt: p, temperature: -1}}\n", "eval.generate.temperature: must be >= 0, got -1"},
      {m + "eval: {generate: {prompt: p, top_p: 0}}\n", "eval.generate.top_p: must be > 0"},
      {m + "eval: {generate: {prompt: p, top_p: 1.5}}\n", "eval.generate.top_p: must be between 0 and 1, got 1.5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    expect_error([&] { parse(c.text); }, {"job.yaml:", c.fragment});
  }
}

TEST(JobConfigErrors, BadSizeString) {
  expect_error([] { parse("global: {output_dir: o, memory_budget: 2 gigs}\nmodel: {path: m}\n"); },
               {"job.yaml:1:", "global.memory_budget: invalid size '2 gigs'", "e.g. 2GB or 512MiB"});
  expect_error([] { parse("global: {output_dir: o, memory_budget: -1GB}\nmodel: {path: m}\n"); },
               {"global.memory_budget: invalid size '-1GB'"});
}

TEST(JobConfigErrors, MissingRequiredKeys) {
  expect_error([] { parse("global: {output_dir: o}\n"); }, {"job.yaml: missing required key 'model'"});
  expect_error([] { parse("model: {path: m}\n"); }, {"missing required key 'global.output_dir'"});
  expect_error([] { parse("global: {seed: 1}\nmodel: {path: m}\n"); },
               {"job.yaml:1:9:", "missing required key 'global.output_dir'"});
  expect_error([] { parse("global: {output_dir: o}\nmodel: {dtype: float32}\n"); },
               {"job.yaml:2:8:", "missing required key 'model.path'"});
  expect_error([] { parse("global: {output_dir: o}\nmodel:\n  path:\n"); },
               {"job.yaml:3:3:", "missing value for required key 'model.path'"});
  expect_error([] { parse(std::string(kMinimal) + "dataset: {format: jsonl_text}\n"); },
               {"missing required key 'dataset.path'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {ppl: {protocol: stream}}\n"); },
               {"missing required key 'eval.ppl.data'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {mc: [{task: piqa}]}\n"); },
               {"missing required key 'eval.mc[0].data'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {mc: [{data: x}]}\n"); },
               {"missing required key 'eval.mc[0].task'"});
  expect_error([] { parse(std::string(kMinimal) + "eval: {generate: {max_new_tokens: 3}}\n"); },
               {"missing required key 'eval.generate.prompt'"});
}

TEST(JobConfigErrors, EmptyAndNonMappingDocuments) {
  expect_error([] { parse(""); }, {"job.yaml: empty job file"});
  expect_error([] { parse("# only a comment\n"); }, {"job.yaml: empty job file"});
  expect_error([] { parse("just a string\n"); }, {"job.yaml:1:1:", "expected a mapping of sections"});
}

TEST(JobConfigErrors, YamlSyntaxErrorNamesFileAndLine) {
  as::test::TempDir dir;
  std::string path = dir / "broken.yaml";
  std::ofstream(path) << "global:\n  output_dir: o\nmodel: {path: m\neval: {}\n";
  expect_error([&] { as::load_job_config(path); }, {path + ":", "YAML syntax error"});
  std::string path2 = dir / "indent.yaml";
  std::ofstream(path2) << "global:\n  output_dir: o\n   seed: 1\nmodel: {path: m}\n";
  expect_error([&] { as::load_job_config(path2); }, {path2 + ":3:", "YAML syntax error"});
  expect_error([&] { as::load_job_config(dir / "missing.yaml"); }, {"missing.yaml: no such job file"});
  expect_error([&] { as::load_job_config(dir.str()); }, {"is a directory"});
}

TEST(JobConfig, LoadsFromFileAndNamesItInErrors) {
  as::test::TempDir dir;
  std::string path = dir / "job.yaml";
  std::ofstream(path) << kMinimal;
  EXPECT_EQ(as::load_job_config(path).source, path);
  std::ofstream(path) << "global: {output_dir: o}\nmodel: {path: m, dtype: int8}\n";
  expect_error([&] { as::load_job_config(path); }, {path + ":2:", "model.dtype"});
}

// --- the compression registry ------------------------------------------------------------------

struct ToyOptions final : as::CompressionOptions {
  std::string algorithm;
  int64_t bits = 4;
  std::vector<std::string> ignore;
  nlohmann::json to_json() const override { return {{"bits", bits}, {"ignore", ignore}}; }
};

struct OtherOptions final : as::CompressionOptions {
  nlohmann::json to_json() const override { return nlohmann::json::object(); }
};

// Registers test families once per process: "toy" (two algorithms, typed options) and "solo"
// (one algorithm, so `name` is optional).
void register_test_families() {
  static std::once_flag once;
  std::call_once(once, [] {
    as::register_compression_family(
        {"toy", {"toy_rtn", "toy_gptq"}, [](as::YamlReader& r, const std::string& algo) {
           auto o = std::make_shared<ToyOptions>();
           o->algorithm = algo;
           o->bits = r.get_int("bits", 4, as::IntRange{2, 8});
           o->ignore = r.get_string_list("ignore", {});
           return o;
         }});
    as::register_compression_family(
        {"solo", {"solo_only"}, [](as::YamlReader&, const std::string&) { return std::make_shared<OtherOptions>(); }});
  });
}

TEST(CompressionRegistry, NoneIsBuiltIn) {
  ASSERT_NE(as::find_compression_family("none"), nullptr);
  EXPECT_EQ(as::find_compression_family("nope"), nullptr);
  auto names = as::compression_family_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "none"), names.end());
}

TEST(CompressionRegistry, UnknownFamilyListsRegistered) {
  expect_error([] { parse(std::string(kMinimal) + "compression:\n  quantization: {name: int4_gptq}\n"); },
               {"job.yaml:4:3:", "compression.quantization: unknown compression family 'quantization'",
                "registered families: ", "none"});
  expect_error([] { parse(std::string(kMinimal) + "compression: pruning\n"); },
               {"compression: unknown compression family 'pruning'; registered families:", "none"});
  expect_error([] { parse(std::string(kMinimal) + "compression: {}\n"); },
               {"compression: expected exactly one compression family, got none"});
  expect_error([] { parse(std::string(kMinimal) + "compression: {none: {}, other: {}}\n"); },
               {"compression: expected exactly one compression family, got none, other"});
}

TEST(CompressionRegistry, DispatchesToRegisteredFamily) {
  register_test_families();
  JobConfig c = parse(std::string(kMinimal) + "compression:\n  toy:\n    name: toy_gptq\n    bits: 3\n"
                                              "    ignore: [lm_head]\n");
  EXPECT_EQ(c.compression.family, "toy");
  EXPECT_EQ(c.compression.algorithm, "toy_gptq");
  const auto& o = c.compression.options_as<ToyOptions>();
  EXPECT_EQ(o.algorithm, "toy_gptq");
  EXPECT_EQ(o.bits, 3);
  EXPECT_EQ(o.ignore, std::vector<std::string>{"lm_head"});
  EXPECT_THROW(c.compression.options_as<OtherOptions>(), as::Error);
  EXPECT_EQ(as::compression_to_json(c.compression),
            nlohmann::json::parse(R"({"toy": {"name": "toy_gptq", "bits": 3, "ignore": ["lm_head"]}})"));
  // The resolved config reads back through the registry.
  JobConfig back = as::parse_job_config(as::job_config_to_json(c).dump(), "resolved.json");
  EXPECT_EQ(back.compression.options_as<ToyOptions>().bits, 3);

  expect_error([] { parse(std::string(kMinimal) + "compression: nothing\n"); },
               {"registered families: none", "solo", "toy"});
}

TEST(CompressionRegistry, FamilyErrors) {
  register_test_families();
  std::string m = kMinimal;
  expect_error([&] { parse(m + "compression: {toy: {bits: 3}}\n"); }, {"missing required key 'compression.toy.name'"});
  expect_error([&] { parse(m + "compression: toy\n"); }, {"missing required key 'compression.toy.name'"});
  expect_error([&] { parse(m + "compression: {toy: {name: toy_awq}}\n"); },
               {"compression.toy.name: invalid value 'toy_awq'; allowed values: toy_rtn, toy_gptq"});
  expect_error([&] { parse(m + "compression: {toy: {name: toy_rtn, bits: 9}}\n"); },
               {"compression.toy.bits: must be between 2 and 8, got 9"});
  expect_error([&] { parse(m + "compression: {toy: {name: toy_rtn, group: 128}}\n"); },
               {"unknown key 'compression.toy.group'", "allowed keys under 'compression.toy': name, bits, ignore"});
  // A single-algorithm family defaults `name`.
  JobConfig s = parse(m + "compression: solo\n");
  EXPECT_EQ(s.compression.family, "solo");
  EXPECT_EQ(s.compression.algorithm, "solo_only");
}

TEST(CompressionRegistry, RegistrationIsValidated) {
  expect_error([] { as::register_compression_family({"none", {}, [](as::YamlReader&, const std::string&) {
                                                       return std::make_shared<OtherOptions>();
                                                     }}); },
               {"compression family 'none' is already registered"});
  expect_error([] { as::register_compression_family({"", {}, nullptr}); }, {"empty family name"});
  expect_error([] { as::register_compression_family({"x", {}, nullptr}); }, {"has no parse function"});
  as::register_compression_family({"returns_null", {}, [](as::YamlReader&, const std::string&) {
                                     return std::shared_ptr<const as::CompressionOptions>();
                                   }});
  expect_error([] { parse(std::string(kMinimal) + "compression: returns_null\n"); },
               {"compression family 'returns_null' returned no options"});
}

}  // namespace
