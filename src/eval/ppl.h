// Perplexity, two protocols:
//   paragraphs: the file split on blank lines, each paragraph stripped and scored on its own from BOS,
//               truncated to the model's max length; mean NLL over all target tokens.
//   stream:     the whole text tokenized once (BOS first when the tokenizer wants one), windows of
//               `ctx` tokens (capped at max_position) starting every `stride` tokens, as in Hugging
//               Face's sliding-window perplexity recipe: each window scores only the tokens after the
//               previous window's end (the first window: all but its first token), so with
//               stride < ctx every token after the first is scored exactly once, with at least
//               ctx - stride tokens of context; with stride == ctx the windows are disjoint chunks
//               and each chunk's first token is not scored (it has no context).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace as {

struct PplOptions {
  std::string protocol = "paragraphs";  // paragraphs | stream
  int64_t max_paragraphs = -1;          // -1 = all
  int64_t ctx = 512;
  int64_t stride = 256;
  int64_t max_tokens = -1;              // stream: cap on tokens read (-1 = all)
  bool progress = true;
  int64_t batch_tokens = 2048;          // padded tokens per forward batch
};

struct PplResult {
  double nll = 0;
  double ppl = 0;
  int64_t tokens = 0;     // scored target tokens
  int64_t sequences = 0;  // paragraphs or windows
  double seconds = 0;
};

PplResult eval_perplexity(Model& model, const std::string& data_path, const PplOptions& opts);

// Paragraphs of `text`: runs of lines separated by empty lines, each stripped of surrounding
// whitespace; empty ones dropped. Inner line breaks (and whitespace-only lines) are kept.
std::vector<std::string> split_paragraphs(const std::string& text);

// One stream window: model input tokens[begin, end), scored targets tokens[first_target, end).
struct StreamWindow {
  int64_t begin = 0, end = 0, first_target = 0;
};
// The stream protocol's windows over n tokens (empty when n < 2). Throws as::Error unless
// ctx >= 2 and 1 <= stride <= ctx.
std::vector<StreamWindow> plan_stream_windows(int64_t n, int64_t ctx, int64_t stride);

}  // namespace as
