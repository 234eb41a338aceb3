// Turns a llama2.c checkpoint into HF-named tensors (rotate-half RoPE layout) and a ModelConfig.
#pragma once
#include <memory>
#include <string>

#include "model/config.h"
#include "model/weights.h"

namespace as {

struct Llama2cImport {
  ModelConfig config;
  std::shared_ptr<MemoryWeightStore> store;
};

Llama2cImport import_llama2c(const std::string& path);
// tokenizer.bin or tok*.bin next to a llama2.c checkpoint; empty when none.
std::string find_llama2c_tokenizer(const std::string& checkpoint_path);
// Why a file was not accepted as a llama2.c checkpoint (for error messages).
std::string llama2c_diagnosis(const std::string& path);

// llama2.c / Meta checkpoints rotate interleaved pairs (2j, 2j+1); HF rotates (j, j + hd/2).
// Reorders the rows of a q/k projection [n_heads*hd, in] from the former to the latter.
torch::Tensor permute_interleaved_to_half(const torch::Tensor& w, int64_t n_heads);

}  // namespace as
