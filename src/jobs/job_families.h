// The execution side of compression families: family name -> the function that runs it inside a
// job (after the model is loaded, before evaluation). The parsing side is config/compression_registry.h.
//
// A family lives in its own folder and exposes one function that registers both sides, e.g.
//
//   void register_quantization_family() {
//     register_compression_family({"quantization", {"int4_gptq", ...}, parse_quant_options});
//     register_family_runner("quantization", run_quantization);
//   }
//
// and register_builtin_families() (job_families.cpp) calls it: one line per family.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/job_config.h"
#include "model/model.h"

namespace as {

struct FamilyRunContext {
  const JobConfig& job;                   // the whole job (dataset, global.seed, memory_budget, ...)
  const CompressionConfig& compression;   // == job.compression; options_as<T>() for the typed options
  std::unique_ptr<Model>& model;          // modify in place, or replace with a new model
  const std::string& output_dir;          // where the family writes its artifacts
  nlohmann::json& report;                 // report.json's "compression" object (family/algorithm preset)
};

using FamilyRunFn = std::function<void(FamilyRunContext& ctx)>;

// Adds a runner; as::Error when the family already has one or `run` is empty.
void register_family_runner(const std::string& family, FamilyRunFn run);
// nullptr when the family has no runner.
const FamilyRunFn* find_family_runner(const std::string& family);
// Families with a runner, sorted.
std::vector<std::string> family_runner_names();

// Registers every built-in family (both the parser and the runner). Idempotent, thread-safe; run_job
// and load_job call it, so only code that parses job files without them needs to.
void register_builtin_families();

}  // namespace as
