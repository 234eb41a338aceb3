// Typed model configuration (HF config.json or a llama2.c header) and the architecture registry
// (the report's ModelFactory): architecture name -> how its config.json maps onto ModelConfig.
// Torch-free.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace as {

struct RopeScaling {
  std::string type = "none";  // none | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position = 8192;
};

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  std::string model_type = "llama";
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position = 2048;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;   // q/k/v projections carry a bias (Qwen2, attention_bias)
  bool o_bias = false;     // o_proj carries a bias (attention_bias on Llama)
  bool mlp_bias = false;
  bool qk_norm = false;    // per-head RMSNorm on q and k before RoPE (Qwen3)
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype = "float32";

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  // Checks internal consistency (heads divide, dims positive); throws naming `context`.
  void validate(const std::string& context) const;
  // Weight parameter count (embeddings included once when tied).
  int64_t num_params() const;
};

// Parses config.json content. Throws as::Error naming `context` and the key for missing or invalid
// fields, and listing the supported architectures for an unknown one.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& context);
ModelConfig load_model_config(const std::string& config_json_path);
// Serializes as an HF config.json (architectures, model_type, ...).
std::string model_config_to_json(const ModelConfig& c);

// Architecture registry. Each entry fills the architecture-specific parts of ModelConfig.
struct ArchitectureSpec {
  std::string name;        // "LlamaForCausalLM"
  std::string model_type;  // "llama"
  std::function<void(const nlohmann::json&, ModelConfig&, const std::string& context)> adapt;
};
void register_architecture(ArchitectureSpec spec);
const ArchitectureSpec& find_architecture(const std::string& name, const std::string& context);
std::vector<std::string> supported_architectures();

}  // namespace as
