// angelslim pack: HF safetensors directory -> packed directory (see lean.h for the layout).
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "io/tensor_convert.h"
#include "runtime/lean/lean.h"

namespace as::lean {
namespace fs = std::filesystem;

PackReport pack_model(const std::string& src, const std::string& out, const PackOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  check(file_exists(src + "/config.json"), src + ": no config.json (expected a Hugging Face model directory)");
  auto cj = nlohmann::json::parse(read_file(src + "/config.json"));
  check(!cj.contains("angelslim_packed"), src + ": already a packed directory");
  const LeanConfig c = parse_config(cj, src);
  const bool passthrough = opt.type == "f32";
  packed::QuantType qt{};
  if (!passthrough) qt = packed::quant_type_from_name(opt.type);
  std::string lm_name = opt.lm_head == "same" ? opt.type : opt.lm_head;
  bool lm_packed = lm_name != "f32";
  packed::QuantType lm_qt{};
  if (lm_packed) lm_qt = packed::quant_type_from_name(lm_name);
  if (lm_packed && c.hidden % packed::quant_type(lm_qt).block_size != 0) lm_packed = false, lm_name = "f32";

  auto ck = std::make_shared<Checkpoint>(src);
  PackReport rep;
  rep.type = opt.type;
  rep.source_bytes = ck->total_bytes();
  SafetensorsWriter w;
  w.set_metadata("angelslim.packed_type", opt.type);
  w.set_metadata("angelslim.lm_head", lm_name);
  w.set_metadata("angelslim.format_version", "1");

  // Float copy of any tensor, streamed (the source pages are released afterwards).
  auto load_f32 = [ck](const std::string& name, float* dst) {
    const TensorView& t = ck->get(name);
    to_float(t, dst);
    ck->release(name);
  };
  auto add_f32 = [&](const std::string& name) {
    const TensorView& t = ck->get(name);
    w.add_lazy(name, DType::F32, t.shape, [load_f32, name](uint8_t* dst, uint64_t) {
      load_f32(name, reinterpret_cast<float*>(dst));
    });
  };
  // Float rows of columns [c0, c0 + nc) of a linear (the whole row when nc == K).
  auto load_cols = [load_f32](const std::string& name, int64_t N, int64_t K, int64_t c0, int64_t nc) {
    std::vector<float> f(size_t(N * K));
    load_f32(name, f.data());
    if (nc == K) return f;
    std::vector<float> out(size_t(N * nc));
    for (int64_t n = 0; n < N; ++n) std::memcpy(&out[size_t(n * nc)], &f[size_t(n * K + c0)], size_t(nc) * 4);
    return out;
  };
  // Columns [c0, c0 + nc) as `name` of type t (packed) or F32.
  auto write_part = [&](const std::string& name, const std::string& src_name, int64_t N, int64_t K, int64_t c0,
                        int64_t nc, bool packed, packed::QuantType t) {
    if (packed) {
      w.add_lazy(name, DType::U8, {N, int64_t(packed::packed_row_bytes(t, nc))},
                 [load_cols, src_name, N, K, c0, nc, t](uint8_t* dst, uint64_t) {
                   const auto f = load_cols(src_name, N, K, c0, nc);
                   packed::quantize_rows(t, f.data(), N, nc, dst);
                 });
    } else {
      w.add_lazy(name, DType::F32, {N, nc}, [load_cols, src_name, N, K, c0, nc](uint8_t* dst, uint64_t n) {
        const auto f = load_cols(src_name, N, K, c0, nc);
        std::memcpy(dst, f.data(), n);
      });
    }
  };
  const packed::QuantType q8 = packed::QuantType::Q8_G32;
  auto add_linear = [&](const std::string& base, const std::string& src_name, bool want_packed, packed::QuantType t) {
    const TensorView& v = ck->get(src_name);
    check(v.shape.size() == 2, src + ": " + src_name + " is not a matrix");
    const int64_t N = v.shape[0], K = v.shape[1];
    const int64_t B = want_packed ? packed::quant_type(t).block_size : 1;
    if (want_packed && K % B != 0 && K >= B) {
      // Split: the first K0 columns in TYPE, the remaining Kt (< B) in q8_g32 when Kt allows it,
      // else F32. The runtime adds the two products.
      const int64_t K0 = K / B * B, Kt = K - K0;
      const bool tail_q8 = Kt % packed::quant_type(q8).block_size == 0;
      write_part(base + ".qweight", src_name, N, K, 0, K0, true, t);
      write_part(base + (tail_q8 ? ".qweight_tail" : ".weight_tail"), src_name, N, K, K0, Kt, tail_q8, q8);
      rep.split_linears[base] = {K0, tail_q8 ? packed::quant_type(q8).name : "f32"};
      ++rep.packed_linears;
      return;
    }
    // K below one block: q8_g32 when K allows it (recorded per linear), else F32.
    if (want_packed && K % B != 0 && t != q8 && K % packed::quant_type(q8).block_size == 0) {
      t = q8;
      rep.fallback_linears[base] = packed::quant_type(t).name;
    }
    const bool pk = want_packed && K % packed::quant_type(t).block_size == 0;
    if (pk) ++rep.packed_linears;
    else if (want_packed) rep.f32_linears.push_back(base);
    write_part(base + (pk ? ".qweight" : ".weight"), src_name, N, K, 0, K, pk, t);
  };

  // Embedding: BF16 and F16 stay as they are (copied bytes; one row is decoded per token), anything
  // else becomes F32.
  const std::string emb = "model.embed_tokens.weight";
  std::string embed_dtype = "F32";
  {
    const TensorView& t = ck->get(emb);
    check(t.shape.size() == 2 && t.shape[0] == c.vocab && t.shape[1] == c.hidden, src + ": " + emb + " has the wrong shape");
    if (t.dtype == DType::BF16 || t.dtype == DType::F16) {
      embed_dtype = t.dtype == DType::BF16 ? "BF16" : "F16";
      w.add_lazy(emb, t.dtype, t.shape, [ck, emb](uint8_t* dst, uint64_t n) {
        std::memcpy(dst, ck->get(emb).data, n);
        ck->release(emb);
      });
    } else {
      add_f32(emb);
    }
  }
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add_f32(p + "input_layernorm.weight");
    add_f32(p + "post_attention_layernorm.weight");
    if (c.qk_norm) {
      add_f32(p + "self_attn.q_norm.weight");
      add_f32(p + "self_attn.k_norm.weight");
    }
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                          "mlp.up_proj", "mlp.down_proj"}) {
      const std::string base = p + n;
      add_linear(base, base + ".weight", !passthrough, qt);
      if (ck->contains(base + ".bias")) add_f32(base + ".bias");
    }
  }
  add_f32("model.norm.weight");
  const std::string lm_src = ck->contains("lm_head.weight") ? "lm_head.weight" : emb;
  check(lm_src != emb || c.tie, src + ": no lm_head.weight and tie_word_embeddings is false");
  add_linear("lm_head", lm_src, lm_packed, lm_qt);
  rep.packed_bytes = w.payload_bytes();

  fs::create_directories(out);
  w.write(out + "/model.safetensors");
  cj["angelslim_packed"] = {{"version", 1},
                            {"type", opt.type},
                            {"lm_head", lm_name},
                            {"embed_dtype", embed_dtype},
                            {"f32_linears", rep.f32_linears},
                            {"fallback_linears", rep.fallback_linears},
                            {"split_linears", nlohmann::json::object()}};
  for (const auto& [name, sp] : rep.split_linears)
    cj["angelslim_packed"]["split_linears"][name] = {{"k_main", sp.first}, {"tail", sp.second}};
  cj["tie_word_embeddings"] = false;  // lm_head is always written out
  write_file_atomic(out + "/config.json", cj.dump(2) + "\n");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "tokenizer.bin",
                        "special_tokens_map.json", "generation_config.json"}) {
    const std::string s = src + "/" + f;
    if (file_exists(s)) write_file_atomic(out + "/" + f, read_file(s));
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace as::lean
