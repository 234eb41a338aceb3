// angelslim generate --model DIR --prompt T --max-new-tokens N [--temperature 0] [--seed S] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/model_options.h"
#include "runtime/generate.h"
#include "cli/lean_open.h"
#include "runtime/lean/lean.h"

namespace as::cli::cmd_generate {
namespace {

struct Opts {
  ModelOptions m;
  std::string prompt;
  int64_t max_new = 64;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  bool json = false;
  bool ignore_eos = false;
  LeanOptions rt;
};

int run(const Opts& o) {
  if (o.rt.use_lean(o.m.model)) {  // the torch-free lean runtime
    lean::GenOptions lo;
    lo.max_new_tokens = o.max_new;
    lo.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
    lo.stop_at_eos = !o.ignore_eos;
    lo.kv = o.rt.kv();
    auto tok = open_lean_tokenizer(o.m.model, o.m.tokenizer);
    auto open = [&](int64_t ctx, kernels::KvType kv) { return open_lean_model(o.m.model, ctx, kv); };
    return lean::generate_command(open, *tok, o.prompt, lo, o.json, print_json);
  }
  auto model = o.m.load();
  auto prompt_ids = encode_with_bos(model->tokenizer(), o.prompt);
  GenerateOptions go;
  go.max_new_tokens = o.max_new;
  go.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
  go.stop_at_eos = !o.ignore_eos;
  if (!o.json) {
    std::fputs(o.prompt.c_str(), stdout);
    go.on_token = [](int32_t, const std::string& piece) {
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    };
  }
  auto r = generate(*model, prompt_ids, go);
  if (o.json) {
    nlohmann::json j{{"prompt_ids", r.prompt_ids},
                     {"ids", r.ids},
                     {"text", r.text},
                     {"ttft_s", r.ttft_s},
                     {"prefill_tokens_per_s", r.prefill_tokens_per_s},
                     {"tokens_per_s", r.tokens_per_s},
                     {"stopped_at_eos", r.stopped_at_eos}};
    print_json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[angelslim] ttft %.3f s, decode %.1f tokens/s\n", r.ttft_s, r.tokens_per_s);
  }
  return 0;
}

const Register reg_generate({"generate", "Generate text from a prompt (greedy or seeded sampling)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      o->m.add_to(sub);
                      sub.add_option("--prompt,-p", o->prompt, "Prompt text (BOS is prepended when the tokenizer has one)");
                      sub.add_option("--max-new-tokens,-n", o->max_new, "Tokens to generate")->capture_default_str()
                          ->check(CLI::NonNegativeNumber);
                      sub.add_option("--temperature", o->temperature, "0 = greedy")->capture_default_str()
                          ->check(CLI::NonNegativeNumber);
                      sub.add_option("--top-k", o->top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
                      sub.add_option("--top-p", o->top_p, "Nucleus sampling mass (1 = off)")->capture_default_str();
                      sub.add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
                      sub.add_flag("--ignore-eos", o->ignore_eos, "Keep generating past EOS");
                      o->rt.add_to(sub);
                      sub.add_flag("--json", o->json, "Print one JSON object");
                      return [o] { return run(*o); };
                    }});

}  // namespace
}  // namespace as::cli::cmd_generate
