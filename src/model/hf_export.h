// Writes an HF model directory: config.json, model.safetensors (sharded above a threshold) and
// tokenizer files. Every file is written atomically.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "io/dtype.h"
#include "model/config.h"

namespace as {

struct HfWriteOptions {
  DType dtype = DType::F32;                 // storage dtype of floating-point tensors (F32, F16, BF16)
  uint64_t max_shard_bytes = 4ull << 30;    // shard above this payload size
  std::vector<std::string> copy_files;      // copied into the directory under their own file name
  std::map<std::string, std::string> metadata;
};

void write_hf_directory(const std::string& out_dir, const ModelConfig& cfg,
                        const std::map<std::string, torch::Tensor>& tensors, const HfWriteOptions& opts);

// Converts a llama2.c checkpoint (+ its tokenizer.bin) into an HF directory with q/k rows in
// rotate-half order; the normal loader then runs it with identical logits.
void convert_llama2c(const std::string& checkpoint, const std::string& tokenizer, const std::string& out_dir,
                     DType dtype = DType::F32);

// Copies a file atomically.
void copy_file_atomic(const std::string& src, const std::string& dst);

}  // namespace as
