#include "export/gguf_export.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "common/log.h"
#include "io/gguf/gguf.h"
#include "model/model.h"

namespace fs = std::filesystem;

namespace as {
namespace {

using gguf::GGMLType;
using gguf::GGUFWriter;
using gguf::Value;

constexpr uint32_t kQuantVersion = 2;  // ggml's GGML_QNT_VERSION
constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's space

bool is_float_type(GGMLType t) { return t == GGMLType::F32 || t == GGMLType::F16 || t == GGMLType::BF16; }
int64_t block_of(GGMLType t) { return gguf::type_traits(t).block_size; }
bool fits(GGMLType t, int64_t row) { return row % block_of(t) == 0; }
std::string tname(GGMLType t) { return gguf::type_name(t); }

// What llama-quantize falls back to when rows do not fit the block (minus the types we do not write).
GGMLType fallback_type(GGMLType t) {
  switch (t) {
    case GGMLType::TQ1_0:
    case GGMLType::TQ2_0:
    case GGMLType::STQ1_0:
    case GGMLType::Q2_K: return GGMLType::Q4_0;
    case GGMLType::Q4_K:
    case GGMLType::Q6_K: return GGMLType::Q8_0;
    default: return GGMLType::F16;
  }
}

struct Entry {
  std::string gguf, hf;
  std::vector<int64_t> shape;  // PyTorch order
  int64_t permute_heads = 0;   // > 0: rotate-half -> interleaved with this many heads
  bool required = true;
  bool matrix = false;
};

std::vector<Entry> tensor_list(const ModelConfig& c, const std::string& arch) {
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, hd = c.head_dim;
  const bool llama = arch == "llama";
  std::vector<Entry> v;
  v.push_back({"token_embd.weight", "model.embed_tokens.weight", {V, H}, 0, true, true});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".", p = "model.layers." + std::to_string(i) + ".";
    auto lin = [&](const std::string& g, const std::string& h, int64_t out, int64_t in, bool bias, int64_t perm) {
      v.push_back({b + g + ".weight", p + h + ".weight", {out, in}, perm, true, true});
      v.push_back({b + g + ".bias", p + h + ".bias", {out}, perm, bias, false});
    };
    v.push_back({b + "attn_norm.weight", p + "input_layernorm.weight", {H}, 0, true, false});
    lin("attn_q", "self_attn.q_proj", c.q_dim(), H, c.qkv_bias, llama ? c.num_heads : 0);
    lin("attn_k", "self_attn.k_proj", c.kv_dim(), H, c.qkv_bias, llama ? c.num_kv_heads : 0);
    lin("attn_v", "self_attn.v_proj", c.kv_dim(), H, c.qkv_bias, 0);
    lin("attn_output", "self_attn.o_proj", H, c.q_dim(), c.o_bias, 0);
    if (c.qk_norm) {
      v.push_back({b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", {hd}, 0, true, false});
      v.push_back({b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", {hd}, 0, true, false});
    }
    v.push_back({b + "ffn_norm.weight", p + "post_attention_layernorm.weight", {H}, 0, true, false});
    lin("ffn_gate", "mlp.gate_proj", F, H, c.mlp_bias, 0);
    lin("ffn_up", "mlp.up_proj", F, H, c.mlp_bias, 0);
    lin("ffn_down", "mlp.down_proj", H, F, c.mlp_bias, 0);
  }
  v.push_back({"output_norm.weight", "model.norm.weight", {H}, 0, true, false});
  return v;
}

// Type of one 2-D weight; appends a line to `fallbacks` when the rows force another type.
GGMLType choose_type(const std::string& name, int64_t row, const GGUFExportOptions& o, bool tied,
                     std::vector<std::string>& fallbacks) {
  const GGMLType req = o.type;
  if (is_float_type(req)) return req;
  GGMLType t = req;
  if (!o.pure) {
    const bool is_output = name == "output.weight" || (tied && name == "token_embd.weight");
    if (is_output) {
      t = !fits(req, row) || req == GGMLType::Q8_0 ? GGMLType::Q8_0 : GGMLType::Q6_K;
    } else if (name == "token_embd.weight" &&
               (req == GGMLType::TQ1_0 || req == GGMLType::TQ2_0 || req == GGMLType::STQ1_0)) {
      t = GGMLType::Q4_K;
    }
  }
  const GGMLType chosen = t;
  while (!fits(t, row) && t != GGMLType::F16) t = fallback_type(t);
  if (t != chosen)
    fallbacks.push_back(name + ": row length " + std::to_string(row) + " is not a multiple of " + tname(chosen) +
                        "'s block of " + std::to_string(block_of(chosen)) + "; wrote " + tname(t));
  return t;
}

// Per-pair RoPE frequency divisors for llama3 scaling, as llama.cpp's rope_freqs.weight stores them.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const auto& rs = c.rope_scaling;
  const double low_wl = double(rs.original_max_position) / rs.low_freq_factor;
  const double high_wl = double(rs.original_max_position) / rs.high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < c.head_dim / 2; ++i) {
    const double f = std::pow(c.rope_theta, -2.0 * double(i) / double(c.head_dim));
    const double wl = 2.0 * M_PI / f;
    double div = 1.0;
    if (wl > low_wl) {
      div = rs.factor;
    } else if (wl >= high_wl) {
      const double s = (double(rs.original_max_position) / wl - rs.low_freq_factor) /
                       (rs.high_freq_factor - rs.low_freq_factor);
      div = 1.0 / ((1.0 - s) / rs.factor + s);
    }
    out.push_back(static_cast<float>(div));
  }
  return out;
}

void add_tokenizer(GGUFWriter& w, const Tokenizer& tok, const ModelConfig& cfg) {
  const int64_t n_tok = tok.vocab_size();
  const int64_t V = cfg.vocab_size;
  if (n_tok > V)
    throw Error("gguf export: the tokenizer has " + std::to_string(n_tok) + " tokens but the model's vocab is " +
                std::to_string(V) + " (llama.cpp needs one embedding row per token)");
  const std::string kind = tok.kind();
  const std::vector<std::string> merges = tok.merges();
  const bool bpe = kind == "bpe_json" || !merges.empty();
  const bool llama2c = kind == "llama2c";
  if (!bpe && kind != "sentencepiece" && !llama2c)
    throw Error("gguf export: tokenizer kind '" + kind + "' has no GGUF equivalent");

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  int32_t unk = -1;
  tokens.reserve(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) {
    const int32_t id = static_cast<int32_t>(i);
    std::string p = i < n_tok ? tok.piece(id) : std::string();
    TokenType tt = i < n_tok ? tok.token_type(id) : TokenType::Unused;
    if (llama2c) {
      // llama2.c stores pieces with plain spaces and its specials as "\n<s>\n".
      if (tt == TokenType::Control || tt == TokenType::Unknown) {
        const size_t a = p.find_first_not_of(" \n"), b = p.find_last_not_of(" \n");
        if (a != std::string::npos) p = p.substr(a, b - a + 1);
      } else if (tt != TokenType::Byte) {
        std::string q;
        for (char ch : p) {
          if (ch == ' ') q += kSpaceSymbol;
          else q += ch;
        }
        p = std::move(q);
      }
    }
    if (p.empty()) {
      p = "[PAD" + std::to_string(i) + "]";
      if (i >= n_tok || tt == TokenType::Normal) tt = TokenType::Unused;
    }
    if (tt == TokenType::Unknown && unk < 0) unk = id;
    tokens.push_back(std::move(p));
    types.push_back(static_cast<int32_t>(tt));
    scores.push_back(i < n_tok ? tok.score(id) : 0.0f);
  }
  if (bpe) {
    w.add_kv("tokenizer.ggml.model", Value("gpt2"));
    const std::string pre = tok.pre_tokenizer();
    std::string gpre = "default";
    if (pre == "llama3") gpre = "llama-bpe";
    else if (pre == "qwen2") gpre = "qwen2";
    else if (pre == "gpt2") gpre = "gpt-2";
    w.add_kv("tokenizer.ggml.pre", Value(gpre));
    w.add_kv("tokenizer.ggml.tokens", Value(tokens));
    w.add_kv("tokenizer.ggml.token_type", Value(types));
    w.add_kv("tokenizer.ggml.merges", Value(merges));
  } else {
    w.add_kv("tokenizer.ggml.model", Value("llama"));
    w.add_kv("tokenizer.ggml.pre", Value("default"));
    w.add_kv("tokenizer.ggml.tokens", Value(tokens));
    w.add_kv("tokenizer.ggml.scores", Value(scores));
    w.add_kv("tokenizer.ggml.token_type", Value(types));
  }
  int64_t eos = tok.eos_id();
  if (eos < 0 && !cfg.eos_token_ids.empty()) eos = cfg.eos_token_ids[0];
  int64_t bos = tok.bos_id();
  if (bos < 0 && cfg.bos_token_id >= 0) bos = cfg.bos_token_id;
  if (bos >= 0) w.add_kv("tokenizer.ggml.bos_token_id", Value(static_cast<uint32_t>(bos)));
  if (eos >= 0) w.add_kv("tokenizer.ggml.eos_token_id", Value(static_cast<uint32_t>(eos)));
  if (unk >= 0) w.add_kv("tokenizer.ggml.unknown_token_id", Value(static_cast<uint32_t>(unk)));
  w.add_kv("tokenizer.ggml.add_bos_token", Value(tok.add_bos() && tok.bos_id() >= 0));
  w.add_kv("tokenizer.ggml.add_eos_token", Value(false));
}

// Quantizes a float tensor [rows, row] (contiguous) into dst, rows in parallel.
void quantize_rows(GGMLType t, const float* src, uint8_t* dst, int64_t rows, int64_t row, const std::string& ctx) {
  const uint64_t rb = gguf::row_size(t, row, ctx);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(row, 1));
  at::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    gguf::quantize(t, src + b * row, dst + static_cast<uint64_t>(b) * rb, (e - b) * row, ctx);
  });
}

std::string default_name(const std::string& location) {
  fs::path p(location);
  if (p.filename().empty()) p = p.parent_path();
  return p.stem().string();
}

}  // namespace

std::string gguf_architecture(const ModelConfig& cfg) {
  if (cfg.model_type == "llama" || cfg.model_type == "qwen2" || cfg.model_type == "qwen3") return cfg.model_type;
  throw Error("gguf export: architecture '" + cfg.architecture + "' (model_type '" + cfg.model_type +
              "') is not supported (supported: llama, qwen2, qwen3)");
}

uint32_t gguf_file_type(GGMLType t) {
  switch (t) {
    case GGMLType::F32: return 0;
    case GGMLType::F16: return 1;
    case GGMLType::Q4_0: return 2;
    case GGMLType::Q8_0: return 7;
    case GGMLType::Q2_K: return 10;
    case GGMLType::Q4_K: return 14;  // Q4_K_S: Q4_K with a higher-precision output matrix
    case GGMLType::Q6_K: return 18;
    case GGMLType::BF16: return 32;
    case GGMLType::TQ1_0: return 36;
    case GGMLType::TQ2_0: return 37;
    case GGMLType::STQ1_0: return 1024;  // LLAMA_FTYPE_GUESSED: upstream has no ftype for it
    default: break;
  }
  std::string names;
  for (const auto& n : gguf_export_type_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error("gguf export: type " + std::string(gguf::type_name(t)) + " is not supported (supported: " + names + ")");
}

std::vector<std::string> gguf_export_type_names() {
  return {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q2_K", "TQ1_0", "TQ2_0", "STQ1_0"};
}

torch::Tensor permute_half_to_interleaved(const torch::Tensor& w, int64_t n_heads) {
  const int64_t rows = w.size(0), hd = rows / n_heads;
  // row h*hd + p*hd/2 + j  ->  row h*hd + 2j + p
  return w.reshape({n_heads, 2, hd / 2, -1}).transpose(1, 2).reshape(w.sizes()).contiguous();
}

GGUFExportResult export_gguf(const ModelConfig& cfg, const WeightStore& store, const Tokenizer& tok,
                             const std::string& out_path, const GGUFExportOptions& opts) {
  cfg.validate("gguf export");
  const std::string arch = gguf_architecture(cfg);
  GGUFExportResult res;
  res.path = out_path;
  res.architecture = arch;
  res.file_type = gguf_file_type(opts.type);
  if (cfg.rope_scaling.type == "llama3" && arch != "llama")
    throw Error("gguf export: llama3 rope scaling is only expressible for general.architecture llama");

  GGUFWriter w;
  const std::string name = opts.name.empty() ? default_name(store.location()) : opts.name;
  w.add_kv("general.architecture", Value(arch));
  w.add_kv("general.type", Value("model"));
  w.add_kv("general.name", Value(name));
  auto u32 = [](int64_t v) { return Value(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return Value(static_cast<float>(v)); };
  w.add_kv(arch + ".vocab_size", u32(cfg.vocab_size));
  w.add_kv(arch + ".context_length", u32(cfg.max_position));
  w.add_kv(arch + ".embedding_length", u32(cfg.hidden_size));
  w.add_kv(arch + ".block_count", u32(cfg.num_layers));
  w.add_kv(arch + ".feed_forward_length", u32(cfg.intermediate_size));
  w.add_kv(arch + ".attention.head_count", u32(cfg.num_heads));
  w.add_kv(arch + ".attention.head_count_kv", u32(cfg.num_kv_heads));
  w.add_kv(arch + ".attention.key_length", u32(cfg.head_dim));
  w.add_kv(arch + ".attention.value_length", u32(cfg.head_dim));
  w.add_kv(arch + ".attention.layer_norm_rms_epsilon", f32(cfg.rms_norm_eps));
  w.add_kv(arch + ".rope.dimension_count", u32(cfg.head_dim));
  w.add_kv(arch + ".rope.freq_base", f32(cfg.rope_theta));
  if (cfg.rope_scaling.type == "linear") {
    w.add_kv(arch + ".rope.scaling.type", Value("linear"));
    w.add_kv(arch + ".rope.scaling.factor", f32(cfg.rope_scaling.factor));
  }
  add_tokenizer(w, tok, cfg);

  const bool tied = cfg.tie_word_embeddings || !store.contains("lm_head.weight");
  std::vector<Entry> entries = tensor_list(cfg, arch);
  if (!tied) entries.push_back({"output.weight", "lm_head.weight", {cfg.vocab_size, cfg.hidden_size}, 0, true, true});
  if (cfg.rope_scaling.type == "llama3") {
    const std::vector<float> rf = llama3_rope_factors(cfg);
    w.add_tensor("rope_freqs.weight", GGMLType::F32, {static_cast<int64_t>(rf.size())}, rf.data());
    res.tensors.push_back({"rope_freqs.weight", "", GGMLType::F32, {static_cast<int64_t>(rf.size())}});
  }

  bool quantized = false;
  for (const Entry& e : entries) {
    if (!store.contains(e.hf)) {
      if (e.required) throw Error(store.location() + ": required tensor '" + e.hf + "' not found");
      continue;
    }
    std::vector<int64_t> ne(e.shape.rbegin(), e.shape.rend());
    const GGMLType t = e.matrix ? choose_type(e.gguf, ne[0], opts, tied, res.fallbacks) : GGMLType::F32;
    quantized = quantized || !is_float_type(t);
    res.tensors.push_back({e.gguf, e.hf, t, ne});
    const WeightStore* st = &store;
    w.add_tensor_lazy(e.gguf, t, ne, [st, e, t](uint8_t* dst, uint64_t) {
      torch::NoGradGuard ng;
      torch::Tensor x = st->load(e.hf, torch::kFloat32);
      if (x.sizes().vec() != e.shape)
        throw Error(st->location() + ": tensor '" + e.hf + "' has shape " + c10::str(x.sizes()) + ", expected " +
                    c10::str(c10::IntArrayRef(e.shape)));
      if (e.permute_heads > 0) x = permute_half_to_interleaved(x, e.permute_heads);
      x = x.contiguous();
      const int64_t row = e.shape.back(), rows = x.numel() / row;
      quantize_rows(t, x.data_ptr<float>(), dst, rows, row, "gguf export: tensor '" + e.gguf + "'");
      st->release(e.hf);
    });
  }
  if (quantized) w.add_kv("general.quantization_version", Value(kQuantVersion));
  w.add_kv("general.file_type", Value(res.file_type));
  // One warning per kind of fallback (a model has the same shapes in every layer).
  std::map<std::string, std::pair<int, std::string>> kinds;
  for (const auto& f : res.fallbacks) {
    const size_t colon = f.find(": ");
    auto& k = kinds[f.substr(colon + 2)];
    if (k.first++ == 0) k.second = f.substr(0, colon);
  }
  for (const auto& [what, k] : kinds)
    log_warn("gguf export: " + what + " (" + std::to_string(k.first) + (k.first == 1 ? " tensor: " : " tensors, e.g. ") +
             k.second + ")");
  w.write(out_path);
  res.bytes = fs::file_size(out_path);
  return res;
}

GGUFExportResult export_gguf(const Model& model, const std::string& out_path, const GGUFExportOptions& opts) {
  GGUFExportOptions o = opts;
  if (o.name.empty()) o.name = default_name(model.path());
  return export_gguf(model.config(), model.store(), model.tokenizer(), out_path, o);
}

}  // namespace as
