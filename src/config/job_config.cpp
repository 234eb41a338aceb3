#include "config/job_config.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"

namespace as {

namespace {

const EnumValues<ModelDType> kDTypes = {{"float32", ModelDType::Float32}, {"bfloat16", ModelDType::BFloat16}};
const EnumValues<DatasetFormat> kFormats = {{"text_paragraphs", DatasetFormat::TextParagraphs},
                                            {"jsonl_text", DatasetFormat::JsonlText},
                                            {"jsonl_messages", DatasetFormat::JsonlMessages}};
const EnumValues<PplProtocol> kProtocols = {{"paragraphs", PplProtocol::Paragraphs},
                                            {"stream", PplProtocol::Stream}};
const EnumValues<LogLevel> kLogLevels = {{"info", LogLevel::Info},
                                         {"warn", LogLevel::Warn},
                                         {"debug", LogLevel::Debug},
                                         {"quiet", LogLevel::Quiet}};

template <class E>
const char* name_of(const EnumValues<E>& values, E v) {
  for (const auto& [name, e] : values)
    if (e == v) return name.c_str();
  return "?";
}

// Reports unknown keys before anything is read, so a misspelt key is named as such rather than as
// a missing required one.
void expect_keys(YamlReader& r, const std::vector<std::string>& keys) {
  for (const auto& k : keys) r.allow(k);
  r.finish();
}

// -1 (meaning "all") or a positive count.
int64_t all_or_positive(YamlReader& r, const std::string& key) {
  int64_t v = r.get_int(key, -1, IntRange{-1});
  if (v == 0) r.fail(key, "must be -1 (all) or >= 1, got 0");
  return v;
}

JobGlobal parse_global(YamlReader& root, const JobOverrides& o) {
  YamlReader r = root.opt_section("global").value_or(YamlReader(YAML::Node(), root.source(), "global"));
  expect_keys(r, {"output_dir", "seed", "threads", "memory_budget", "log_level"});
  JobGlobal g;
  if (o.output_dir) {
    check(!o.output_dir->empty(), root.source() + ": the output directory override is empty");
    g.output_dir = *o.output_dir;
    r.allow("output_dir");
  } else {
    g.output_dir = r.req_string("output_dir");
  }
  g.seed = static_cast<uint64_t>(r.get_int("seed", 0, IntRange{0}));
  g.threads = static_cast<int>(r.get_int("threads", 2, IntRange{1, 4096}));
  if (o.threads) {
    check(*o.threads >= 1, root.source() + ": the threads override must be >= 1, got " +
                               std::to_string(*o.threads));
    g.threads = *o.threads;
  }
  g.memory_budget = r.get_size("memory_budget", 0);
  g.log_level = r.get_enum("log_level", kLogLevels, LogLevel::Info);
  r.finish();
  return g;
}

JobModel parse_model(YamlReader& root) {
  YamlReader r = root.section("model");
  expect_keys(r, {"path", "dtype", "tokenizer"});
  JobModel m;
  m.path = r.req_string("path");
  m.dtype = r.get_enum("dtype", kDTypes, ModelDType::Float32);
  m.tokenizer = r.get_string("tokenizer", "");
  r.finish();
  return m;
}

std::optional<JobDataset> parse_dataset(YamlReader& root, uint64_t global_seed) {
  auto r = root.opt_section("dataset");
  if (!r) return std::nullopt;
  expect_keys(*r, {"path", "format", "num_samples", "seq_len", "skip", "seed"});
  JobDataset d;
  d.path = r->req_string("path");
  d.format = r->get_enum("format", kFormats, DatasetFormat::TextParagraphs);
  d.num_samples = r->get_int("num_samples", 128, IntRange{1});
  d.seq_len = r->get_int("seq_len", 256, IntRange{2});
  d.skip = r->get_int("skip", 0, IntRange{0});
  d.seed = static_cast<uint64_t>(r->get_int("seed", static_cast<int64_t>(global_seed), IntRange{0}));
  r->finish();
  return d;
}

JobPpl parse_ppl(YamlReader& r) {
  expect_keys(r, {"data", "protocol", "max_paragraphs", "ctx", "stride", "max_tokens"});
  JobPpl p;
  p.data = r.req_string("data");
  p.protocol = r.get_enum("protocol", kProtocols, PplProtocol::Paragraphs);
  if (p.protocol == PplProtocol::Paragraphs) {
    for (const char* k : {"ctx", "stride", "max_tokens"})
      if (r.has(k)) r.fail(k, "only applies to protocol: stream");
    p.max_paragraphs = all_or_positive(r, "max_paragraphs");
  } else {
    if (r.has("max_paragraphs")) r.fail("max_paragraphs", "only applies to protocol: paragraphs");
    p.ctx = r.get_int("ctx", 512, IntRange{2});
    p.stride = r.get_int("stride", 256, IntRange{1});
    if (p.stride > p.ctx)
      r.fail("stride", "must be <= ctx (" + std::to_string(p.ctx) + "), got " + std::to_string(p.stride));
    p.max_tokens = all_or_positive(r, "max_tokens");
  }
  r.finish();
  return p;
}

JobMc parse_mc(YamlReader& r) {
  expect_keys(r, {"task", "data", "limit"});
  JobMc m;
  m.task = r.req_enum("task", job_mc_tasks());
  m.data = r.req_string("data");
  m.limit = all_or_positive(r, "limit");
  r.finish();
  return m;
}

JobGenerate parse_generate(YamlReader& r, uint64_t global_seed) {
  expect_keys(r, {"prompt", "max_new_tokens", "temperature", "top_k", "top_p", "seed"});
  JobGenerate g;
  g.prompt = r.req_string("prompt");
  g.max_new_tokens = r.get_int("max_new_tokens", 64, IntRange{1});
  g.temperature = r.get_double("temperature", 0.0, DoubleRange{0.0});
  g.top_k = r.get_int("top_k", 0, IntRange{0});
  g.top_p = r.get_double("top_p", 1.0, DoubleRange{0.0, 1.0});
  if (g.top_p <= 0.0) r.fail("top_p", "must be > 0 (1 = off)");
  g.seed = static_cast<uint64_t>(r.get_int("seed", static_cast<int64_t>(global_seed), IntRange{0}));
  r.finish();
  return g;
}

JobEval parse_eval(YamlReader& root, uint64_t global_seed) {
  JobEval e;
  auto r = root.opt_section("eval");
  if (!r) return e;
  expect_keys(*r, {"ppl", "mc", "generate"});
  if (auto p = r->opt_section("ppl")) e.ppl = parse_ppl(*p);
  for (auto& m : r->section_list("mc")) e.mc.push_back(parse_mc(m));
  if (auto g = r->opt_section("generate")) e.generate = parse_generate(*g, global_seed);
  r->finish();
  return e;
}

std::string absolute(const std::string& p) {
  if (p.empty()) return p;
  return std::filesystem::absolute(p).lexically_normal().string();
}

}  // namespace

const char* to_string(ModelDType v) { return name_of(kDTypes, v); }
const char* to_string(DatasetFormat v) { return name_of(kFormats, v); }
const char* to_string(PplProtocol v) { return name_of(kProtocols, v); }
const char* to_string(LogLevel v) { return name_of(kLogLevels, v); }

const std::vector<std::string>& job_mc_tasks() {
  static const std::vector<std::string> tasks = {"arc_easy", "arc_challenge", "piqa",       "winogrande",
                                                 "hellaswag", "lambada",      "openbookqa", "copa"};
  return tasks;
}

JobConfig parse_job_config(const std::string& yaml_text, const std::string& source_name,
                           const JobOverrides& overrides) {
  YAML::Node doc = parse_yaml(yaml_text, source_name);
  if (!doc.IsDefined() || doc.IsNull())
    throw Error(source_name + ": empty job file; expected at least the sections 'global' and 'model'");
  YamlReader root(doc, source_name);
  expect_keys(root, {"global", "model", "dataset", "compression", "eval"});

  JobConfig c;
  c.source = source_name;
  c.global = parse_global(root, overrides);
  c.model = parse_model(root);
  c.dataset = parse_dataset(root, c.global.seed);
  c.compression = parse_compression(root, "compression");
  c.eval = parse_eval(root, c.global.seed);
  root.finish();
  return c;
}

JobConfig load_job_config(const std::string& path, const JobOverrides& overrides) {
  if (is_directory(path)) throw Error(path + ": is a directory, expected a job YAML file");
  if (!file_exists(path)) throw Error(path + ": no such job file");
  return parse_job_config(read_file(path), path, overrides);
}

nlohmann::json job_config_to_json(const JobConfig& c) {
  using nlohmann::json;
  json j = json::object();
  j["global"] = {{"output_dir", c.global.output_dir},
                 {"seed", c.global.seed},
                 {"threads", c.global.threads},
                 {"memory_budget", format_size(c.global.memory_budget)},
                 {"log_level", to_string(c.global.log_level)}};
  j["model"] = {{"path", c.model.path}, {"dtype", to_string(c.model.dtype)}};
  if (!c.model.tokenizer.empty()) j["model"]["tokenizer"] = c.model.tokenizer;
  if (c.dataset) {
    const JobDataset& d = *c.dataset;
    j["dataset"] = {{"path", d.path},         {"format", to_string(d.format)}, {"num_samples", d.num_samples},
                    {"seq_len", d.seq_len},   {"skip", d.skip},                {"seed", d.seed}};
  }
  j["compression"] = compression_to_json(c.compression);
  if (!c.eval.empty()) {
    json e = json::object();
    if (c.eval.ppl) {
      const JobPpl& p = *c.eval.ppl;
      json pj = {{"data", p.data}, {"protocol", to_string(p.protocol)}};
      if (p.protocol == PplProtocol::Paragraphs) {
        pj["max_paragraphs"] = p.max_paragraphs;
      } else {
        pj["ctx"] = p.ctx;
        pj["stride"] = p.stride;
        pj["max_tokens"] = p.max_tokens;
      }
      e["ppl"] = std::move(pj);
    }
    if (!c.eval.mc.empty()) {
      json mc = json::array();
      for (const auto& m : c.eval.mc) mc.push_back({{"task", m.task}, {"data", m.data}, {"limit", m.limit}});
      e["mc"] = std::move(mc);
    }
    if (c.eval.generate) {
      const JobGenerate& g = *c.eval.generate;
      e["generate"] = {{"prompt", g.prompt},   {"max_new_tokens", g.max_new_tokens},
                       {"temperature", g.temperature}, {"top_k", g.top_k},
                       {"top_p", g.top_p},     {"seed", g.seed}};
    }
    j["eval"] = std::move(e);
  }
  return j;
}

JobConfig with_absolute_paths(JobConfig c) {
  c.global.output_dir = absolute(c.global.output_dir);
  c.model.path = absolute(c.model.path);
  c.model.tokenizer = absolute(c.model.tokenizer);
  if (c.dataset) c.dataset->path = absolute(c.dataset->path);
  if (c.eval.ppl) c.eval.ppl->data = absolute(c.eval.ppl->data);
  for (auto& m : c.eval.mc) m.data = absolute(m.data);
  return c;
}

}  // namespace as
