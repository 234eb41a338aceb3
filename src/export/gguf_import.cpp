#include "export/gguf_import.h"

#include <ATen/Parallel.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "model/llama2c_import.h"
#include "model/model_loaders.h"

namespace fs = std::filesystem;

namespace as {
namespace {

using gguf::GGUFFile;
using gguf::GGUFTensor;

// ---------------------------------------------------------------------------------------------
// Config

int64_t scalar_int(const GGUFFile& f, const std::string& key) {
  const gguf::Value& v = f.value(key);
  if (v.is_array())
    throw Error(f.path() + ": key '" + key + "' is a per-layer array (" + v.type_str() + "), which is not supported");
  return f.get_int(key);
}
int64_t int_or(const GGUFFile& f, const std::string& key, int64_t fallback) {
  return f.has(key) ? scalar_int(f, key) : fallback;
}
double double_or(const GGUFFile& f, const std::string& key, double fallback) {
  return f.has(key) ? f.get_double(key) : fallback;
}

// Recovers llama3 rope scaling parameters from llama.cpp's per-pair divisors (rope_freqs.weight).
// The divisor depends on the frequency only through s = clamp(a/wavelength + b, 0, 1) and the
// factor F, so (F, a, b) are fitted and mapped back with low_freq_factor = 1.
void fit_llama3_rope(const GGUFFile& f, ModelConfig& c) {
  const std::vector<float> d = f.to_float("rope_freqs.weight");
  if (static_cast<int64_t>(d.size()) != c.head_dim / 2)
    throw Error(f.path() + ": tensor 'rope_freqs.weight' has " + std::to_string(d.size()) + " values, expected " +
                std::to_string(c.head_dim / 2));
  double F = 1.0;
  for (float v : d) F = std::max(F, double(v));
  if (F <= 1.0 + 1e-6) return;
  std::vector<double> xs, ss;
  double x_one = 1e300, x_full = -1e300;  // smallest x with divisor 1, largest x with divisor F
  for (size_t i = 0; i < d.size(); ++i) {
    const double freq = std::pow(c.rope_theta, -2.0 * double(i) / double(c.head_dim));
    const double x = freq / (2.0 * M_PI);  // 1 / wavelength
    const double s = (1.0 / d[i] - 1.0 / F) / (1.0 - 1.0 / F);
    if (s >= 1.0 - 1e-5) x_one = std::min(x_one, x);
    else if (s <= 1e-5) x_full = std::max(x_full, x);
    else {
      xs.push_back(x);
      ss.push_back(s);
    }
  }
  double a, b;
  if (xs.size() >= 2) {
    double mx = 0, ms = 0;
    for (size_t i = 0; i < xs.size(); ++i) mx += xs[i], ms += ss[i];
    mx /= double(xs.size());
    ms /= double(xs.size());
    double sxx = 0, sxs = 0;
    for (size_t i = 0; i < xs.size(); ++i) sxx += (xs[i] - mx) * (xs[i] - mx), sxs += (xs[i] - mx) * (ss[i] - ms);
    a = sxs / sxx;
    b = ms - a * mx;
  } else if (x_one < 1e299 && x_full > -1e299 && x_one > x_full) {
    if (!xs.empty()) log_warn(f.path() + ": llama3 rope scaling recovered approximately (one transition frequency)");
    a = 1.0 / (x_one - x_full);
    b = -a * x_full;
  } else {
    throw Error(f.path() + ": tensor 'rope_freqs.weight' does not look like llama3 rope scaling");
  }
  if (!(a > 0) || !(b < 0))
    throw Error(f.path() + ": tensor 'rope_freqs.weight' does not look like llama3 rope scaling");
  // s = O/(hf-lf) * x - lf/(hf-lf): a = O/(hf-lf), b = -lf/(hf-lf). O is an integer; pick it as if
  // lf were 1, then solve lf and hf exactly for (a, b).
  const int64_t O = std::max<int64_t>(1, std::llround(a * (-1.0 / b)));
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = F;
  c.rope_scaling.original_max_position = O;
  c.rope_scaling.low_freq_factor = -b * double(O) / a;
  c.rope_scaling.high_freq_factor = c.rope_scaling.low_freq_factor + double(O) / a;
}

// ---------------------------------------------------------------------------------------------
// Weights

struct Source {
  std::string gguf;
  int64_t permute_heads = 0;  // > 0: interleaved -> rotate-half with this many heads
};

// GGUF tensor name -> HF name (empty when the tensor is not part of our model).
std::string hf_name(const std::string& g) {
  if (g == "token_embd.weight") return "model.embed_tokens.weight";
  if (g == "output_norm.weight") return "model.norm.weight";
  if (g == "output.weight") return "lm_head.weight";
  if (!g.starts_with("blk.")) return "";
  const size_t dot = g.find('.', 4);
  if (dot == std::string::npos) return "";
  const std::string layer = g.substr(4, dot - 4);
  if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) return "";
  const std::string rest = g.substr(dot + 1);
  const size_t d2 = rest.rfind('.');
  if (d2 == std::string::npos) return "";
  const std::string base = rest.substr(0, d2), suffix = rest.substr(d2);  // ".weight" / ".bias"
  static const std::map<std::string, std::string> names{
      {"attn_norm", "input_layernorm"},
      {"attn_q", "self_attn.q_proj"},
      {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"},
      {"attn_q_norm", "self_attn.q_norm"},
      {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},
      {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  };
  auto it = names.find(base);
  if (it == names.end()) return "";
  return "model.layers." + layer + "." + it->second + suffix;
}

class GGUFWeightStore final : public WeightStore {
 public:
  GGUFWeightStore(std::shared_ptr<const GGUFFile> f, const ModelConfig& c) : f_(std::move(f)) {
    const bool llama = c.model_type == "llama";
    for (const GGUFTensor& t : f_->tensors()) {
      const std::string hf = hf_name(t.name);
      if (hf.empty()) continue;
      Source s{t.name, 0};
      if (llama && (hf.find(".self_attn.q_proj.") != std::string::npos)) s.permute_heads = c.num_heads;
      if (llama && (hf.find(".self_attn.k_proj.") != std::string::npos)) s.permute_heads = c.num_kv_heads;
      map_[hf] = s;
    }
  }
  bool contains(const std::string& name) const override { return map_.count(name) != 0; }
  std::vector<std::string> names() const override {
    std::vector<std::string> v;
    for (const auto& [k, s] : map_) v.push_back(k);
    return v;
  }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    const Source& s = source(name);
    const GGUFTensor& t = f_->tensor(s.gguf);
    const std::string ctx = f_->path() + ": tensor '" + s.gguf + "'";
    const int64_t row = t.ne.empty() ? 1 : t.ne[0];
    const int64_t rows = row > 0 ? t.numel() / row : 0;
    torch::Tensor x = torch::empty({t.numel()}, torch::kFloat32);
    float* out = x.data_ptr<float>();
    const uint64_t rb = gguf::row_size(t.type, row, ctx);
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(row, 1));
    at::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      gguf::dequantize(t.type, t.data + static_cast<uint64_t>(b) * rb, out + b * row, (e - b) * row, ctx);
    });
    x = x.view(t.shape());
    if (s.permute_heads > 0) {
      if (x.size(0) % (2 * s.permute_heads) != 0)
        throw Error(ctx + ": " + std::to_string(x.size(0)) + " rows do not split into " +
                    std::to_string(s.permute_heads) + " heads of even size");
      x = permute_interleaved_to_half(x, s.permute_heads);
    }
    return x.to(dtype).contiguous();
  }
  uint64_t nbytes(const std::string& name) const override { return f_->tensor(source(name).gguf).nbytes; }
  void release(const std::string& name) const override {
    if (auto it = map_.find(name); it != map_.end()) f_->release(it->second.gguf);
  }
  std::string location() const override { return f_->path(); }

 private:
  const Source& source(const std::string& name) const {
    auto it = map_.find(name);
    if (it == map_.end()) throw Error(f_->path() + ": no tensor for '" + name + "'");
    return it->second;
  }
  std::shared_ptr<const GGUFFile> f_;
  std::map<std::string, Source> map_;
};

// ---------------------------------------------------------------------------------------------
// Tokenizer: the GGUF vocabulary is re-expressed in the format our tokenizers read (a SentencePiece
// ModelProto / a tokenizer.json) and loaded from a private temporary directory; bos/eos/add_bos
// come from the GGUF keys.

class GGUFVocabTokenizer final : public Tokenizer {
 public:
  GGUFVocabTokenizer(std::unique_ptr<Tokenizer> inner, int32_t bos, int32_t eos, bool add_bos)
      : inner_(std::move(inner)), bos_(bos), eos_(eos), add_bos_(add_bos && bos >= 0) {}
  std::vector<int32_t> encode(std::string_view text) const override { return inner_->encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override { return inner_->decode(ids); }
  std::string decode_token(int32_t prev, int32_t id) const override { return inner_->decode_token(prev, id); }
  int32_t vocab_size() const override { return inner_->vocab_size(); }
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  bool add_bos() const override { return add_bos_; }
  std::string kind() const override { return inner_->kind(); }
  std::string piece(int32_t id) const override { return inner_->piece(id); }
  float score(int32_t id) const override { return inner_->score(id); }
  TokenType token_type(int32_t id) const override { return inner_->token_type(id); }
  std::vector<std::string> merges() const override { return inner_->merges(); }
  std::string pre_tokenizer() const override { return inner_->pre_tokenizer(); }

 private:
  std::unique_ptr<Tokenizer> inner_;
  int32_t bos_, eos_;
  bool add_bos_;
};

struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "angelslim_gguf_vocab_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error("cannot create a temporary directory under " + fs::temp_directory_path().string());
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Protobuf wire helpers (enough for a SentencePiece ModelProto).
void pb_varint(std::string& o, uint64_t v) {
  while (v >= 0x80) {
    o += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  o += static_cast<char>(v);
}
void pb_tag(std::string& o, int field, int wire) { pb_varint(o, (static_cast<uint64_t>(field) << 3) | wire); }
void pb_int(std::string& o, int field, int64_t v) {
  pb_tag(o, field, 0);
  pb_varint(o, static_cast<uint64_t>(v));
}
void pb_bytes(std::string& o, int field, std::string_view s) {
  pb_tag(o, field, 2);
  pb_varint(o, s.size());
  o.append(s);
}
void pb_float(std::string& o, int field, float v) {
  pb_tag(o, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  o.append(b, 4);
}

int32_t id_or(const GGUFFile& f, const std::string& key, int32_t fallback, size_t n) {
  if (!f.has(key)) return fallback;
  const int64_t v = f.get_int(key);
  return v >= 0 && v < static_cast<int64_t>(n) ? static_cast<int32_t>(v) : -1;
}

std::unique_ptr<Tokenizer> spm_from_gguf(const GGUFFile& f, const std::vector<std::string>& tokens,
                                         std::vector<int32_t> types) {
  const size_t n = tokens.size();
  std::vector<float> scores(n, 0.0f);
  if (f.has("tokenizer.ggml.scores")) {
    scores = f.get_array<float>("tokenizer.ggml.scores");
    check(scores.size() == n, f.path() + ": tokenizer.ggml.scores has " + std::to_string(scores.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
  }
  const int32_t unk = id_or(f, "tokenizer.ggml.unknown_token_id", 0, n);
  const int32_t bos = id_or(f, "tokenizer.ggml.bos_token_id", 1, n);
  const int32_t eos = id_or(f, "tokenizer.ggml.eos_token_id", 2, n);
  check(unk >= 0, f.path() + ": tokenizer.ggml.unknown_token_id is out of range");
  types[unk] = static_cast<int32_t>(TokenType::Unknown);
  int n_bytes = 0;
  for (int32_t t : types) n_bytes += t == static_cast<int32_t>(TokenType::Byte);
  const bool add_space = f.get_or<bool>("tokenizer.ggml.add_space_prefix", true);

  std::string proto;
  for (size_t i = 0; i < n; ++i) {
    std::string p;
    pb_bytes(p, 1, tokens[i]);
    pb_float(p, 2, scores[i]);
    const int32_t t = types[i] >= 1 && types[i] <= 6 ? types[i] : 1;
    pb_int(p, 3, t);
    pb_bytes(proto, 1, p);
  }
  std::string trainer;
  pb_int(trainer, 3, 2);  // model_type BPE
  pb_int(trainer, 35, n_bytes == 256 ? 1 : 0);  // byte_fallback
  pb_int(trainer, 40, unk);
  pb_int(trainer, 41, bos);
  pb_int(trainer, 42, eos);
  pb_bytes(proto, 2, trainer);
  std::string norm;
  pb_bytes(norm, 1, "identity");
  pb_int(norm, 3, add_space ? 1 : 0);  // add_dummy_prefix
  pb_int(norm, 4, 0);                  // remove_extra_whitespaces: llama.cpp keeps them
  pb_int(norm, 5, 1);                  // escape_whitespaces
  pb_bytes(proto, 3, norm);

  ScratchDir dir;
  const std::string path = (dir.path / "tokenizer.model").string();
  write_file_atomic(path, proto);
  std::unique_ptr<Tokenizer> inner;
  try {
    inner = load_tokenizer(path);
  } catch (const Error& e) {
    throw Error(f.path() + ": cannot build a tokenizer from its 'llama' vocabulary: " + e.what());
  }
  const bool add_bos = f.get_or<bool>("tokenizer.ggml.add_bos_token", true);
  return std::make_unique<GGUFVocabTokenizer>(std::move(inner), bos, eos, add_bos);
}

std::unique_ptr<Tokenizer> bpe_from_gguf(const GGUFFile& f, const std::vector<std::string>& tokens,
                                         const std::vector<int32_t>& types) {
  using json = nlohmann::json;  // std::map objects: the vocabulary has ~10^5 keys
  const size_t n = tokens.size();
  check(f.has("tokenizer.ggml.merges"), f.path() + ": 'gpt2' vocabulary without tokenizer.ggml.merges");
  const std::vector<std::string>& merges = f.value("tokenizer.ggml.merges").get_strings("tokenizer.ggml.merges");
  const std::string pre = f.get_or<std::string>("tokenizer.ggml.pre", "default");
  // The Split regexes of the families our pre-tokenizer implements.
  static const char* kLlama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kQwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const bool llama3 = pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
  json pt;
  auto split = [](const char* re) {
    return json{{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}};
  };
  const json byte_level_plain{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                              {"use_regex", false}};
  if (llama3) {
    pt = {{"type", "Sequence"}, {"pretokenizers", {split(kLlama3), byte_level_plain}}};
  } else if (pre == "qwen2") {
    pt = {{"type", "Sequence"}, {"pretokenizers", {split(kQwen2), byte_level_plain}}};
  } else {
    if (pre != "gpt-2" && pre != "gpt2" && pre != "default")
      log_warn(f.path() + ": pre-tokenizer '" + pre + "' is not implemented; using GPT-2's");
    pt = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}};
  }
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < n; ++i) {
    const auto t = static_cast<TokenType>(types[i]);
    if (t == TokenType::Control || t == TokenType::UserDefined) {
      added.push_back({{"id", i}, {"content", tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", t == TokenType::Control}});
    } else if (!tokens[i].empty() && !vocab.contains(tokens[i])) {
      vocab[tokens[i]] = i;
    }
  }
  json j;
  j["version"] = "1.0";
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pt;
  j["model"] = {{"type", "BPE"}, {"ignore_merges", llama3}, {"vocab", vocab}, {"merges", merges}};

  ScratchDir dir;
  const std::string path = (dir.path / "tokenizer.json").string();
  write_file_atomic(path, j.dump());
  std::unique_ptr<Tokenizer> inner;
  try {
    inner = load_tokenizer(path);
  } catch (const Error& e) {
    throw Error(f.path() + ": cannot build a tokenizer from its 'gpt2' vocabulary: " + e.what());
  }
  const int32_t bos = id_or(f, "tokenizer.ggml.bos_token_id", -1, n);
  const int32_t eos = id_or(f, "tokenizer.ggml.eos_token_id", -1, n);
  const bool add_bos = f.get_or<bool>("tokenizer.ggml.add_bos_token", llama3);
  return std::make_unique<GGUFVocabTokenizer>(std::move(inner), bos, eos, add_bos);
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) return false;
  char magic[4] = {};
  const size_t n = std::fread(magic, 1, 4, fp);
  std::fclose(fp);
  return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

ModelConfig gguf_model_config(const GGUFFile& f) {
  const std::string ctx = f.path();
  check(f.has("general.architecture"), ctx + ": key 'general.architecture' not found");
  const std::string arch = f.get_string("general.architecture");
  ModelConfig c;
  if (arch == "llama") {
    c.architecture = "LlamaForCausalLM";
  } else if (arch == "qwen2") {
    c.architecture = "Qwen2ForCausalLM";
  } else if (arch == "qwen3") {
    c.architecture = "Qwen3ForCausalLM";
    c.qk_norm = true;
  } else {
    throw Error(ctx + ": general.architecture '" + arch + "' is not supported (supported: llama, qwen2, qwen3)");
  }
  c.model_type = arch;
  auto need = [&](const std::string& key) {
    check(f.has(key), ctx + ": key '" + key + "' not found");
    return scalar_int(f, key);
  };
  c.hidden_size = need(arch + ".embedding_length");
  c.num_layers = need(arch + ".block_count");
  c.intermediate_size = need(arch + ".feed_forward_length");
  c.num_heads = need(arch + ".attention.head_count");
  c.num_kv_heads = int_or(f, arch + ".attention.head_count_kv", c.num_heads);
  c.head_dim = int_or(f, arch + ".attention.key_length", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  const int64_t vlen = int_or(f, arch + ".attention.value_length", c.head_dim);
  check(vlen == c.head_dim, ctx + ": attention.value_length " + std::to_string(vlen) + " differs from key_length " +
                                std::to_string(c.head_dim) + " (not supported)");
  const int64_t rot = int_or(f, arch + ".rope.dimension_count", c.head_dim);
  check(rot == c.head_dim, ctx + ": rope.dimension_count " + std::to_string(rot) + " is not the head size " +
                               std::to_string(c.head_dim) + " (partial rotary embeddings are not supported)");
  c.max_position = int_or(f, arch + ".context_length", 2048);
  c.rms_norm_eps = double_or(f, arch + ".attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_theta = double_or(f, arch + ".rope.freq_base", 10000.0);
  check(f.has_tensor("token_embd.weight"), ctx + ": tensor 'token_embd.weight' not found");
  const GGUFTensor& emb = f.tensor("token_embd.weight");
  check(emb.ne.size() == 2, ctx + ": tensor 'token_embd.weight' is not 2-D");
  c.vocab_size = emb.ne[1];

  // RoPE scaling: rope.scaling.* keys (linear; yarn etc. are rejected), the older
  // rope.scale_linear, or llama3's per-frequency divisors in rope_freqs.weight.
  const std::string stype = f.has(arch + ".rope.scaling.type") ? f.get_string(arch + ".rope.scaling.type") : "none";
  if (stype == "linear") {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = double_or(f, arch + ".rope.scaling.factor", 1.0);
  } else if (stype != "none") {
    throw Error(ctx + ": rope scaling type '" + stype + "' is not supported (supported: none, linear, llama3)");
  } else if (f.has(arch + ".rope.scale_linear")) {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = f.get_double(arch + ".rope.scale_linear");
  }
  if (c.rope_scaling.type == "linear" && c.rope_scaling.factor == 1.0) c.rope_scaling.type = "none";
  if (f.has_tensor("rope_freqs.weight")) {
    check(c.rope_scaling.type == "none", ctx + ": both rope_freqs.weight and rope scaling keys (not supported)");
    fit_llama3_rope(f, c);
  }

  c.tie_word_embeddings = !f.has_tensor("output.weight");
  c.qkv_bias = f.has_tensor("blk.0.attn_q.bias");
  c.o_bias = f.has_tensor("blk.0.attn_output.bias");
  c.mlp_bias = f.has_tensor("blk.0.ffn_up.bias");
  c.bos_token_id = int_or(f, "tokenizer.ggml.bos_token_id", -1);
  if (f.has("tokenizer.ggml.eos_token_id")) c.eos_token_ids.push_back(f.get_int("tokenizer.ggml.eos_token_id"));
  if (f.has("tokenizer.ggml.eot_token_id")) {
    const int64_t eot = f.get_int("tokenizer.ggml.eot_token_id");
    if (std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), eot) == c.eos_token_ids.end())
      c.eos_token_ids.push_back(eot);
  }
  c.validate(ctx);
  return c;
}

std::shared_ptr<WeightStore> open_gguf_store(std::shared_ptr<const GGUFFile> f, const ModelConfig& cfg) {
  return std::make_shared<GGUFWeightStore>(std::move(f), cfg);
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const GGUFFile& f) {
  check(f.has("tokenizer.ggml.model"), f.path() + ": no tokenizer (key 'tokenizer.ggml.model' not found)");
  const std::string model = f.get_string("tokenizer.ggml.model");
  check(f.has("tokenizer.ggml.tokens"), f.path() + ": key 'tokenizer.ggml.tokens' not found");
  const std::vector<std::string>& tokens = f.value("tokenizer.ggml.tokens").get_strings("tokenizer.ggml.tokens");
  std::vector<int32_t> types(tokens.size(), static_cast<int32_t>(TokenType::Normal));
  if (f.has("tokenizer.ggml.token_type")) {
    types = f.get_array<int32_t>("tokenizer.ggml.token_type");
    check(types.size() == tokens.size(), f.path() + ": tokenizer.ggml.token_type has " +
                                             std::to_string(types.size()) + " entries for " +
                                             std::to_string(tokens.size()) + " tokens");
  }
  if (model == "llama") return spm_from_gguf(f, tokens, types);
  if (model == "gpt2") return bpe_from_gguf(f, tokens, types);
  throw Error(f.path() + ": tokenizer.ggml.model '" + model + "' is not supported (supported: llama, gpt2)");
}

GGUFImport import_gguf(const std::string& path, bool load_tokenizer) {
  auto f = std::make_shared<const GGUFFile>(path);
  GGUFImport imp;
  imp.config = gguf_model_config(*f);
  imp.store = open_gguf_store(f, imp.config);
  if (load_tokenizer && f->has("tokenizer.ggml.model")) imp.tokenizer = gguf_tokenizer(*f);
  return imp;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path, const LoadOptions& opts,
                                       const std::string& tokenizer_path) {
  GGUFImport imp = import_gguf(path, opts.load_tokenizer && tokenizer_path.empty());
  auto m = std::make_unique<Model>(imp.config, imp.store, opts);
  if (opts.load_tokenizer) {
    if (!tokenizer_path.empty()) m->set_tokenizer(load_tokenizer(tokenizer_path));
    else if (imp.tokenizer) m->set_tokenizer(imp.tokenizer);
  }
  return m;
}

void register_gguf_loader() {
  register_model_loader({"gguf", [](const std::string& p) { return is_gguf_file(p); },
                         [](const std::string& p, const LoadOptions& o, const std::string& t) {
                           return load_gguf_model(p, o, t);
                         }});
}

}  // namespace as
