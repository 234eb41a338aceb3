// Decoder-only transformer (Llama / Qwen2 / Qwen3 families) on libtorch.
//
// Data-oriented: a Model is a config, plain weight structs per layer, and free functions that run
// them. Layers can be resident or streamed one at a time from the weight store (low-memory
// calibration). Hooks expose layer inputs/outputs, linear inputs and chosen hidden states.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "io/tokenizer/tokenizer.h"
#include "model/config.h"
#include "model/weights.h"

namespace as {

// y = act_quant(x) · Wᵀ + b. `act_quant`, when set, fake-quantizes the input activations
// (how a W8A8 / FP8 scheme is simulated on CPU); `w` is the (possibly dequantized) weight.
struct Linear {
  std::string name;  // HF module name, e.g. "model.layers.0.self_attn.q_proj"
  torch::Tensor w;   // [out, in]
  torch::Tensor b;   // [out] or undefined
  std::function<torch::Tensor(const torch::Tensor&)> act_quant;
  torch::Tensor operator()(const torch::Tensor& x) const;
};

struct LayerWeights {
  torch::Tensor input_norm, post_norm;  // [H]
  torch::Tensor q_norm, k_norm;         // [head_dim] (Qwen3) or undefined
  Linear q, k, v, o, gate, up, down;
  bool loaded = false;
  std::vector<Linear*> linears();
};

struct KVCache {
  std::vector<torch::Tensor> k, v;  // per layer: [B, n_kv, capacity, head_dim]
  int64_t length = 0;               // positions filled
  int64_t capacity = 0;
};

struct ForwardHooks {
  // Called with each decoder layer's input and output hidden states ([B, T, H]).
  std::function<void(int layer, const torch::Tensor& input, const torch::Tensor& output)> on_layer;
  // Called with the input of every linear, by its HF module name.
  std::function<void(const std::string& linear, const torch::Tensor& input)> on_linear_input;
  // Hidden states after these layers (-1 = the embeddings) are appended to `captured`.
  std::vector<int> capture_layers;
  std::vector<torch::Tensor>* captured = nullptr;
};

struct LoadOptions {
  torch::ScalarType dtype = torch::kFloat32;  // compute dtype: kFloat32 or kBFloat16
  bool stream_layers = false;  // keep decoder layers on disk; load_layer()/unload_layer() on demand
  bool load_tokenizer = true;
};

class Model {
 public:
  // `path`: an HF model directory, or a llama2.c checkpoint (.bin, its tokenizer.bin found next to
  // it or given via `tokenizer_path`).
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& opts = {},
                                     const std::string& tokenizer_path = "");
  // Wraps an existing config + store (tests, conversion, quantized views).
  Model(ModelConfig cfg, std::shared_ptr<WeightStore> store, const LoadOptions& opts);

  const ModelConfig& config() const { return cfg_; }
  torch::ScalarType dtype() const { return dtype_; }
  const Tokenizer& tokenizer() const;
  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  void set_tokenizer(std::shared_ptr<Tokenizer> t) { tokenizer_ = std::move(t); }
  const std::string& path() const { return path_; }
  WeightStore& store() const { return *store_; }

  // ids: [B, T] int64. Returns fp32 logits [B, T, V]. With a cache, positions continue from
  // cache->length and the cache is extended. Loads streamed layers on the fly.
  torch::Tensor forward(const torch::Tensor& ids, KVCache* cache = nullptr,
                        const ForwardHooks* hooks = nullptr);
  // Pieces of forward() for layer-by-layer execution.
  torch::Tensor embed(const torch::Tensor& ids) const;                 // [B,T] -> [B,T,H]
  torch::Tensor run_layer(int i, const torch::Tensor& h, int64_t pos0, KVCache* cache = nullptr,
                          const ForwardHooks* hooks = nullptr);         // [B,T,H] -> [B,T,H]
  torch::Tensor head(const torch::Tensor& h) const;                    // [B,T,H] -> fp32 logits

  KVCache new_cache(int64_t batch, int64_t capacity) const;

  LayerWeights& layer(int i);  // loads it when streamed
  void load_layer(int i);
  void unload_layer(int i);
  int num_layers() const { return static_cast<int>(cfg_.num_layers); }
  bool streams_layers() const { return stream_layers_; }
  // Embedding / final norm / lm_head (tied -> same tensor as embedding).
  torch::Tensor& embed_tokens() { return embed_; }
  torch::Tensor& final_norm() { return norm_; }
  Linear& lm_head() { return lm_head_; }
  // Applied to every Linear of every layer, now and whenever a layer is (re)loaded (e.g. to install
  // activation quantizers of a quantized checkpoint).
  void set_linear_patch(std::function<void(Linear&)> patch);
  // Names of non-finite weights found while loading (warned about, not fatal).
  const std::vector<std::string>& nonfinite_tensors() const { return nonfinite_; }

 private:
  torch::Tensor load_tensor(const std::string& name, bool required = true);
  void build_rope();
  torch::Tensor attention(int i, LayerWeights& L, const torch::Tensor& x, int64_t pos0, KVCache* cache,
                          const ForwardHooks* hooks);

  ModelConfig cfg_;
  std::shared_ptr<WeightStore> store_;
  std::shared_ptr<Tokenizer> tokenizer_;
  torch::ScalarType dtype_;
  bool stream_layers_;
  std::string path_;
  torch::Tensor embed_, norm_;
  Linear lm_head_;
  std::vector<LayerWeights> layers_;
  torch::Tensor inv_freq_;  // [head_dim/2] fp32, rope scaling applied
  double rope_pos_scale_ = 1.0;
  std::vector<std::string> nonfinite_;
  std::function<void(Linear&)> linear_patch_;
};

// Prompt ids as generation/eval use them: BOS (when the tokenizer wants one) + encode(text).
std::vector<int32_t> encode_with_bos(const Tokenizer& tok, const std::string& text);

}  // namespace as
