// angelslim synth --arch llama --hidden H --layers L --ffn F --heads N --kv-heads K --vocab V --out DIR
//                 [--dtype bf16] [--seed S] [--tokenizer PATH]
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/error.h"
#include "model/synth.h"

namespace as::cli::cmd_synth {
namespace {

struct Opts {
  std::string arch = "llama", out, dtype = "bf16", tokenizer;
  int64_t hidden = 0, layers = 0, ffn = 0, heads = 0, kv_heads = 0, vocab = 0, head_dim = 0, max_pos = 4096;
  uint64_t seed = 0;
  bool tie = false, json = false;
};

int run(const Opts& o) {
  SynthOptions s;
  const std::map<std::string, std::string> archs{
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  nlohmann::json cfg{{"architectures", {archs.at(o.arch)}},
                     {"hidden_size", o.hidden},
                     {"intermediate_size", o.ffn},
                     {"num_hidden_layers", o.layers},
                     {"num_attention_heads", o.heads},
                     {"num_key_value_heads", o.kv_heads > 0 ? o.kv_heads : o.heads},
                     {"vocab_size", o.vocab},
                     {"max_position_embeddings", o.max_pos},
                     {"rms_norm_eps", 1e-6},
                     {"rope_theta", o.arch == "llama" ? 10000.0 : 1000000.0},
                     {"tie_word_embeddings", o.tie}};
  if (o.head_dim > 0) cfg["head_dim"] = o.head_dim;
  else if (o.heads > 0) cfg["head_dim"] = o.hidden / o.heads;
  if (o.tokenizer.empty()) cfg["eos_token_id"] = 256;
  s.config = parse_model_config(cfg, "synth");
  s.dtype = o.dtype == "f32" ? DType::F32 : o.dtype == "f16" ? DType::F16 : DType::BF16;
  s.seed = o.seed;
  s.tokenizer = o.tokenizer;
  uint64_t bytes = synth_model(o.out, s);
  nlohmann::json j{{"out", o.out}, {"params", s.config.num_params()}, {"bytes", bytes}};
  print_json(j.dump());
  return 0;
}

const Register reg_synth({"synth", "Write a random-weight model directory of any size (streamed)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      sub.add_option("--arch", o->arch, "Architecture")
                          ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}))->capture_default_str();
                      sub.add_option("--hidden", o->hidden, "Hidden size")->required()->check(CLI::PositiveNumber);
                      sub.add_option("--layers", o->layers, "Decoder layers")->required()->check(CLI::PositiveNumber);
                      sub.add_option("--ffn", o->ffn, "MLP intermediate size")->required()->check(CLI::PositiveNumber);
                      sub.add_option("--heads", o->heads, "Attention heads")->required()->check(CLI::PositiveNumber);
                      sub.add_option("--kv-heads", o->kv_heads, "KV heads (default: heads)");
                      sub.add_option("--head-dim", o->head_dim, "Head dim (default: hidden / heads)");
                      sub.add_option("--vocab", o->vocab, "Vocabulary size")->required()->check(CLI::PositiveNumber);
                      sub.add_option("--max-position", o->max_pos, "max_position_embeddings")->capture_default_str();
                      sub.add_option("--out", o->out, "Output directory")->required();
                      sub.add_option("--dtype", o->dtype, "Storage dtype")
                          ->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
                      sub.add_option("--seed", o->seed, "Random seed")->capture_default_str();
                      sub.add_option("--tokenizer", o->tokenizer, "Tokenizer file to copy (default: byte-level)");
                      sub.add_flag("--tie", o->tie, "Tie lm_head to the embedding");
                      return [o] { return run(*o); };
                    }});

}  // namespace
}  // namespace as::cli::cmd_synth
