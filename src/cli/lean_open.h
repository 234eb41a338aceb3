// The CLI's door to the lean runtime: packed directories (`angelslim pack`) and GGUF files.
#pragma once
#include <memory>
#include <string>

#include "runtime/lean/lean.h"

namespace CLI {
class App;
}

namespace as::cli {

// --runtime auto|lean|torch and --kv-cache f16|f32 of `generate` and `bench`.
struct LeanOptions {
  std::string runtime = "auto";
  std::string kv_cache = "f16";
  void add_to(CLI::App& sub);
  bool use_lean(const std::string& model) const;  // auto: packed directories and GGUF files
  kernels::KvType kv() const { return kernels::kv_type_from_name(kv_cache.c_str()); }
};

// True for a packed directory or a GGUF file (by magic).
bool is_lean_model(const std::string& path);
// Opens either kind; for GGUF the config comes from the file's metadata.
std::unique_ptr<lean::LeanModel> open_lean_model(const std::string& path, int64_t max_context, kernels::KvType kv);
// `tokenizer_path` when given, else the packed directory's tokenizer files or the GGUF's vocabulary.
std::unique_ptr<Tokenizer> open_lean_tokenizer(const std::string& path, const std::string& tokenizer_path);

}  // namespace as::cli
