#include "cli/lean_open.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/log.h"
#include "export/gguf_import.h"
#include "io/gguf/gguf.h"
#include "model/config.h"

namespace as::cli {

void LeanOptions::add_to(CLI::App& sub) {
  sub.add_option("--runtime", runtime, "auto: lean for packed directories and GGUF files, torch otherwise")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "lean", "torch"}));
  sub.add_option("--kv-cache", kv_cache, "Lean runtime KV cache type")
      ->capture_default_str()
      ->check(CLI::IsMember({"f16", "f32"}));
}

bool LeanOptions::use_lean(const std::string& model) const {
  return runtime == "lean" || (runtime == "auto" && is_lean_model(model));
}

bool is_lean_model(const std::string& path) {
  return lean::is_packed_dir(path) || (file_exists(path) && !is_directory(path) && is_gguf_file(path));
}

std::unique_ptr<lean::LeanModel> open_lean_model(const std::string& path, int64_t max_context, kernels::KvType kv) {
  if (lean::is_packed_dir(path)) return std::make_unique<lean::LeanModel>(path, max_context, kv);
  auto f = std::make_shared<const gguf::GGUFFile>(path);
  const ModelConfig mc = gguf_model_config(*f);
  // The GGUF metadata read once (gguf_import), handed to the torch-free runtime as an HF config.
  const lean::LeanConfig lc = lean::parse_config(nlohmann::json::parse(model_config_to_json(mc)), path);
  // llama.cpp's llama tensors carry q/k rows permuted for RoPE over adjacent pairs; qwen2/qwen3 do not.
  const bool adjacent = mc.model_type == "llama";
  auto m = std::make_unique<lean::LeanModel>(f, lc, adjacent, max_context, kv);
  const auto& notes = m->load_notes();
  if (!notes.empty())
    log_warn(path + ": " + std::to_string(notes.size()) + " tensor(s) converted at load, e.g. " + notes.front());
  return m;
}

std::unique_ptr<Tokenizer> open_lean_tokenizer(const std::string& path, const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) return load_tokenizer(tokenizer_path);
  if (lean::is_packed_dir(path)) return load_tokenizer(path);
  return gguf_tokenizer(gguf::GGUFFile(path));
}

}  // namespace as::cli
