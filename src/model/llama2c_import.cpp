#include "model/llama2c_import.h"

#include <torch/torch.h>

#include <filesystem>

#include "common/error.h"
#include "io/llama2c.h"

namespace fs = std::filesystem;

namespace as {

torch::Tensor permute_interleaved_to_half(const torch::Tensor& w, int64_t n_heads) {
  const int64_t rows = w.size(0), hd = rows / n_heads;
  // row h*hd + 2j + p  ->  row h*hd + p*hd/2 + j
  return w.view({n_heads, hd / 2, 2, -1}).transpose(1, 2).reshape(w.sizes()).contiguous();
}

Llama2cImport import_llama2c(const std::string& path) {
  Llama2cCheckpoint ck = read_llama2c(path);
  const auto& h = ck.h;
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_layers = h.n_layers;
  c.num_heads = h.n_heads;
  c.num_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.vocab_size = h.vocab_size;
  c.max_position = h.seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = h.shared_classifier;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  c.torch_dtype = "float32";
  c.validate(path);

  auto store = std::make_shared<MemoryWeightStore>(path);
  const int64_t D = h.dim, F = h.hidden_dim, V = h.vocab_size, KV = ck.kv_dim();
  auto mat = [](const float* p, int64_t r, int64_t cols) {
    return torch::from_blob(const_cast<float*>(p), {r, cols}, torch::kFloat32).clone();
  };
  auto vec = [](const float* p, int64_t n) {
    return torch::from_blob(const_cast<float*>(p), {n}, torch::kFloat32).clone();
  };
  store->put("model.embed_tokens.weight", mat(ck.token_embedding, V, D));
  for (int64_t l = 0; l < h.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    store->put(p + "input_layernorm.weight", vec(ck.rms_att + l * D, D));
    store->put(p + "self_attn.q_proj.weight", permute_interleaved_to_half(mat(ck.wq + l * D * D, D, D), h.n_heads));
    store->put(p + "self_attn.k_proj.weight",
               permute_interleaved_to_half(mat(ck.wk + l * KV * D, KV, D), h.n_kv_heads));
    store->put(p + "self_attn.v_proj.weight", mat(ck.wv + l * KV * D, KV, D));
    store->put(p + "self_attn.o_proj.weight", mat(ck.wo + l * D * D, D, D));
    store->put(p + "post_attention_layernorm.weight", vec(ck.rms_ffn + l * D, D));
    store->put(p + "mlp.gate_proj.weight", mat(ck.w1 + l * F * D, F, D));
    store->put(p + "mlp.down_proj.weight", mat(ck.w2 + l * D * F, D, F));
    store->put(p + "mlp.up_proj.weight", mat(ck.w3 + l * F * D, F, D));
  }
  store->put("model.norm.weight", vec(ck.rms_final, D));
  if (!h.shared_classifier) store->put("lm_head.weight", mat(ck.wcls, V, D));
  return {c, store};
}

std::string find_llama2c_tokenizer(const std::string& checkpoint_path) {
  fs::path dir = fs::path(checkpoint_path).parent_path();
  if (dir.empty()) dir = ".";
  if (fs::is_regular_file(dir / "tokenizer.bin")) return (dir / "tokenizer.bin").string();
  std::vector<std::string> found;
  for (auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && name.rfind("tok", 0) == 0 && e.path().extension() == ".bin")
      found.push_back(e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.front();
}

std::string llama2c_diagnosis(const std::string& path) {
  try {
    read_llama2c(path);
    return "ok";
  } catch (const Error& e) {
    std::string m = e.what();
    auto pos = m.find(": not a valid llama2.c checkpoint: ");
    return pos == std::string::npos ? m : m.substr(pos + 35);
  }
}

}  // namespace as
