// Random-weight model directories of any size, streamed to disk (little RAM even for 10 GB), with a
// working tokenizer, for speed and memory benchmarks.
#pragma once
#include <cstdint>
#include <string>

#include "io/dtype.h"
#include "model/config.h"

namespace as {

struct SynthOptions {
  ModelConfig config;           // architecture + shapes
  DType dtype = DType::BF16;    // F32, F16 or BF16
  uint64_t seed = 0;
  std::string tokenizer;        // copied when given, else a byte-level tokenizer.json fitting the vocab
  uint64_t max_shard_bytes = 4ull << 30;
  float init_std = 0.02f;
};

// Returns the total payload bytes written.
uint64_t synth_model(const std::string& out_dir, const SynthOptions& opts);

// A byte-level BPE tokenizer.json (256 byte tokens + <|endoftext|>, no merges) for vocab >= 257.
std::string byte_level_tokenizer_json(int64_t vocab_size);

}  // namespace as
