// angelslim bench --model DIR [--prompt-tokens 512] [--new-tokens 64] [--json]
// Prefill and decode speed of the libtorch runtime on random token ids, plus peak RSS. A packed
// directory (`angelslim pack`) runs on the lean runtime and also reports the decode roofline.
#include <torch/torch.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/model_options.h"
#include "common/log.h"
#include "common/sysinfo.h"
#include "kernels/packed/packed.h"
#include "runtime/lean/lean.h"

namespace as::cli {
namespace {

struct Opts {
  ModelOptions m;
  int64_t prompt_tokens = 512;
  int64_t new_tokens = 64;
  int repeats = 1;
  bool json = false;
};

// Packed directory: the lean runtime, plus the memory-bandwidth roofline of decode.
int run_lean(const Opts& o, const GlobalOptions& g) {
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  lean::LeanModel m(o.m.model, o.prompt_tokens + o.new_tokens);
  const double load_s = std::chrono::duration<double>(clk::now() - t0).count();
  const auto& cfg = m.config();
  std::vector<int32_t> prompt(size_t(o.prompt_tokens));
  uint64_t s = 1234;
  for (auto& id : prompt) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = int32_t(3 + (s >> 33) % uint64_t(std::max<int64_t>(1, cfg.vocab - 3)));
  }
  std::vector<double> prefill, decode;
  for (int r = 0; r < std::max(1, o.repeats); ++r) {
    m.reset();
    auto a = clk::now();
    const float* logits = m.forward(prompt.data(), o.prompt_tokens);
    auto b = clk::now();
    lean::Sampler greedy({});
    for (int64_t i = 0; i < o.new_tokens; ++i) {
      const int32_t next = greedy.sample(logits, cfg.vocab);
      logits = m.forward(&next, 1);
    }
    auto c = clk::now();
    prefill.push_back(double(o.prompt_tokens) / std::chrono::duration<double>(b - a).count());
    decode.push_back(double(o.new_tokens) / std::chrono::duration<double>(c - b).count());
  }
  std::sort(prefill.begin(), prefill.end());
  std::sort(decode.begin(), decode.end());
  const double bw = packed::measure_read_bandwidth_gbs();
  // Bytes one decode step reads: the weights plus the fp32 K/V rows attended to (averaged over the
  // decode steps' context lengths).
  const auto& lc = m.config();
  const uint64_t weights_per_token = m.decode_bytes_per_token();
  const uint64_t kv_per_token = uint64_t(2 * 4 * lc.layers * lc.kv_heads * lc.head_dim) *
                                uint64_t(o.prompt_tokens + (o.new_tokens + 1) / 2);
  const uint64_t per_token = weights_per_token + kv_per_token;
  const double roofline = bw * 1e9 / double(per_token);
  const double dec = decode[decode.size() / 2];
  nlohmann::json j{{"model", o.m.model},
                   {"runtime", "lean"},
                   {"packed_type", m.packed_type()},
                   {"threads", g.threads},
                   {"isa", packed::isa_name(packed::best_isa())},
                   {"weight_bytes", m.weight_bytes()},
                   {"decode_bytes_per_token", per_token},
                   {"decode_weight_bytes_per_token", weights_per_token},
                   {"decode_kv_bytes_per_token", kv_per_token},
                   {"load_s", load_s},
                   {"prompt_tokens", o.prompt_tokens},
                   {"new_tokens", o.new_tokens},
                   {"prefill_tokens_per_s", prefill[prefill.size() / 2]},
                   {"decode_tokens_per_s", dec},
                   {"peak_rss_bytes", peak_rss_bytes()},
                   {"read_bandwidth_gbs", bw},
                   {"decode_roofline_tokens_per_s", roofline},
                   {"fraction_of_roofline", dec / roofline},
                   {"cpu", cpu_model_name()}};
  if (o.json) print_json(j.dump());
  else std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

int run(const Opts& o, const GlobalOptions& g) {
  if (lean::is_packed_dir(o.m.model)) return run_lean(o, g);
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

const Register reg({"bench", "Measure prefill/decode tokens/s and peak RSS of a model",
                    [](CLI::App& sub, const GlobalOptions& g) {
                      auto o = std::make_shared<Opts>();
                      o->m.add_to(sub);
                      sub.add_option("--prompt-tokens", o->prompt_tokens, "Prefill length")->capture_default_str()
                          ->check(CLI::PositiveNumber);
                      sub.add_option("--new-tokens", o->new_tokens, "Decode steps")->capture_default_str()
                          ->check(CLI::PositiveNumber);
                      sub.add_option("--repeats", o->repeats, "Repeat and report the median")->capture_default_str();
                      sub.add_flag("--json", o->json, "Print one JSON object");
                      return [o, &g] { return run(*o, g); };
                    }});

}  // namespace
}  // namespace as::cli
