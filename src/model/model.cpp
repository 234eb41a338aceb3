#include "model/model.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "io/llama2c.h"
#include "model/llama2c_import.h"
#include "model/model_loaders.h"
#include "model/quantized_checkpoint.h"

namespace fs = std::filesystem;

namespace as {
namespace {

// RMSNorm as HF computes it: normalize in fp32, cast back, then scale.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  auto xf = x.to(torch::kFloat32);
  auto r = torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return w * (xf * r).to(x.scalar_type());
}

std::string layer_prefix(int i) { return "model.layers." + std::to_string(i) + "."; }

bool has_safetensors(const std::string& dir) {
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") return true;
    if (e.path().filename() == "model.safetensors.index.json") return true;
  }
  return false;
}

}  // namespace

torch::Tensor Linear::operator()(const torch::Tensor& x) const {
  const torch::Tensor& in = act_quant ? act_quant(x) : x;
  return b.defined() ? torch::linear(in, w, b) : torch::linear(in, w);
}

std::vector<Linear*> LayerWeights::linears() { return {&q, &k, &v, &o, &gate, &up, &down}; }

std::vector<int32_t> encode_with_bos(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids;
  if (tok.add_bos() && tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  auto body = tok.encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opts, const std::string& tok_path) {
  if (auto m = load_with_registered_loader(path, opts, tok_path)) return m;
  if (is_directory(path)) {
    const std::string cfg_path = (fs::path(path) / "config.json").string();
    if (!file_exists(cfg_path)) throw Error(path + ": not a model directory (no config.json)");
    ModelConfig cfg = load_model_config(cfg_path);
    if (!has_safetensors(path))
      throw Error(path + ": no weights found (expected model.safetensors or model.safetensors.index.json)");
    const bool quantized = is_compressed_tensors_dir(path);
    std::shared_ptr<WeightStore> store =
        quantized ? open_compressed_tensors_store(path) : std::shared_ptr<WeightStore>(open_safetensors_store(path));
    auto m = std::make_unique<Model>(cfg, store, opts);
    m->path_ = path;
    if (quantized) install_activation_quantizers(*m, path);
    if (opts.load_tokenizer) {
      std::string tp = !tok_path.empty() ? tok_path : find_tokenizer_file(path);
      if (!tp.empty()) m->tokenizer_ = load_tokenizer(tp);
    }
    return m;
  }
  if (!file_exists(path)) throw Error(path + ": model path does not exist");
  if (looks_like_llama2c(path)) {
    Llama2cImport imp = import_llama2c(path);
    auto m = std::make_unique<Model>(imp.config, imp.store, opts);
    m->path_ = path;
    if (opts.load_tokenizer) {
      std::string tp = !tok_path.empty() ? tok_path : find_llama2c_tokenizer(path);
      if (!tp.empty()) m->tokenizer_ = load_tokenizer(tp);
    }
    return m;
  }
  if (fs::path(path).extension() == ".safetensors")
    throw Error(path + ": a bare .safetensors file has no config; pass its model directory");
  throw Error(path + ": not a model directory or llama2.c checkpoint (read as llama2.c: " + llama2c_diagnosis(path) +
              ")");
}

Model::Model(ModelConfig cfg, std::shared_ptr<WeightStore> store, const LoadOptions& opts)
    : cfg_(std::move(cfg)), store_(std::move(store)), dtype_(opts.dtype), stream_layers_(opts.stream_layers) {
  if (dtype_ != torch::kFloat32 && dtype_ != torch::kBFloat16)
    throw Error("model compute dtype must be float32 or bfloat16");
  path_ = store_->location();
  layers_.resize(static_cast<size_t>(cfg_.num_layers));
  embed_ = load_tensor("model.embed_tokens.weight");
  if (embed_.dim() != 2 || embed_.size(0) != cfg_.vocab_size || embed_.size(1) != cfg_.hidden_size)
    throw Error(store_->location() + ": tensor 'model.embed_tokens.weight' has shape " +
                c10::str(embed_.sizes()) + ", expected [" + std::to_string(cfg_.vocab_size) + ", " +
                std::to_string(cfg_.hidden_size) + "]");
  norm_ = load_tensor("model.norm.weight");
  lm_head_.name = "lm_head";
  if (cfg_.tie_word_embeddings || !store_->contains("lm_head.weight")) {
    if (!cfg_.tie_word_embeddings)
      throw Error(store_->location() + ": tensor 'lm_head.weight' not found and tie_word_embeddings is false");
    lm_head_.w = embed_;
  } else {
    lm_head_.w = load_tensor("lm_head.weight");
  }
  build_rope();
  if (!stream_layers_)
    for (int i = 0; i < num_layers(); ++i) load_layer(i);
}

const Tokenizer& Model::tokenizer() const {
  if (!tokenizer_) throw Error(path_ + ": model has no tokenizer (none found next to the weights)");
  return *tokenizer_;
}

torch::Tensor Model::load_tensor(const std::string& name, bool required) {
  if (!store_->contains(name)) {
    if (!required) return {};
    throw Error(store_->location() + ": required tensor '" + name + "' not found");
  }
  auto t = store_->load(name, dtype_);
  if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) {
    int64_t bad = (~torch::isfinite(t)).sum().item<int64_t>();
    log_warn(store_->location() + ": tensor '" + name + "' has " + std::to_string(bad) + " non-finite values (NaN/Inf)");
    nonfinite_.push_back(name);
  }
  return t;
}

void Model::build_rope() {
  const int64_t half = cfg_.head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  const auto& rs = cfg_.rope_scaling;
  for (int64_t i = 0; i < half; ++i) {
    double f = std::pow(cfg_.rope_theta, -2.0 * double(i) / double(cfg_.head_dim));
    if (rs.type == "llama3") {
      const double low_wl = double(rs.original_max_position) / rs.low_freq_factor;
      const double high_wl = double(rs.original_max_position) / rs.high_freq_factor;
      const double wl = 2.0 * M_PI / f;
      if (wl > low_wl) {
        f = f / rs.factor;
      } else if (wl >= high_wl) {
        const double smooth = (double(rs.original_max_position) / wl - rs.low_freq_factor) /
                              (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }
    }
    inv[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  inv_freq_ = torch::from_blob(inv.data(), {half}, torch::kFloat32).clone();
  rope_pos_scale_ = rs.type == "linear" ? 1.0 / rs.factor : 1.0;
}

void Model::load_layer(int i) {
  LayerWeights& L = layers_.at(static_cast<size_t>(i));
  if (L.loaded) return;
  const std::string p = layer_prefix(i);
  auto lin = [&](Linear& l, const std::string& name, bool bias, int64_t out, int64_t in) {
    l.name = p + name;
    l.w = load_tensor(l.name + ".weight");
    if (l.w.dim() != 2 || l.w.size(0) != out || l.w.size(1) != in)
      throw Error(store_->location() + ": tensor '" + l.name + ".weight' has shape " + c10::str(l.w.sizes()) +
                  ", expected [" + std::to_string(out) + ", " + std::to_string(in) + "]");
    l.b = bias ? load_tensor(l.name + ".bias") : load_tensor(l.name + ".bias", /*required=*/false);
  };
  const int64_t H = cfg_.hidden_size, F = cfg_.intermediate_size;
  L.input_norm = load_tensor(p + "input_layernorm.weight");
  L.post_norm = load_tensor(p + "post_attention_layernorm.weight");
  lin(L.q, "self_attn.q_proj", cfg_.qkv_bias, cfg_.q_dim(), H);
  lin(L.k, "self_attn.k_proj", cfg_.qkv_bias, cfg_.kv_dim(), H);
  lin(L.v, "self_attn.v_proj", cfg_.qkv_bias, cfg_.kv_dim(), H);
  lin(L.o, "self_attn.o_proj", cfg_.o_bias, H, cfg_.q_dim());
  lin(L.gate, "mlp.gate_proj", cfg_.mlp_bias, F, H);
  lin(L.up, "mlp.up_proj", cfg_.mlp_bias, F, H);
  lin(L.down, "mlp.down_proj", cfg_.mlp_bias, H, F);
  if (cfg_.qk_norm) {
    L.q_norm = load_tensor(p + "self_attn.q_norm.weight");
    L.k_norm = load_tensor(p + "self_attn.k_norm.weight");
  }
  L.loaded = true;
  if (linear_patch_)
    for (auto* l : L.linears()) linear_patch_(*l);
}

void Model::set_linear_patch(std::function<void(Linear&)> patch) {
  linear_patch_ = std::move(patch);
  for (auto& L : layers_)
    if (L.loaded)
      for (auto* l : L.linears()) linear_patch_(*l);
}

void Model::unload_layer(int i) {
  LayerWeights& L = layers_.at(static_cast<size_t>(i));
  if (!L.loaded) return;
  for (auto* l : L.linears()) {
    store_->release(l->name + ".weight");
    l->w = torch::Tensor();
    l->b = torch::Tensor();
  }
  L.input_norm = L.post_norm = L.q_norm = L.k_norm = torch::Tensor();
  L.loaded = false;
}

LayerWeights& Model::layer(int i) {
  load_layer(i);
  return layers_.at(static_cast<size_t>(i));
}

KVCache Model::new_cache(int64_t batch, int64_t capacity) const {
  KVCache c;
  c.capacity = capacity;
  auto opts = torch::TensorOptions().dtype(dtype_);
  for (int i = 0; i < num_layers(); ++i) {
    c.k.push_back(torch::zeros({batch, cfg_.num_kv_heads, capacity, cfg_.head_dim}, opts));
    c.v.push_back(torch::zeros({batch, cfg_.num_kv_heads, capacity, cfg_.head_dim}, opts));
  }
  return c;
}

torch::Tensor Model::embed(const torch::Tensor& ids) const {
  if (ids.numel() > 0) {
    int64_t mn = ids.min().item<int64_t>(), mx = ids.max().item<int64_t>();
    if (mn < 0 || mx >= cfg_.vocab_size)
      throw Error("token id " + std::to_string(mn < 0 ? mn : mx) + " out of range for vocab size " +
                  std::to_string(cfg_.vocab_size));
  }
  return torch::embedding(embed_, ids);
}

torch::Tensor Model::attention(int i, LayerWeights& L, const torch::Tensor& x, int64_t pos0, KVCache* cache,
                               const ForwardHooks* hooks) {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t nh = cfg_.num_heads, nkv = cfg_.num_kv_heads, hd = cfg_.head_dim, g = nh / nkv;
  if (hooks && hooks->on_linear_input) {
    hooks->on_linear_input(L.q.name, x);
    hooks->on_linear_input(L.k.name, x);
    hooks->on_linear_input(L.v.name, x);
  }
  auto q = L.q(x).view({B, T, nh, hd});
  auto k = L.k(x).view({B, T, nkv, hd});
  auto v = L.v(x).view({B, T, nkv, hd});
  if (cfg_.qk_norm) {
    q = rms_norm(q, L.q_norm, cfg_.rms_norm_eps);
    k = rms_norm(k, L.k_norm, cfg_.rms_norm_eps);
  }
  // RoPE, rotate-half (NEOX) layout: element j pairs with j + hd/2.
  auto pos = torch::arange(pos0, pos0 + T, torch::kFloat32) * static_cast<float>(rope_pos_scale_);
  auto ang = torch::outer(pos, inv_freq_);  // [T, hd/2]
  auto cos = ang.cos().to(dtype_).view({1, T, 1, hd / 2});
  auto sin = ang.sin().to(dtype_).view({1, T, 1, hd / 2});
  auto rope = [&](const torch::Tensor& t) {
    auto t1 = t.narrow(-1, 0, hd / 2), t2 = t.narrow(-1, hd / 2, hd / 2);
    return torch::cat({t1 * cos - t2 * sin, t2 * cos + t1 * sin}, -1);
  };
  q = rope(q).transpose(1, 2);  // [B, nh, T, hd]
  k = rope(k).transpose(1, 2);  // [B, nkv, T, hd]
  v = v.transpose(1, 2);
  torch::Tensor K, V;
  int64_t S = T;
  if (cache) {
    if (pos0 + T > cache->capacity)
      throw Error("KV cache capacity " + std::to_string(cache->capacity) + " exceeded at position " +
                  std::to_string(pos0 + T));
    cache->k[static_cast<size_t>(i)].narrow(2, pos0, T).copy_(k);
    cache->v[static_cast<size_t>(i)].narrow(2, pos0, T).copy_(v);
    S = pos0 + T;
    K = cache->k[static_cast<size_t>(i)].narrow(2, 0, S);
    V = cache->v[static_cast<size_t>(i)].narrow(2, 0, S);
  } else {
    K = k;
    V = v;
  }
  // GQA without copying K/V: group the g query heads that share a kv head along the row axis.
  auto qg = q.reshape({B, nkv, g * T, hd}) * (1.0 / std::sqrt(double(hd)));
  auto scores = torch::matmul(qg, K.transpose(-1, -2));  // [B, nkv, g*T, S]
  if (scores.scalar_type() != torch::kFloat32) scores = scores.to(torch::kFloat32);
  if (T > 1) {
    // query t (absolute pos0 + t) may see keys s <= pos0 + t; rows are (group, t)
    auto qpos = torch::arange(pos0, pos0 + T, torch::kLong).view({1, T, 1});
    auto kpos = torch::arange(0, S, torch::kLong).view({1, 1, S});
    auto mask = (kpos > qpos).expand({g, T, S}).reshape({g * T, S});
    scores.masked_fill_(mask, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  if (probs.scalar_type() != dtype_) probs = probs.to(dtype_);
  auto out = torch::matmul(probs, V)                 // [B, nkv, g*T, hd]
                 .view({B, nh, T, hd})
                 .transpose(1, 2)
                 .reshape({B, T, nh * hd});
  if (hooks && hooks->on_linear_input) hooks->on_linear_input(L.o.name, out);
  return L.o(out);
}

torch::Tensor Model::run_layer(int i, const torch::Tensor& h, int64_t pos0, KVCache* cache, const ForwardHooks* hooks) {
  LayerWeights& L = layer(i);
  auto x = rms_norm(h, L.input_norm, cfg_.rms_norm_eps);
  auto h2 = h + attention(i, L, x, pos0, cache, hooks);
  auto x2 = rms_norm(h2, L.post_norm, cfg_.rms_norm_eps);
  if (hooks && hooks->on_linear_input) {
    hooks->on_linear_input(L.gate.name, x2);
    hooks->on_linear_input(L.up.name, x2);
  }
  auto act = torch::silu(L.gate(x2)) * L.up(x2);
  if (hooks && hooks->on_linear_input) hooks->on_linear_input(L.down.name, act);
  auto out = h2 + L.down(act);
  if (hooks) {
    if (hooks->on_layer) hooks->on_layer(i, h, out);
    if (hooks->captured)
      for (int c : hooks->capture_layers)
        if (c == i) hooks->captured->push_back(out);
  }
  return out;
}

torch::Tensor Model::head(const torch::Tensor& h) const {
  auto x = rms_norm(h, norm_, cfg_.rms_norm_eps);
  return lm_head_(x).to(torch::kFloat32);
}

torch::Tensor Model::forward(const torch::Tensor& ids, KVCache* cache, const ForwardHooks* hooks) {
  if (ids.dim() != 2) throw Error("forward: ids must be [batch, seq], got " + c10::str(ids.sizes()));
  torch::NoGradGuard ng;
  const int64_t pos0 = cache ? cache->length : 0;
  if (pos0 + ids.size(1) > cfg_.max_position && !cache)
    log_debug("sequence longer than max_position_embeddings");
  auto h = embed(ids.to(torch::kLong));
  if (hooks && hooks->captured)
    for (int c : hooks->capture_layers)
      if (c == -1) hooks->captured->push_back(h);
  for (int i = 0; i < num_layers(); ++i) {
    h = run_layer(i, h, pos0, cache, hooks);
    if (stream_layers_) unload_layer(i);
  }
  if (cache) cache->length = pos0 + ids.size(1);
  return head(h);
}

}  // namespace as
