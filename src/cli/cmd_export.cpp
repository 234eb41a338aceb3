// angelslim export gguf --model PATH --type T --out FILE [--tokenizer F] [--pure] [--name N] [--json]
// Also makes every command's --model accept .gguf files (the GGUF model loader is registered here).
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/log.h"
#include "export/gguf_export.h"
#include "export/gguf_import.h"
#include "io/gguf/ggml_types.h"
#include "model/model.h"

namespace as::cli::cmd_export {
namespace {

const bool gguf_loader_registered = (register_gguf_loader(), true);

struct Opts {
  std::string model, tokenizer, out, type = "F16", name;
  bool pure = false, json = false;
};

int run_gguf(const Opts& o) {
  LoadOptions lo;
  lo.stream_layers = true;  // tensors are read from the store one at a time while writing
  auto model = Model::load(o.model, lo, o.tokenizer);
  GGUFExportOptions eo;
  eo.type = gguf::type_from_name(o.type);
  eo.pure = o.pure;
  eo.name = o.name;
  GGUFExportResult r = export_gguf(*model, o.out, eo);
  if (o.json) {
    nlohmann::json types = nlohmann::json::object();
    for (const auto& t : r.tensors) types[t.name] = gguf::type_name(t.type);
    nlohmann::json j{{"out", r.path},         {"architecture", r.architecture}, {"file_type", r.file_type},
                     {"bytes", r.bytes},      {"tensors", types},               {"fallbacks", r.fallbacks}};
    print_json(j.dump());
  } else {
    log_info("wrote " + r.path + " (" + r.architecture + ", " + std::to_string(r.tensors.size()) + " tensors, " +
             std::to_string(r.bytes) + " bytes)");
  }
  return 0;
}

const Register reg_export({"export", "Export a model to another runtime's format (GGUF for llama.cpp)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      (void)gguf_loader_registered;
                      sub.require_subcommand(1);
                      auto o = std::make_shared<Opts>();
                      auto* g = sub.add_subcommand("gguf", "Write a llama.cpp GGUF file (llama, qwen2, qwen3)");
                      g->add_option("--model,-m", o->model, "HF model directory, llama2.c checkpoint or GGUF file")
                          ->required();
                      g->add_option("--tokenizer", o->tokenizer, "Tokenizer file (default: found next to the model)");
                      g->add_option("--out,-o", o->out, "Output .gguf file")->required();
                      g->add_option("--type", o->type,
                                    "Weight type of the 2-D matrices (norms and biases stay F32); rows that do not "
                                    "fit the block size fall back to Q4_0 / Q8_0 / F16. STQ1_0 (Sherry 1.25-bit) is "
                                    "EXPERIMENTAL: ggml type id 43 from llama.cpp pull request #22836, which upstream "
                                    "llama.cpp does not load; our runtime does")
                          ->check(CLI::IsMember(gguf_export_type_names(), CLI::ignore_case))
                          ->capture_default_str();
                      g->add_flag("--pure", o->pure,
                                  "Use --type for the output and embedding matrices too (default: Q6_K / Q8_0 / Q4_K "
                                  "there, as llama-quantize does)");
                      g->add_option("--name", o->name, "general.name (default: the model's file name)");
                      g->add_flag("--json", o->json, "Print one JSON object (tensor types, fallbacks)");
                      return [o]() -> int { return run_gguf(*o); };
                    }});

}  // namespace
}  // namespace as::cli::cmd_export
