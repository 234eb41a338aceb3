#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "runtime/lean/lean.h"

namespace as::lean {
namespace {

int64_t get_int(const nlohmann::json& j, const char* key, const std::string& ctx) {
  check(j.contains(key) && j[key].is_number_integer(), ctx + ": config.json: missing or non-integer \"" + key + "\"");
  return j[key].get<int64_t>();
}
template <class T>
T get_or(const nlohmann::json& j, const char* key, T dflt) {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  return j[key].get<T>();
}

}  // namespace

LeanConfig parse_config(const nlohmann::json& j, const std::string& ctx) {
  check(j.is_object(), ctx + ": config.json is not an object");
  LeanConfig c;
  c.model_type = get_or<std::string>(j, "model_type", "llama");
  check(c.model_type == "llama" || c.model_type == "qwen2" || c.model_type == "qwen3" || c.model_type == "mistral",
        ctx + ": config.json: model_type \"" + c.model_type + "\" is not supported by the lean runtime (llama, mistral, qwen2, qwen3)");
  c.hidden = get_int(j, "hidden_size", ctx);
  c.inter = get_int(j, "intermediate_size", ctx);
  c.layers = get_int(j, "num_hidden_layers", ctx);
  c.heads = get_int(j, "num_attention_heads", ctx);
  c.kv_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                   ? get_int(j, "num_key_value_heads", ctx) : c.heads;
  check(c.hidden > 0 && c.inter > 0 && c.layers > 0 && c.heads > 0 && c.kv_heads > 0,
        ctx + ": config.json: sizes must be positive");
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? get_int(j, "head_dim", ctx) : c.hidden / c.heads;
  check(c.heads % c.kv_heads == 0, ctx + ": config.json: num_attention_heads must be a multiple of num_key_value_heads");
  check(c.head_dim > 0 && c.head_dim % 2 == 0, ctx + ": config.json: head_dim must be positive and even");
  c.vocab = get_int(j, "vocab_size", ctx);
  c.max_position = get_or<int64_t>(j, "max_position_embeddings", 2048);
  c.eps = get_or<double>(j, "rms_norm_eps", 1e-6);
  c.rope_theta = get_or<double>(j, "rope_theta", 10000.0);
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    const auto& r = j["rope_scaling"];
    c.rope_type = r.contains("rope_type") ? r["rope_type"].get<std::string>() : get_or<std::string>(r, "type", "none");
    check(c.rope_type == "llama3" || c.rope_type == "linear" || c.rope_type == "default",
          ctx + ": config.json: rope_scaling type \"" + c.rope_type + "\" is not supported (llama3, linear)");
    if (c.rope_type == "default") c.rope_type = "none";
    c.rope_factor = get_or<double>(r, "factor", 1.0);
    c.rope_low = get_or<double>(r, "low_freq_factor", 1.0);
    c.rope_high = get_or<double>(r, "high_freq_factor", 4.0);
    c.rope_orig_max = get_or<int64_t>(r, "original_max_position_embeddings", 8192);
  }
  c.tie = get_or<bool>(j, "tie_word_embeddings", false);
  const bool attn_bias = get_or<bool>(j, "attention_bias", false);
  c.qkv_bias = attn_bias || c.model_type == "qwen2";
  c.o_bias = attn_bias && c.model_type != "qwen2";
  c.mlp_bias = get_or<bool>(j, "mlp_bias", false);
  c.qk_norm = c.model_type == "qwen3";
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos = j["bos_token_id"].get<int32_t>();
  if (j.contains("eos_token_id")) {
    const auto& e = j["eos_token_id"];
    if (e.is_number_integer()) c.eos.push_back(e.get<int32_t>());
    else if (e.is_array())
      for (const auto& x : e) c.eos.push_back(x.get<int32_t>());
  }
  return c;
}

bool is_packed_dir(const std::string& dir) {
  const std::string p = dir + "/config.json";
  if (!is_directory(dir) || !file_exists(p)) return false;
  try {
    auto j = nlohmann::json::parse(read_file(p));
    return j.is_object() && j.contains("angelslim_packed");
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace as::lean
