#include "runtime/generate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "common/error.h"

namespace as {

Sampler::Sampler(SamplingOptions o) : o_(o), state_(o.seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
  if (o_.temperature < 0) throw Error("sampling: temperature must be >= 0");
  if (o_.top_p <= 0 || o_.top_p > 1) throw Error("sampling: top_p must be in (0, 1]");
  if (o_.top_k < 0) throw Error("sampling: top_k must be >= 0");
}

double Sampler::uniform() {
  // xorshift64*: reproducible across platforms for a given seed
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  uint64_t r = state_ * 0x2545F4914F6CDD1Dull;
  return double(r >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::sample(const torch::Tensor& logits_in) {
  auto logits = logits_in.to(torch::kFloat32).contiguous();
  const float* l = logits.data_ptr<float>();
  const int64_t V = logits.numel();
  if (o_.temperature == 0.0f) return static_cast<int32_t>(std::max_element(l, l + V) - l);
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  size_t keep = idx.size();
  if (o_.top_k > 0 && o_.top_k < V) {
    keep = static_cast<size_t>(o_.top_k);
    std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  } else {
    std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  }
  const float mx = l[idx[0]];
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp(double(l[idx[i]] - mx) / o_.temperature);
  if (o_.top_p < 1.0f) {
    double acc = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      acc += p[i] / sum;
      if (acc >= o_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  }
  double r = uniform() * sum, acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (r < acc) return idx[i];
  }
  return idx[keep - 1];
}

GenerateResult generate(Model& model, const std::vector<int32_t>& prompt_ids, const GenerateOptions& opts) {
  if (prompt_ids.empty()) throw Error("generate: the prompt is empty (no BOS and no text)");
  if (opts.max_new_tokens < 0) throw Error("generate: max_new_tokens must be >= 0");
  torch::NoGradGuard ng;
  GenerateResult res;
  res.prompt_ids = prompt_ids;
  const auto& cfg = model.config();
  const int64_t total = static_cast<int64_t>(prompt_ids.size()) + opts.max_new_tokens;
  const int64_t capacity = std::min<int64_t>(total, std::max<int64_t>(cfg.max_position, total));
  KVCache cache = model.new_cache(1, capacity);
  Sampler sampler(opts.sampling);
  std::vector<int64_t> eos(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end());
  if (model.has_tokenizer() && model.tokenizer().eos_id() >= 0) eos.push_back(model.tokenizer().eos_id());

  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  std::vector<int64_t> p64(prompt_ids.begin(), prompt_ids.end());
  auto ids = torch::from_blob(p64.data(), {1, static_cast<int64_t>(p64.size())}, torch::kLong).clone();
  auto logits = model.forward(ids, &cache);
  auto t_prefill = clk::now();
  int32_t prev = prompt_ids.back();
  auto t_first = t_prefill;
  for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
    int32_t next = sampler.sample(logits[0][logits.size(1) - 1]);
    if (step == 0) t_first = clk::now();
    if (opts.stop_at_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
      res.stopped_at_eos = true;
      break;
    }
    res.ids.push_back(next);
    if (opts.on_token) {
      std::string piece = model.has_tokenizer() ? model.tokenizer().decode_token(prev, next) : "";
      opts.on_token(next, piece);
    }
    prev = next;
    if (step + 1 == opts.max_new_tokens) break;
    auto in = torch::full({1, 1}, static_cast<int64_t>(next), torch::kLong);
    logits = model.forward(in, &cache);
  }
  auto t_end = clk::now();
  const double prefill_s = std::chrono::duration<double>(t_prefill - t0).count();
  res.ttft_s = std::chrono::duration<double>(t_first - t0).count();
  res.prefill_tokens_per_s = prefill_s > 0 ? double(prompt_ids.size()) / prefill_s : 0;
  const double decode_s = std::chrono::duration<double>(t_end - t_first).count();
  const int64_t decoded = static_cast<int64_t>(res.ids.size()) - 1;
  res.tokens_per_s = decoded > 0 && decode_s > 0 ? double(decoded) / decode_s : 0;
  if (model.has_tokenizer()) {
    std::vector<int32_t> all = prompt_ids;
    std::string full = model.tokenizer().decode(res.ids);
    res.text = full;
  }
  return res;
}

}  // namespace as
