#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "runtime/lean/lean.h"

namespace as::lean {

Sampler::Sampler(Sampling s) : s_(s), state_(s.seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {}

int32_t Sampler::sample(const float* logits, int64_t V) {
  if (s_.temperature <= 0.0f) return int32_t(std::max_element(logits, logits + V) - logits);
  buf_.resize(size_t(V));
  const float mx = *std::max_element(logits, logits + V);
  for (int64_t i = 0; i < V; ++i) buf_[size_t(i)] = {(logits[i] - mx) / s_.temperature, int32_t(i)};
  std::sort(buf_.begin(), buf_.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  size_t keep = buf_.size();
  if (s_.top_k > 0) keep = std::min(keep, size_t(s_.top_k));
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += (buf_[i].first = std::exp(buf_[i].first));
  if (s_.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
      acc += buf_[i].first / sum;
      if (acc >= s_.top_p) {
        keep = i + 1;
        break;
      }
    }
    sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += buf_[i].first;
  }
  // splitmix64 -> uniform in [0, 1)
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const double r = double(z >> 11) * (1.0 / 9007199254740992.0) * sum;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += buf_[i].first;
    if (r < acc) return buf_[i].second;
  }
  return buf_[keep - 1].second;
}

GenResult generate(LeanModel& m, const Tokenizer* tok, const std::vector<int32_t>& prompt, const GenOptions& o) {
  using clk = std::chrono::steady_clock;
  check(!prompt.empty(), "generate: empty prompt (no BOS and no text)");
  GenResult r;
  r.prompt_ids = prompt;
  const auto& c = m.config();
  std::vector<int32_t> eos = c.eos;
  if (tok && tok->eos_id() >= 0) eos.push_back(tok->eos_id());
  check(m.position() + int64_t(prompt.size()) + o.max_new_tokens <= m.max_context(),
        "generate: prompt + new tokens exceed the context of " + std::to_string(m.max_context()));
  Sampler sampler(o.sampling);
  const auto t0 = clk::now();
  const float* logits = m.forward(prompt.data(), int64_t(prompt.size()));
  const auto t1 = clk::now();
  r.ttft_s = std::chrono::duration<double>(t1 - t0).count();
  r.prefill_tokens_per_s = double(prompt.size()) / std::max(1e-9, r.ttft_s);
  int32_t prev = prompt.back();
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    const int32_t next = sampler.sample(logits, c.vocab);
    if (o.stop_at_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
      r.stopped_at_eos = true;
      break;
    }
    r.ids.push_back(next);
    if (tok) {
      std::string piece = tok->decode_token(prev, next);
      if (o.on_token) o.on_token(next, piece);
    }
    prev = next;
    if (i + 1 < o.max_new_tokens) logits = m.forward(&next, 1);
  }
  const double dt = std::chrono::duration<double>(clk::now() - t1).count();
  r.tokens_per_s = r.ids.empty() ? 0.0 : double(r.ids.size()) / std::max(1e-9, dt);
  if (tok) {
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), r.ids.begin(), r.ids.end());
    std::string full = tok->decode(all), head = tok->decode(prompt);
    r.text = full.compare(0, head.size(), head) == 0 ? full.substr(head.size()) : tok->decode(r.ids);
  }
  return r;
}

int generate_command(const OpenLeanModel& open, const Tokenizer& tok, const std::string& prompt, const GenOptions& o,
                     bool json, const std::function<void(const std::string&)>& print_json) {
  std::vector<int32_t> ids;
  if (tok.add_bos() && tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  auto enc = tok.encode(prompt);
  ids.insert(ids.end(), enc.begin(), enc.end());
  auto model = open(int64_t(ids.size()) + o.max_new_tokens, o.kv);
  LeanModel& m = *model;
  GenOptions go = o;
  if (!json) {
    std::fputs(prompt.c_str(), stdout);
    go.on_token = [](int32_t, const std::string& piece) {
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    };
  }
  auto r = generate(m, &tok, ids, go);
  if (json) {
    nlohmann::json j{{"prompt_ids", r.prompt_ids}, {"ids", r.ids}, {"text", r.text}, {"ttft_s", r.ttft_s},
                     {"prefill_tokens_per_s", r.prefill_tokens_per_s}, {"tokens_per_s", r.tokens_per_s},
                     {"stopped_at_eos", r.stopped_at_eos}, {"runtime", "lean"}, {"packed_type", m.packed_type()}};
    print_json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[angelslim] lean %s: ttft %.3f s, decode %.1f tokens/s\n", m.packed_type().c_str(), r.ttft_s,
                 r.tokens_per_s);
  }
  return 0;
}

}  // namespace as::lean
