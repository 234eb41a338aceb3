#include "model/config.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"

namespace as {
namespace {

using json = nlohmann::json;

int64_t get_int(const json& j, const char* key, const std::string& ctx) {
  if (!j.contains(key)) throw Error(ctx + ": missing required key '" + key + "'");
  const json& v = j.at(key);
  if (!v.is_number_integer()) throw Error(ctx + ": key '" + key + "' must be an integer");
  return v.get<int64_t>();
}
int64_t get_int_or(const json& j, const char* key, int64_t def, const std::string& ctx) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  return get_int(j, key, ctx);
}
double get_num_or(const json& j, const char* key, double def, const std::string& ctx) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  if (!j.at(key).is_number()) throw Error(ctx + ": key '" + key + "' must be a number");
  return j.at(key).get<double>();
}
bool get_bool_or(const json& j, const char* key, bool def, const std::string& ctx) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  if (!j.at(key).is_boolean()) throw Error(ctx + ": key '" + key + "' must be true or false");
  return j.at(key).get<bool>();
}

struct Registry {
  std::mutex mu;
  std::map<std::string, ArchitectureSpec> specs;
};
Registry& registry() {
  static Registry r;
  return r;
}

void adapt_llama(const json& j, ModelConfig& c, const std::string& ctx) {
  bool attn_bias = get_bool_or(j, "attention_bias", false, ctx);
  c.qkv_bias = attn_bias;
  c.o_bias = attn_bias;
  c.mlp_bias = get_bool_or(j, "mlp_bias", false, ctx);
}
void adapt_qwen2(const json&, ModelConfig& c, const std::string&) {
  c.qkv_bias = true;  // Qwen2 always has q/k/v bias and never an o_proj bias
  c.o_bias = false;
}
void adapt_qwen3(const json& j, ModelConfig& c, const std::string& ctx) {
  bool attn_bias = get_bool_or(j, "attention_bias", false, ctx);
  c.qkv_bias = attn_bias;
  c.o_bias = attn_bias;
  c.qk_norm = true;
}

// The built-in architectures (the report's ModelFactory). New families add one line here or
// call register_architecture() from their own folder.
const bool kBuiltins = [] {
  register_architecture({"LlamaForCausalLM", "llama", adapt_llama});
  register_architecture({"Qwen2ForCausalLM", "qwen2", adapt_qwen2});
  register_architecture({"Qwen3ForCausalLM", "qwen3", adapt_qwen3});
  return true;
}();

}  // namespace

void register_architecture(ArchitectureSpec spec) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.specs[spec.name] = std::move(spec);
}

std::vector<std::string> supported_architectures() {
  (void)kBuiltins;
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  std::vector<std::string> out;
  for (auto& [k, v] : r.specs) out.push_back(k);
  return out;
}

const ArchitectureSpec& find_architecture(const std::string& name, const std::string& context) {
  (void)kBuiltins;
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.specs.find(name);
    if (it != r.specs.end()) return it->second;
  }
  std::string list;
  for (auto& s : supported_architectures()) list += (list.empty() ? "" : ", ") + s;
  throw Error(context + ": unsupported architecture '" + name + "' (supported: " + list + ")");
}

void ModelConfig::validate(const std::string& ctx) const {
  auto pos = [&](int64_t v, const char* key) {
    if (v <= 0) throw Error(ctx + ": '" + key + "' must be positive, got " + std::to_string(v));
  };
  pos(hidden_size, "hidden_size");
  pos(intermediate_size, "intermediate_size");
  pos(num_layers, "num_hidden_layers");
  pos(num_heads, "num_attention_heads");
  pos(num_kv_heads, "num_key_value_heads");
  pos(head_dim, "head_dim");
  pos(vocab_size, "vocab_size");
  pos(max_position, "max_position_embeddings");
  if (num_heads % num_kv_heads != 0)
    throw Error(ctx + ": num_attention_heads (" + std::to_string(num_heads) +
                ") must be a multiple of num_key_value_heads (" + std::to_string(num_kv_heads) + ")");
  if (head_dim % 2 != 0) throw Error(ctx + ": head_dim must be even for RoPE, got " + std::to_string(head_dim));
  if (!(rms_norm_eps > 0)) throw Error(ctx + ": rms_norm_eps must be positive");
  if (!(rope_theta > 0)) throw Error(ctx + ": rope_theta must be positive");
}

int64_t ModelConfig::num_params() const {
  int64_t per_layer = hidden_size * (q_dim() + 2 * kv_dim()) + q_dim() * hidden_size +
                      3 * hidden_size * intermediate_size + 2 * hidden_size;
  if (qkv_bias) per_layer += q_dim() + 2 * kv_dim();
  if (qk_norm) per_layer += 2 * head_dim;
  int64_t emb = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return emb + num_layers * per_layer + hidden_size;
}

ModelConfig parse_model_config(const json& j, const std::string& ctx) {
  if (!j.is_object()) throw Error(ctx + ": config must be a JSON object");
  ModelConfig c;
  std::string arch;
  if (j.contains("architectures")) {
    const json& a = j.at("architectures");
    if (!a.is_array() || a.empty() || !a[0].is_string())
      throw Error(ctx + ": key 'architectures' must be a non-empty list of strings");
    arch = a[0].get<std::string>();
  } else {
    throw Error(ctx + ": missing required key 'architectures'");
  }
  const ArchitectureSpec& spec = find_architecture(arch, ctx);
  c.architecture = spec.name;
  c.model_type = spec.model_type;
  c.hidden_size = get_int(j, "hidden_size", ctx);
  c.intermediate_size = get_int(j, "intermediate_size", ctx);
  c.num_layers = get_int(j, "num_hidden_layers", ctx);
  c.num_heads = get_int(j, "num_attention_heads", ctx);
  c.num_kv_heads = get_int_or(j, "num_key_value_heads", c.num_heads, ctx);
  c.vocab_size = get_int(j, "vocab_size", ctx);
  c.head_dim = get_int_or(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0, ctx);
  c.max_position = get_int_or(j, "max_position_embeddings", 2048, ctx);
  c.rms_norm_eps = get_num_or(j, "rms_norm_eps", 1e-6, ctx);
  c.rope_theta = get_num_or(j, "rope_theta", 10000.0, ctx);
  c.tie_word_embeddings = get_bool_or(j, "tie_word_embeddings", false, ctx);
  c.bos_token_id = get_int_or(j, "bos_token_id", -1, ctx);
  if (j.contains("eos_token_id") && !j.at("eos_token_id").is_null()) {
    const json& e = j.at("eos_token_id");
    if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int64_t>());
    else if (e.is_array()) {
      for (auto& x : e) {
        if (!x.is_number_integer()) throw Error(ctx + ": key 'eos_token_id' must hold integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else {
      throw Error(ctx + ": key 'eos_token_id' must be an integer or a list of integers");
    }
  }
  if (j.contains("torch_dtype") && j.at("torch_dtype").is_string()) c.torch_dtype = j.at("torch_dtype").get<std::string>();
  if (j.contains("hidden_act") && j.at("hidden_act").is_string()) {
    std::string act = j.at("hidden_act").get<std::string>();
    if (act != "silu" && act != "swish")
      throw Error(ctx + ": key 'hidden_act' = '" + act + "' is not supported (supported: silu)");
  }
  if (j.contains("rope_scaling") && !j.at("rope_scaling").is_null()) {
    const json& r = j.at("rope_scaling");
    if (!r.is_object()) throw Error(ctx + ": key 'rope_scaling' must be an object or null");
    std::string type;
    if (r.contains("rope_type") && r.at("rope_type").is_string()) type = r.at("rope_type").get<std::string>();
    else if (r.contains("type") && r.at("type").is_string()) type = r.at("type").get<std::string>();
    else throw Error(ctx + ": key 'rope_scaling' needs 'rope_type' (or 'type')");
    std::string rctx = ctx + ": rope_scaling";
    if (type == "default") {
      type = "none";
    } else if (type == "linear") {
      c.rope_scaling.factor = get_num_or(r, "factor", 0.0, rctx);
    } else if (type == "llama3") {
      c.rope_scaling.factor = get_num_or(r, "factor", 0.0, rctx);
      c.rope_scaling.low_freq_factor = get_num_or(r, "low_freq_factor", 1.0, rctx);
      c.rope_scaling.high_freq_factor = get_num_or(r, "high_freq_factor", 4.0, rctx);
      c.rope_scaling.original_max_position = get_int_or(r, "original_max_position_embeddings", 8192, rctx);
      if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor))
        throw Error(rctx + ": high_freq_factor must exceed low_freq_factor");
    } else {
      throw Error(ctx + ": rope_scaling type '" + type + "' is not supported (supported: linear, llama3)");
    }
    if (type != "none" && !(c.rope_scaling.factor > 0))
      throw Error(ctx + ": rope_scaling.factor must be positive");
    c.rope_scaling.type = type;
  }
  spec.adapt(j, c, ctx);
  c.validate(ctx);
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  return parse_model_config(j, path);
}

std::string model_config_to_json(const ModelConfig& c) {
  json j;
  j["architectures"] = {c.architecture};
  j["model_type"] = c.model_type;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = c.torch_dtype;
  if (c.model_type != "qwen2") j["attention_bias"] = c.qkv_bias;
  if (c.model_type == "llama") j["mlp_bias"] = c.mlp_bias;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  if (c.rope_scaling.type == "none") {
    j["rope_scaling"] = nullptr;
  } else if (c.rope_scaling.type == "linear") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
  } else {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position}};
  }
  return j.dump(2) + "\n";
}

}  // namespace as
