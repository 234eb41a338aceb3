#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "io/safetensors.h"
#include "kernels/half.h"
#include "model/hf_export.h"

namespace fs = std::filesystem;

namespace as {
namespace {

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h ? h : 1;
}

// Fills `n` elements of `dtype` with uniform noise of the given std (or the constant `fill`).
void fill_random(uint8_t* dst, uint64_t n, DType dtype, uint64_t state, float std, bool ones) {
  const float a = std * std::sqrt(3.0f);
  for (uint64_t i = 0; i < n; ++i) {
    float v = 1.0f;
    if (!ones) {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      uint64_t r = state * 0x2545F4914F6CDD1Dull;
      v = (float(r >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * a;
    }
    switch (dtype) {
      case DType::F32: std::memcpy(dst + 4 * i, &v, 4); break;
      case DType::BF16: {
        uint16_t h = kernels::f32_to_bf16(v);
        std::memcpy(dst + 2 * i, &h, 2);
        break;
      }
      case DType::F16: {
        uint16_t h = kernels::f32_to_f16(v);
        std::memcpy(dst + 2 * i, &h, 2);
        break;
      }
      default: throw Error("synth: unsupported dtype");
    }
  }
}

// GPT-2 byte -> unicode mapping (printable bytes map to themselves, the rest to U+0100 + k).
std::string byte_char(int b) {
  static int map[256];
  static bool init = false;
  if (!init) {
    int n = 0;
    for (int i = 0; i < 256; ++i) {
      bool printable = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
      map[i] = printable ? i : 256 + n++;
    }
    init = true;
  }
  int cp = map[b];
  std::string s;
  if (cp < 0x80) s += char(cp);
  else {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

std::string byte_level_tokenizer_json(int64_t vocab_size) {
  if (vocab_size < 257) throw Error("synth: vocab must be >= 257 for the byte-level tokenizer, got " + std::to_string(vocab_size));
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = {{{"id", 256}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                        {"rstrip", false}, {"normalized", false}, {"special", true}}};
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern",
          {{"Regex",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"},         {"dropout", nullptr},   {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},     {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab},        {"merges", nlohmann::ordered_json::array()}};
  return j.dump() + "\n";
}

uint64_t synth_model(const std::string& out_dir, const SynthOptions& o) {
  const ModelConfig& c = o.config;
  c.validate("synth");
  if (o.dtype != DType::F32 && o.dtype != DType::BF16 && o.dtype != DType::F16)
    throw Error("synth: --dtype must be f32, f16 or bf16");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir + ": cannot create directory: " + ec.message());

  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("source", "angelslim synth (random weights)");
  // Check every input before writing gigabytes of weights.
  if (!o.tokenizer.empty() && !file_exists(o.tokenizer)) throw Error(o.tokenizer + ": tokenizer file not found");
  const size_t esz = dtype_size(o.dtype);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool ones) {
    uint64_t n = 1;
    for (auto d : shape) n *= uint64_t(d);
    uint64_t state = hash_name(name, o.seed);
    DType dt = o.dtype;
    float std = o.init_std;
    w.add_lazy(name, dt, std::move(shape), [n, dt, state, std, ones, esz](uint8_t* dst, uint64_t nbytes) {
      if (nbytes != n * esz) throw Error("synth: internal size mismatch");
      fill_random(dst, n, dt, state, std, ones);
    });
  };
  const int64_t H = c.hidden_size, F = c.intermediate_size;
  add("model.embed_tokens.weight", {c.vocab_size, H}, false);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {H}, true);
    add(p + "post_attention_layernorm.weight", {H}, true);
    add(p + "self_attn.q_proj.weight", {c.q_dim(), H}, false);
    add(p + "self_attn.k_proj.weight", {c.kv_dim(), H}, false);
    add(p + "self_attn.v_proj.weight", {c.kv_dim(), H}, false);
    add(p + "self_attn.o_proj.weight", {H, c.q_dim()}, false);
    if (c.qkv_bias) {
      add(p + "self_attn.q_proj.bias", {c.q_dim()}, false);
      add(p + "self_attn.k_proj.bias", {c.kv_dim()}, false);
      add(p + "self_attn.v_proj.bias", {c.kv_dim()}, false);
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {c.head_dim}, true);
      add(p + "self_attn.k_norm.weight", {c.head_dim}, true);
    }
    add(p + "mlp.gate_proj.weight", {F, H}, false);
    add(p + "mlp.up_proj.weight", {F, H}, false);
    add(p + "mlp.down_proj.weight", {H, F}, false);
  }
  add("model.norm.weight", {H}, true);
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, H}, false);
  log_info("synth: writing " + std::to_string(w.payload_bytes() >> 20) + " MiB of random weights to " + out_dir);
  write_sharded(out_dir, w, o.max_shard_bytes);

  ModelConfig cc = c;
  cc.torch_dtype = o.dtype == DType::BF16 ? "bfloat16" : o.dtype == DType::F16 ? "float16" : "float32";
  write_file_atomic((fs::path(out_dir) / "config.json").string(), model_config_to_json(cc));
  if (!o.tokenizer.empty()) {
    if (!file_exists(o.tokenizer)) throw Error(o.tokenizer + ": tokenizer file not found");
    copy_file_atomic(o.tokenizer, (fs::path(out_dir) / fs::path(o.tokenizer).filename()).string());
    auto cfg = fs::path(o.tokenizer).parent_path() / "tokenizer_config.json";
    if (fs::path(o.tokenizer).filename() == "tokenizer.json" && fs::is_regular_file(cfg))
      copy_file_atomic(cfg.string(), (fs::path(out_dir) / "tokenizer_config.json").string());
  } else {
    write_file_atomic((fs::path(out_dir) / "tokenizer.json").string(), byte_level_tokenizer_json(c.vocab_size));
    nlohmann::json tc{{"eos_token", "<|endoftext|>"}, {"add_bos_token", false}};
    write_file_atomic((fs::path(out_dir) / "tokenizer_config.json").string(), tc.dump(2) + "\n");
  }
  return w.payload_bytes();
}

}  // namespace as
