// The CLI's door to the lean runtime: packed directories (`angelslim pack`) and GGUF files.
#pragma once
#include <memory>
#include <string>

#include "runtime/lean/lean.h"

namespace as::cli {

// True for a packed directory or a GGUF file (by magic).
bool is_lean_model(const std::string& path);
// Opens either kind; for GGUF the config comes from the file's metadata.
std::unique_ptr<lean::LeanModel> open_lean_model(const std::string& path, int64_t max_context, kernels::KvType kv);
// `tokenizer_path` when given, else the packed directory's tokenizer files or the GGUF's vocabulary.
std::unique_ptr<Tokenizer> open_lean_tokenizer(const std::string& path, const std::string& tokenizer_path);

}  // namespace as::cli
