// Token generation on a Model: KV-cached prefill + decode, greedy or seeded sampling.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"

namespace as {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // 1 = off
  uint64_t seed = 0;
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> ids;  // generated only
  std::string text;          // decoded generated text
  double ttft_s = 0;         // prompt prefill + first token
  double prefill_tokens_per_s = 0;
  double tokens_per_s = 0;   // decode tokens / s (after the first token)
  bool stopped_at_eos = false;
};

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  bool stop_at_eos = true;
  std::function<void(int32_t id, const std::string& piece)> on_token;  // streaming
};

GenerateResult generate(Model& model, const std::vector<int32_t>& prompt_ids, const GenerateOptions& opts);

// Picks the next token from fp32 logits [V] (greedy when temperature == 0).
class Sampler {
 public:
  explicit Sampler(SamplingOptions o);
  int32_t sample(const torch::Tensor& logits);

 private:
  SamplingOptions o_;
  uint64_t state_;
  double uniform();
};

}  // namespace as
