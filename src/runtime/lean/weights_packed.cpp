// Weights from a packed directory (`angelslim pack`; layout in lean.h).
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "io/safetensors.h"
#include "io/tensor_convert.h"
#include "kernels/packed/internal.h"
#include "runtime/lean/weights.h"

namespace as::lean::detail {

void gemm_f32(const float* W, int64_t N, int64_t K, const float* X, int64_t M, float* Y) {
  const int64_t grain = 16;
  const int64_t tasks = (N + grain - 1) / grain;
  packed::detail::parallel_for(tasks, [&](int64_t t) {
    const int64_t n0 = t * grain, n1 = std::min(N, n0 + grain);
    for (int64_t m = 0; m < M; ++m) {
      const float* x = X + m * K;
      for (int64_t n = n0; n < n1; ++n) {
        const float* w = W + n * K;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // 8 partial sums so the compiler vectorizes
        int64_t k = 0;
        for (; k + 8 <= K; k += 8)
          for (int i = 0; i < 8; ++i) acc[i] += w[k + i] * x[k + i];
        float s = 0;
        for (; k < K; ++k) s += w[k] * x[k];
        Y[m * N + n] = s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      }
    }
  });
}

bool Linear::recode_for_speed() {
  if (!is_packed || interleaved || recoded_from) return false;
  // ANGELSLIM_RECODE=0 keeps the file's type, =1 re-encodes wherever an exact re-encoding exists
  // (for tests and A/B runs on any CPU); unset: where packed::run_type says it runs faster.
  const char* env = std::getenv("ANGELSLIM_RECODE");
  const std::string mode = env ? env : "";
  check(mode.empty() || mode == "0" || mode == "1",
        "environment variable ANGELSLIM_RECODE must be 0 or 1 (or unset), not '" + mode + "'");
  const packed::QuantType to = mode == "0" ? type : mode == "1" ? packed::recode_target(type) : packed::run_type(type);
  if (to == type) return false;
  std::vector<uint8_t> out(packed::packed_bytes(to, N, kmain()));
  packed::recode_rows(type, to, data, N, kmain(), out.data());
  bytes = bytes - packed::packed_bytes(type, N, kmain()) + out.size();
  owned_packed = std::move(out);
  data = owned_packed.data();
  recoded_from = type;
  type = to;
  return true;
}

bool Linear::use_interleaved() {
  const bool recoded = recode_for_speed();
  const char* env = std::getenv("ANGELSLIM_INTERLEAVE");
  const bool enabled = !(env && std::string(env) == "0");
  const int R = is_packed ? packed::interleave_rows(type) : 0;
  if (!enabled || interleaved || R == 0 || N % R != 0) return recoded;
  std::vector<uint8_t> il(packed::packed_bytes(type, N, kmain()));
  packed::to_interleaved(type, data, N, kmain(), il.data());
  owned_packed = std::move(il);
  data = owned_packed.data();
  interleaved = true;
  return true;
}

namespace {
// Y = X[:, :Kd] . W^T for the main part of L (X rows of length Kd).
void apply_main(const Linear& L, const float* X, int64_t M, int64_t Kd, float* Y) {
  if (L.is_packed && L.interleaved) packed::gemm_interleaved(L.type, L.data, L.N, Kd, X, M, Y);
  else if (L.is_packed) packed::gemm(L.type, L.data, L.N, Kd, X, M, Y);
  else gemm_f32(reinterpret_cast<const float*>(L.data), L.N, Kd, X, M, Y);
}
thread_local std::vector<float> tl_xmain, tl_xtail, tl_ytail;
}  // namespace

void Linear::apply(const float* X, int64_t M, float* Y) const {
  if (!tail) {
    apply_main(*this, X, M, K, Y);
  } else {
    // Split linear: both parts read their columns of X (copied out when rows are longer).
    const int64_t K0 = k_main, Kt = K - K0;
    const float* Xm = X;
    if (M > 1) {
      float* xm = packed::detail::scratch(tl_xmain, size_t(M * K0));
      for (int64_t m = 0; m < M; ++m) std::memcpy(xm + m * K0, X + m * K, size_t(K0) * sizeof(float));
      Xm = xm;
    }
    apply_main(*this, Xm, M, K0, Y);
    float* xt = packed::detail::scratch(tl_xtail, size_t(M * Kt));
    for (int64_t m = 0; m < M; ++m) std::memcpy(xt + m * Kt, X + m * K + K0, size_t(Kt) * sizeof(float));
    float* yt = packed::detail::scratch(tl_ytail, size_t(M * N));
    tail->apply(xt, M, yt);
    for (int64_t i = 0; i < M * N; ++i) Y[i] += yt[i];
  }
  if (bias)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) Y[m * N + n] += bias[n];
}

namespace {

struct PackedLoader {
  Weights& W;
  std::shared_ptr<SafetensorsFile> file;
  std::map<std::string, packed::QuantType> fallback;  // per-linear type overrides
  std::map<std::string, std::pair<int64_t, std::string>> split;  // linear -> (K0, tail type)

  const float* f32(const std::string& name, int64_t numel) {
    const TensorView& t = file->get(name);
    check(t.numel() == numel, W.source + ": " + name + " has " + std::to_string(t.numel()) + " elements, expected " +
                                  std::to_string(numel));
    if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0)
      return reinterpret_cast<const float*>(t.data);
    W.owned.push_back(to_float(t));
    return W.owned.back().data();
  }
  void linear(Linear& L, const std::string& base, int64_t N, int64_t K, bool has_bias, packed::QuantType qt) {
    L.N = N, L.K = K;
    if (auto it = fallback.find(base); it != fallback.end()) qt = it->second;
    if (auto it = split.find(base); it != split.end()) {
      const auto [K0, tail_type] = it->second;
      check(K0 > 0 && K0 < K, W.source + ": " + base + ": split k_main " + std::to_string(K0) + " outside (0, " +
                                  std::to_string(K) + ")");
      L.k_main = K0;
      L.tail = std::make_shared<Linear>();
      L.tail->N = N, L.tail->K = K - K0;
      const bool q8 = tail_type != "f32";
      if (q8) check(tail_type == "q8_g32", W.source + ": " + base + ": unknown tail type '" + tail_type + "'");
      matrix(*L.tail, base + (q8 ? ".qweight_tail" : ".weight_tail"), N, K - K0, q8, packed::QuantType::Q8_G32);
    }
    const bool pk = file->contains(base + ".qweight");
    check(pk || !L.tail, W.source + ": split linear " + base + " has no " + base + ".qweight");
    matrix(L, base + (pk ? ".qweight" : ".weight"), N, L.kmain(), pk, qt);
    if (L.tail) L.bytes += L.tail->bytes;
    if (has_bias || file->contains(base + ".bias")) L.bias = f32(base + ".bias", N);
  }
  // One stored matrix [N, K]: packed rows of type qt (moved to its interleaved layout when the type has one) used in
  // place, or F32 (converted when stored otherwise or misaligned). Sets data, bytes and release.
  void matrix(Linear& L, const std::string& name, int64_t N, int64_t K, bool packed_rows, packed::QuantType qt) {
    const TensorView& t = file->get(name);
    if (packed_rows) {
      check(t.dtype == DType::U8 && t.shape.size() == 2 && t.shape[0] == N &&
                uint64_t(t.shape[1]) == packed::packed_row_bytes(qt, K),
            W.source + ": " + name + " has the wrong dtype/shape for " + packed::quant_type(qt).name);
      L.is_packed = true, L.type = qt, L.data = t.data, L.bytes = t.nbytes;
      if (L.use_interleaved()) file->release(name);
      else L.release = [f = file, name] { f->release(name); };
      return;
    }
    check(t.numel() == N * K, W.source + ": " + name + " has the wrong shape");
    if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      L.data = t.data;
    } else {
      L.owned = to_float(t);
      L.data = reinterpret_cast<const uint8_t*>(L.owned.data());
    }
    L.bytes = uint64_t(N * K) * 4;
  }
};

}  // namespace

std::vector<LinearSpec> layer_linears(const LeanConfig& c) {
  const int64_t D = c.hidden, F = c.inter, QD = c.heads * c.head_dim, KVD = c.kv_heads * c.head_dim;
  return {{&Layer::q, "self_attn.q_proj", "attn_q", QD, D, c.qkv_bias},
          {&Layer::k, "self_attn.k_proj", "attn_k", KVD, D, c.qkv_bias},
          {&Layer::v, "self_attn.v_proj", "attn_v", KVD, D, c.qkv_bias},
          {&Layer::o, "self_attn.o_proj", "attn_output", D, QD, c.o_bias},
          {&Layer::gate, "mlp.gate_proj", "ffn_gate", F, D, c.mlp_bias},
          {&Layer::up, "mlp.up_proj", "ffn_up", F, D, c.mlp_bias},
          {&Layer::down, "mlp.down_proj", "ffn_down", D, F, c.mlp_bias}};
}

Weights load_packed_dir(const std::string& dir) {
  Weights W;
  W.source = dir;
  check(file_exists(dir + "/config.json"), dir + ": no config.json");
  auto cj = nlohmann::json::parse(read_file(dir + "/config.json"));
  check(cj.contains("angelslim_packed"), dir + ": not a packed directory (run `angelslim pack` first)");
  W.c = parse_config(cj, dir);
  const auto& c = W.c;
  const auto& ap = cj["angelslim_packed"];
  W.type = ap.value("type", std::string("f32"));
  W.lm_type = ap.value("lm_head", std::string("f32"));
  packed::QuantType qt{}, lqt{};
  if (W.type != "f32") qt = packed::quant_type_from_name(W.type);
  if (W.lm_type != "f32") lqt = packed::quant_type_from_name(W.lm_type);
  PackedLoader P{W, std::make_shared<SafetensorsFile>(dir + "/model.safetensors"), {}, {}};
  if (ap.contains("fallback_linears"))
    for (const auto& [name, t] : ap["fallback_linears"].items())
      P.fallback[name] = packed::quant_type_from_name(t.get<std::string>());
  if (ap.contains("split_linears"))
    for (const auto& [name, sp] : ap["split_linears"].items())
      P.split[name] = {sp.at("k_main").get<int64_t>(), sp.at("tail").get<std::string>()};
  W.keep = P.file;
  for (const auto& n : P.file->names()) W.file_bytes += P.file->get(n).nbytes;
  const int64_t D = c.hidden, hd = c.head_dim;
  const TensorView& emb = P.file->get("model.embed_tokens.weight");
  check(emb.numel() == c.vocab * D, dir + ": model.embed_tokens.weight has the wrong shape");
  W.embed.data = emb.data;
  W.embed.nbytes = emb.nbytes;
  W.embed.row_bytes = emb.nbytes / uint64_t(c.vocab);
  W.embed.decode = [dt = emb.dtype, D](const uint8_t* row, float* out) {
    convert_to_float(dt, row, size_t(D), out, "embedding");
  };
  W.final_norm = P.f32("model.norm.weight", D);
  W.layers.resize(size_t(c.layers));
  for (int64_t l = 0; l < c.layers; ++l) {
    auto& L = W.layers[size_t(l)];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    L.attn_norm = P.f32(p + "input_layernorm.weight", D);
    L.ffn_norm = P.f32(p + "post_attention_layernorm.weight", D);
    if (c.qk_norm) {
      L.q_norm = P.f32(p + "self_attn.q_norm.weight", hd);
      L.k_norm = P.f32(p + "self_attn.k_norm.weight", hd);
    }
    for (const LinearSpec& s : layer_linears(c)) P.linear(L.*s.field, p + s.hf, s.N, s.K, s.bias, qt);
  }
  P.linear(W.lm_head, "lm_head", c.vocab, D, false, lqt);
  fuse_for_decode(W);
  return W;
}

}  // namespace as::lean::detail
