// Reading GGUF files (ours or llama.cpp's) of the llama / qwen2 / qwen3 architectures as a Model:
// a ModelConfig from the {arch}.* keys, a WeightStore that dequantizes tensors to float under their
// HF names (undoing the llama q/k row permutation), and a Tokenizer from the tokenizer.ggml.* vocab
// ("llama": SentencePiece-style BPE by scores; "gpt2": byte-level BPE by merges).
#pragma once
#include <memory>
#include <string>

#include "io/gguf/gguf.h"
#include "io/tokenizer/tokenizer.h"
#include "model/config.h"
#include "model/model.h"
#include "model/weights.h"

namespace as {

// True when the file starts with the GGUF magic (never throws).
bool is_gguf_file(const std::string& path);

// Throws as::Error naming the file and key for missing / unsupported metadata.
ModelConfig gguf_model_config(const gguf::GGUFFile& f);
// HF-named, float-dequantizing view of the file's tensors (keeps the file mapped).
std::shared_ptr<WeightStore> open_gguf_store(std::shared_ptr<const gguf::GGUFFile> f, const ModelConfig& cfg);
// The tokenizer stored in the file; throws when it has none or an unsupported tokenizer.ggml.model.
std::unique_ptr<Tokenizer> gguf_tokenizer(const gguf::GGUFFile& f);

struct GGUFImport {
  ModelConfig config;
  std::shared_ptr<WeightStore> store;
  std::shared_ptr<Tokenizer> tokenizer;  // null when not requested or the file has no vocabulary
};
GGUFImport import_gguf(const std::string& path, bool load_tokenizer = true);

// Model::load for a .gguf file; `tokenizer_path` (optional) overrides the file's own vocabulary.
std::unique_ptr<Model> load_gguf_model(const std::string& path, const LoadOptions& opts = {},
                                       const std::string& tokenizer_path = "");
// Makes Model::load accept GGUF files (idempotent).
void register_gguf_loader();

}  // namespace as
