// angelslim bench --model DIR [--prompt-tokens 512] [--new-tokens 64] [--json]
// Prefill and decode speed on random token ids, plus peak RSS. Packed directories (`angelslim pack`)
// and GGUF files run on the lean runtime, which also reports the measured read bandwidth and the
// decode roofline; HF directories and llama2.c files on the libtorch runtime.
#include <torch/torch.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/model_options.h"
#include "common/log.h"
#include "common/sysinfo.h"
#include "kernels/packed/packed.h"
#include "cli/lean_open.h"
#include "runtime/lean/lean.h"

namespace as::cli::cmd_bench {
namespace {

struct Opts {
  ModelOptions m;
  int64_t prompt_tokens = 512;
  int64_t new_tokens = 64;
  int repeats = 1;
  bool json = false;
  LeanOptions rt;
};

// Packed directory: the lean runtime, plus the memory-bandwidth roofline of decode. Two decode
// figures: after the prompt (the KV cache holds prompt_tokens positions, as in a chat turn), and
// from an empty cache (llama-bench's tg protocol, where only the weights are read).
int run_lean(const Opts& o, const GlobalOptions& g) {
  using clk = std::chrono::steady_clock;
  const auto kv = o.rt.kv();
  auto t0 = clk::now();
  auto model = open_lean_model(o.m.model, o.prompt_tokens + o.new_tokens + 1, kv);
  lean::LeanModel& m = *model;
  const double load_s = std::chrono::duration<double>(clk::now() - t0).count();
  const auto& cfg = m.config();
  std::vector<int32_t> prompt(size_t(o.prompt_tokens));
  uint64_t s = 1234;
  for (auto& id : prompt) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = int32_t(3 + (s >> 33) % uint64_t(std::max<int64_t>(1, cfg.vocab - 3)));
  }
  auto secs = [](clk::time_point a, clk::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  auto decode_steps = [&](const float* logits) {
    lean::Sampler greedy({});
    for (int64_t i = 0; i < o.new_tokens; ++i) {
      const int32_t next = greedy.sample(logits, cfg.vocab);
      logits = m.forward(&next, 1);
    }
  };
  std::vector<double> prefill, decode, decode_empty;
  log_info("bench: " + std::to_string(std::max(1, o.repeats)) + " x (prefill " + std::to_string(o.prompt_tokens) +
           " + decode " + std::to_string(o.new_tokens) + ", then decode " + std::to_string(o.new_tokens) +
           " from an empty cache)");
  for (int r = 0; r < std::max(1, o.repeats); ++r) {
    m.reset();
    auto a = clk::now();
    const float* logits = m.forward(prompt.data(), o.prompt_tokens);
    auto b = clk::now();
    decode_steps(logits);
    auto c = clk::now();
    m.reset();
    const float* l0 = m.forward(prompt.data(), 1);
    auto d = clk::now();
    decode_steps(l0);
    auto e = clk::now();
    prefill.push_back(double(o.prompt_tokens) / secs(a, b));
    decode.push_back(double(o.new_tokens) / secs(b, c));
    decode_empty.push_back(double(o.new_tokens) / secs(d, e));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double bw = packed::measure_read_bandwidth_gbs();
  // Bytes one decode step reads: the weights plus the K/V rows attended to (averaged over the decode
  // steps' context lengths).
  const uint64_t weights_per_token = m.decode_bytes_per_token();
  const uint64_t kv_per_token = m.kv_bytes_per_position() * uint64_t(o.prompt_tokens + (o.new_tokens + 1) / 2);
  const uint64_t kv_per_token_empty = m.kv_bytes_per_position() * uint64_t((o.new_tokens + 1) / 2);
  const double roofline = bw * 1e9 / double(weights_per_token + kv_per_token);
  const double roofline_empty = bw * 1e9 / double(weights_per_token + kv_per_token_empty);
  const double dec = median(decode), dec0 = median(decode_empty);
  nlohmann::json j{{"model", o.m.model},
                   {"runtime", "lean"},
                   {"packed_type", m.packed_type()},
                   {"lm_head_type", m.lm_head_type()},
                   {"load_notes", m.load_notes().size()},
                   {"interleaved_linears", m.interleaved_linears()},
                   {"recoded_linears", m.recoded_linears()},
                   {"kv_cache", o.rt.kv_cache},
                   {"threads", g.threads},
                   {"isa", packed::isa_name(packed::best_isa())},
                   {"attention_isa", kernels::attend_isa()},
                   {"gemm_amx", packed::amx_gemm_enabled()},
                   {"weight_bytes", m.weight_bytes()},
                   {"decode_bytes_per_token", weights_per_token + kv_per_token},
                   {"decode_weight_bytes_per_token", weights_per_token},
                   {"decode_kv_bytes_per_token", kv_per_token},
                   {"load_s", load_s},
                   {"prompt_tokens", o.prompt_tokens},
                   {"new_tokens", o.new_tokens},
                   {"repeats", std::max(1, o.repeats)},
                   {"prefill_tokens_per_s", median(prefill)},
                   {"decode_tokens_per_s", dec},
                   {"decode_empty_context_tokens_per_s", dec0},
                   {"prefill_runs", prefill},
                   {"decode_runs", decode},
                   {"peak_rss_bytes", peak_rss_bytes()},
                   {"read_bandwidth_gbs", bw},
                   {"decode_roofline_tokens_per_s", roofline},
                   {"fraction_of_roofline", dec / roofline},
                   {"decode_empty_context_roofline_tokens_per_s", roofline_empty},
                   {"fraction_of_roofline_empty_context", dec0 / roofline_empty},
                   {"cpu", cpu_model_name()}};
  if (o.json) print_json(j.dump());
  else std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

int run(const Opts& o, const GlobalOptions& g) {
  if (o.rt.use_lean(o.m.model)) return run_lean(o, g);
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  auto model = o.m.load();
  const double load_s = std::chrono::duration<double>(clk::now() - t0).count();
  const auto& cfg = model->config();
  uint64_t weight_bytes = 0;
  for (auto& n : model->store().names()) weight_bytes += model->store().nbytes(n);
  torch::NoGradGuard ng;
  auto gen = torch::Generator(at::detail::createCPUGenerator(1234));
  auto prompt = torch::randint(3, cfg.vocab_size, {1, o.prompt_tokens}, gen, torch::kLong);
  std::vector<double> prefill, decode;
  for (int r = 0; r < std::max(1, o.repeats); ++r) {
    KVCache cache = model->new_cache(1, o.prompt_tokens + o.new_tokens);
    auto a = clk::now();
    auto logits = model->forward(prompt, &cache);
    auto b = clk::now();
    int64_t next = logits[0][o.prompt_tokens - 1].argmax().item<int64_t>();
    for (int64_t i = 0; i < o.new_tokens; ++i) {
      logits = model->forward(torch::full({1, 1}, next, torch::kLong), &cache);
      next = logits[0][0].argmax().item<int64_t>();
    }
    auto c = clk::now();
    prefill.push_back(double(o.prompt_tokens) / std::chrono::duration<double>(b - a).count());
    decode.push_back(double(o.new_tokens) / std::chrono::duration<double>(c - b).count());
  }
  std::sort(prefill.begin(), prefill.end());
  std::sort(decode.begin(), decode.end());
  nlohmann::json j{{"model", o.m.model},
                   {"runtime", "torch"},
                   {"dtype", o.m.dtype},
                   {"threads", g.threads},
                   {"params", cfg.num_params()},
                   {"weight_bytes", weight_bytes},
                   {"load_s", load_s},
                   {"prompt_tokens", o.prompt_tokens},
                   {"new_tokens", o.new_tokens},
                   {"prefill_tokens_per_s", prefill[prefill.size() / 2]},
                   {"decode_tokens_per_s", decode[decode.size() / 2]},
                   {"peak_rss_bytes", peak_rss_bytes()},
                   {"cpu", cpu_model_name()}};
  if (o.json) print_json(j.dump());
  else std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

const Register reg_bench({"bench", "Measure prefill/decode tokens/s and peak RSS of a model",
                    [](CLI::App& sub, const GlobalOptions& g) {
                      auto o = std::make_shared<Opts>();
                      o->m.add_to(sub);
                      sub.add_option("--prompt-tokens", o->prompt_tokens, "Prefill length")->capture_default_str()
                          ->check(CLI::PositiveNumber);
                      sub.add_option("--new-tokens", o->new_tokens, "Decode steps")->capture_default_str()
                          ->check(CLI::PositiveNumber);
                      sub.add_option("--repeats", o->repeats, "Repeat and report the median")->capture_default_str();
                      o->rt.add_to(sub);
                      sub.add_flag("--json", o->json, "Print one JSON object");
                      return [o, &g] { return run(*o, g); };
                    }});

}  // namespace
}  // namespace as::cli::cmd_bench
