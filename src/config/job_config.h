// The typed job file of `angelslim run --config JOB.yaml`. Parsing validates everything that can be
// checked without loading a model: types, ranges, enum values, required keys, and unknown keys at
// every level (each error is one line naming the file, line and key path).
//
//   global:      {output_dir (required), seed: 0, threads: 2, memory_budget: 0 (size, 0 = none),
//                 log_level: info|warn|debug|quiet}
//   model:       {path (required), dtype: float32|bfloat16, tokenizer (optional path)}
//   dataset:     {path (required), format: text_paragraphs|jsonl_text|jsonl_messages, num_samples: 128,
//                 seq_len: 256, skip: 0, seed (default: global.seed)}            (optional section)
//   compression: absent | none | {<family>: {name: <algorithm>, ...}}  (see compression_registry.h)
//   eval:        (optional)
//     ppl:       {data (required), protocol: paragraphs|stream, max_paragraphs: -1, ctx: 512,
//                 stride: 256, max_tokens: -1}
//     mc:        list of {task (required), data (required), limit: -1}
//     generate:  {prompt (required), max_new_tokens: 64, temperature: 0, top_k: 0, top_p: 1,
//                 seed (default: global.seed)}
//
// Relative paths are used as written, i.e. relative to the working directory of the process that
// runs the job (not to the job file). with_absolute_paths() pins them for the resolved config.
// Torch-free.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/log.h"
#include "config/compression_registry.h"

namespace as {

enum class ModelDType { Float32, BFloat16 };
enum class DatasetFormat { TextParagraphs, JsonlText, JsonlMessages };
enum class PplProtocol { Paragraphs, Stream };

const char* to_string(ModelDType v);
const char* to_string(DatasetFormat v);
const char* to_string(PplProtocol v);
const char* to_string(LogLevel v);

struct JobGlobal {
  std::string output_dir;
  uint64_t seed = 0;
  int threads = 2;
  uint64_t memory_budget = 0;  // bytes; 0 = no budget
  LogLevel log_level = LogLevel::Info;
};

struct JobModel {
  std::string path;  // HF model directory or llama2.c .bin
  ModelDType dtype = ModelDType::Float32;
  std::string tokenizer;  // "" = found next to / inside the model
};

// Calibration / training text for compression families.
struct JobDataset {
  std::string path;
  DatasetFormat format = DatasetFormat::TextParagraphs;
  int64_t num_samples = 128;
  int64_t seq_len = 256;
  int64_t skip = 0;  // paragraphs / rows skipped first, so calibration text differs from eval text
  uint64_t seed = 0;
};

struct JobPpl {
  std::string data;
  PplProtocol protocol = PplProtocol::Paragraphs;
  int64_t max_paragraphs = -1;  // -1 = all
  int64_t ctx = 512;
  int64_t stride = 256;
  int64_t max_tokens = -1;  // stream: tokens read (-1 = all)
};

struct JobMc {
  std::string task;
  std::string data;
  int64_t limit = -1;  // -1 = all
};

struct JobGenerate {
  std::string prompt;
  int64_t max_new_tokens = 64;
  double temperature = 0.0;  // 0 = greedy
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
};

struct JobEval {
  std::optional<JobPpl> ppl;
  std::vector<JobMc> mc;
  std::optional<JobGenerate> generate;
  bool empty() const { return !ppl && mc.empty() && !generate; }
};

struct JobConfig {
  std::string source;  // the job file (or the name given to parse_job_config)
  JobGlobal global;
  JobModel model;
  std::optional<JobDataset> dataset;
  CompressionConfig compression;
  JobEval eval;
};

// Command-line values that replace the job file's.
struct JobOverrides {
  std::optional<std::string> output_dir;  // global.output_dir (then optional in the file)
  std::optional<int> threads;             // global.threads
};

// Parses and validates a job. `source_name` names the text in errors.
JobConfig parse_job_config(const std::string& yaml_text, const std::string& source_name,
                           const JobOverrides& overrides = {});
JobConfig load_job_config(const std::string& path, const JobOverrides& overrides = {});

// The job with every default filled in, keyed as in the job file; parse_job_config reads it back
// to an equal job (JSON is YAML).
nlohmann::json job_config_to_json(const JobConfig& c);
// The same job with every path (output_dir, model, tokenizer, dataset, eval data) made absolute
// against the current working directory.
JobConfig with_absolute_paths(JobConfig c);

// Multiple-choice task names accepted by eval.mc[].task.
const std::vector<std::string>& job_mc_tasks();

}  // namespace as
