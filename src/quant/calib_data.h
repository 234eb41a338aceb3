// Calibration data (the report's DataFactory): text paragraphs, jsonl {"text"} rows or jsonl chat
// {"messages": [{"role", "content"}]} rows, tokenized (BOS per document), shuffled with the seed,
// concatenated and packed into num_samples rows of seq_len tokens.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "io/tokenizer/tokenizer.h"

namespace as {

struct CalibDataOptions {
  std::string path;
  std::string format = "text_paragraphs";  // text_paragraphs | jsonl_text | jsonl_messages
  int64_t num_samples = 128;
  int64_t seq_len = 256;
  int64_t skip = 0;    // documents skipped first (keep calibration text apart from eval text)
  uint64_t seed = 0;
};

// Documents of the file (paragraphs or rows), after `skip`. Errors name the file and line.
std::vector<std::string> read_calibration_documents(const CalibDataOptions& o);
// [n, seq_len] int64, n <= num_samples (fewer when the text runs out; a warning says so).
torch::Tensor build_calibration_batch(const CalibDataOptions& o, const Tokenizer& tok);

}  // namespace as
