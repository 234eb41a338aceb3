// A tiny Llama-shaped export model for the compressed-tensors tests: one decoder layer with
// q/k/v/o and gate/up/down projections, embeddings, norms and an untied lm_head. Codes, scales and
// zero points are deterministic pseudo-random values valid for the scheme.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/compressed_tensors/ct_writer.h"
#include "kernels/fp8.h"
#include "kernels/half.h"

namespace as::ct::test {

struct Shape {
  std::string name;
  int64_t n, k;
};

inline constexpr int64_t kHidden = 64;
inline constexpr int64_t kInter = 128;
inline constexpr int64_t kVocab = 32;

inline std::vector<Shape> layer_shapes(int64_t hidden = kHidden, int64_t inter = kInter) {
  const std::string p = "model.layers.0.";
  return {{p + "self_attn.q_proj", hidden, hidden},   {p + "self_attn.k_proj", hidden / 2, hidden},
          {p + "self_attn.v_proj", hidden / 2, hidden}, {p + "self_attn.o_proj", hidden, hidden},
          {p + "mlp.gate_proj", inter, hidden},        {p + "mlp.up_proj", inter, hidden},
          {p + "mlp.down_proj", hidden, inter}};
}

inline PlainTensor bf16_tensor(const std::string& name, std::vector<int64_t> shape, uint32_t seed) {
  PlainTensor t;
  t.name = name;
  t.dtype = DType::BF16;
  t.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  t.bytes.resize(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = kernels::f32_to_bf16(u(rng));
    std::memcpy(t.bytes.data() + 2 * i, &h, 2);
  }
  return t;
}

// Fills one linear for `scheme` (weights already normalized: strategy etc. set).
inline QuantizedLinear make_linear(const std::string& name, int64_t n, int64_t k, const ConfigGroup& scheme,
                                   uint32_t seed, DType scale_dtype = DType::BF16) {
  QuantizedLinear l;
  l.name = name;
  l.scheme = scheme;
  l.out_features = n;
  l.in_features = k;
  const QuantArgs& w = *scheme.weights;
  std::mt19937 rng(seed);
  if (w.type == QuantType::Int) {
    std::uniform_int_distribution<int> d(w.qmin(), w.qmax());
    l.codes.resize(static_cast<size_t>(n * k));
    for (auto& c : l.codes) c = static_cast<int8_t>(d(rng));
  } else {
    std::uniform_real_distribution<float> d(-448.0f, 448.0f);
    l.fp8.resize(static_cast<size_t>(n * k));
    for (auto& b : l.fp8) b = kernels::f32_to_e4m3(d(rng));
  }
  const auto ss = weight_scale_shape(w, n, k);
  int64_t ns = 1;
  for (int64_t d : ss) ns *= d;
  std::uniform_real_distribution<float> sd(0.001f, 0.05f);
  l.weight_scale.resize(static_cast<size_t>(ns));
  for (auto& s : l.weight_scale) s = round_scale(sd(rng), scale_dtype);
  if (!w.symmetric) {
    std::uniform_int_distribution<int> d(w.qmin(), w.qmax());
    l.weight_zero_point.resize(static_cast<size_t>(ns));
    for (auto& z : l.weight_zero_point) z = static_cast<int8_t>(d(rng));
  }
  if (w.actorder == ActOrder::Group) {
    const int64_t groups = num_groups(w, k);
    l.g_idx.resize(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) l.g_idx[i] = static_cast<int32_t>(i % groups);  // interleaved groups
  }
  if (scheme.input_activations && !scheme.input_activations->is_dynamic()) {
    l.input_scale = round_scale(0.0123f + 0.001f * static_cast<float>(seed % 7), scale_dtype);
    if (!scheme.input_activations->symmetric) l.input_zero_point = static_cast<int8_t>(-3);
  }
  return l;
}

// Model with every linear of one layer quantized by `scheme_for(name, k)`.
inline ExportModel make_model(const std::function<ConfigGroup(const std::string&, int64_t)>& scheme_for,
                              int64_t hidden = kHidden, int64_t inter = kInter, DType scale_dtype = DType::BF16) {
  ExportModel m;
  m.config = {{"architectures", {"LlamaForCausalLM"}},
              {"model_type", "llama"},
              {"hidden_size", hidden},
              {"intermediate_size", inter},
              {"num_hidden_layers", 1},
              {"vocab_size", kVocab},
              {"tie_word_embeddings", false},
              {"torch_dtype", "bfloat16"}};
  m.tensors.push_back(bf16_tensor("model.embed_tokens.weight", {kVocab, hidden}, 1));
  m.tensors.push_back(bf16_tensor("model.norm.weight", {hidden}, 2));
  m.tensors.push_back(bf16_tensor("model.layers.0.input_layernorm.weight", {hidden}, 3));
  m.tensors.push_back(bf16_tensor("model.layers.0.post_attention_layernorm.weight", {hidden}, 4));
  m.tensors.push_back(bf16_tensor("lm_head.weight", {kVocab, hidden}, 5));
  uint32_t seed = 100;
  for (const Shape& s : layer_shapes(hidden, inter))
    m.linears.push_back(make_linear(s.name, s.n, s.k, scheme_for(s.name, s.k), seed++, scale_dtype));
  return m;
}

inline ExportModel make_model(const ConfigGroup& scheme, int64_t hidden = kHidden, int64_t inter = kInter) {
  return make_model([&](const std::string&, int64_t) { return scheme; }, hidden, inter);
}

// Reference dequantization straight from the QuantizedLinear inputs.
inline std::vector<float> reference_dequant(const QuantizedLinear& l, DType scale_dtype = DType::BF16) {
  const QuantArgs& w = *l.scheme.weights;
  const int64_t n = l.out_features, k = l.in_features;
  const auto ss = weight_scale_shape(w, n, k);
  const int64_t sc = ss.size() == 2 ? ss[1] : 1;
  std::vector<float> out(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t si = 0;
      switch (w.strategy) {
        case Strategy::Channel: si = r; break;
        case Strategy::Group:
          si = r * sc + (l.g_idx.empty() ? c / *w.group_size : l.g_idx[c]);
          break;
        case Strategy::Block:
          si = (r / (*w.block_structure)[0]) * sc + c / (*w.block_structure)[1];
          break;
        default: si = 0;
      }
      const float s = round_scale(l.weight_scale[si], scale_dtype);
      if (w.type == QuantType::Float) {
        out[r * k + c] = kernels::e4m3_to_f32(l.fp8[r * k + c]) * s;
      } else {
        const int z = l.weight_zero_point.empty() ? 0 : l.weight_zero_point[si];
        out[r * k + c] = static_cast<float>(l.codes[r * k + c] - z) * s;
      }
    }
  return out;
}

}  // namespace as::ct::test
