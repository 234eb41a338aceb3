// Lean forward pass (see lean.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "io/tensor_convert.h"
#include "kernels/packed/internal.h"
#include "runtime/lean/lean.h"

namespace as::lean {
namespace {

using packed::detail::parallel_for;

constexpr int64_t kChunk = 512;  // prefill tokens per forward chunk (buffers are sized for it)

// Y[M, N] = X[M, K] . W[N, K]^T for fp32 W, 8 partial sums so the compiler vectorizes.
void gemm_f32(const float* W, int64_t N, int64_t K, const float* X, int64_t M, float* Y) {
  const int64_t grain = 16;
  const int64_t tasks = (N + grain - 1) / grain;
  parallel_for(tasks, [&](int64_t t) {
    const int64_t n0 = t * grain, n1 = std::min(N, n0 + grain);
    for (int64_t m = 0; m < M; ++m) {
      const float* x = X + m * K;
      for (int64_t n = n0; n < n1; ++n) {
        const float* w = W + n * K;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
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

struct Linear {
  bool is_packed = false;
  packed::QuantType type{};
  const uint8_t* data = nullptr;  // packed rows, or fp32 [N, K]
  std::vector<float> owned;       // fp32 copy when the mapped tensor is unusable in place
  int64_t N = 0, K = 0;
  uint64_t bytes = 0;
  const float* bias = nullptr;
  void apply(const float* X, int64_t M, float* Y) const {
    if (is_packed) packed::gemm(type, data, N, K, X, M, Y);
    else gemm_f32(reinterpret_cast<const float*>(data), N, K, X, M, Y);
    if (bias)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) Y[m * N + n] += bias[n];
  }
};

struct Layer {
  const float *attn_norm = nullptr, *ffn_norm = nullptr, *q_norm = nullptr, *k_norm = nullptr;
  Linear q, k, v, o, gate, up, down;
};

void rmsnorm(const float* x, const float* w, int64_t n, double eps, float* out) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::sqrt(ss / double(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * r * w[i];
}

}  // namespace

struct LeanModel::Impl {
  std::string dir;
  LeanConfig c;
  std::string type, lm_type;
  std::unique_ptr<SafetensorsFile> file;
  std::vector<std::vector<float>> owned;  // fp32 copies of unaligned small tensors
  const TensorView* embed = nullptr;
  const float* final_norm = nullptr;
  std::vector<Layer> layers;
  Linear lm_head;
  int64_t ctx = 0, pos = 0;
  std::vector<float> kcache, vcache;  // [L][ctx][kv_dim]
  std::vector<float> inv_freq;         // [head_dim / 2]
  // activations, [kChunk][...]
  std::vector<float> x, h, q, k, v, att, g, u, logits, scratch;
  int64_t scratch_tasks = 0;

  const float* f32(const std::string& name, int64_t numel) {
    const TensorView& t = file->get(name);
    check(t.numel() == numel, dir + ": " + name + " has " + std::to_string(t.numel()) + " elements, expected " +
                                  std::to_string(numel));
    if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0)
      return reinterpret_cast<const float*>(t.data);
    owned.push_back(to_float(t));
    return owned.back().data();
  }
  void linear(Linear& L, const std::string& base, int64_t N, int64_t K, bool has_bias, packed::QuantType qt) {
    L.N = N, L.K = K;
    if (file->contains(base + ".qweight")) {
      const TensorView& t = file->get(base + ".qweight");
      const size_t rb = packed::packed_row_bytes(qt, K);
      check(t.dtype == DType::U8 && t.shape.size() == 2 && t.shape[0] == N && uint64_t(t.shape[1]) == rb,
            dir + ": " + base + ".qweight has the wrong dtype/shape for " + packed::quant_type(qt).name);
      L.is_packed = true, L.type = qt, L.data = t.data, L.bytes = t.nbytes;
    } else {
      const TensorView& t = file->get(base + ".weight");
      check(t.numel() == N * K, dir + ": " + base + ".weight has the wrong shape");
      if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
        L.data = t.data;
      } else {
        L.owned = to_float(t);
        L.data = reinterpret_cast<const uint8_t*>(L.owned.data());
      }
      L.bytes = uint64_t(N * K) * 4;
    }
    if (has_bias || file->contains(base + ".bias")) L.bias = f32(base + ".bias", N);
  }
};

LeanModel::LeanModel(const std::string& dir, int64_t max_context) : p_(std::make_unique<Impl>()) {
  auto& P = *p_;
  P.dir = dir;
  check(file_exists(dir + "/config.json"), dir + ": no config.json");
  auto cj = nlohmann::json::parse(read_file(dir + "/config.json"));
  check(cj.contains("angelslim_packed"), dir + ": not a packed directory (run `angelslim pack` first)");
  P.c = parse_config(cj, dir);
  const auto& c = P.c;
  const auto& ap = cj["angelslim_packed"];
  P.type = ap.value("type", std::string("f32"));
  P.lm_type = ap.value("lm_head", std::string("f32"));
  packed::QuantType qt{}, lqt{};
  if (P.type != "f32") qt = packed::quant_type_from_name(P.type);
  if (P.lm_type != "f32") lqt = packed::quant_type_from_name(P.lm_type);
  P.file = std::make_unique<SafetensorsFile>(dir + "/model.safetensors");
  const int64_t D = c.hidden, F = c.inter, hd = c.head_dim, QD = c.heads * hd, KVD = c.kv_heads * hd;
  P.embed = &P.file->get("model.embed_tokens.weight");
  check(P.embed->numel() == c.vocab * D, dir + ": model.embed_tokens.weight has the wrong shape");
  P.final_norm = P.f32("model.norm.weight", D);
  P.layers.resize(size_t(c.layers));
  for (int64_t l = 0; l < c.layers; ++l) {
    auto& L = P.layers[size_t(l)];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    L.attn_norm = P.f32(p + "input_layernorm.weight", D);
    L.ffn_norm = P.f32(p + "post_attention_layernorm.weight", D);
    if (c.qk_norm) {
      L.q_norm = P.f32(p + "self_attn.q_norm.weight", hd);
      L.k_norm = P.f32(p + "self_attn.k_norm.weight", hd);
    }
    P.linear(L.q, p + "self_attn.q_proj", QD, D, c.qkv_bias, qt);
    P.linear(L.k, p + "self_attn.k_proj", KVD, D, c.qkv_bias, qt);
    P.linear(L.v, p + "self_attn.v_proj", KVD, D, c.qkv_bias, qt);
    P.linear(L.o, p + "self_attn.o_proj", D, QD, c.o_bias, qt);
    P.linear(L.gate, p + "mlp.gate_proj", F, D, c.mlp_bias, qt);
    P.linear(L.up, p + "mlp.up_proj", F, D, c.mlp_bias, qt);
    P.linear(L.down, p + "mlp.down_proj", D, F, c.mlp_bias, qt);
  }
  P.linear(P.lm_head, "lm_head", c.vocab, D, false, lqt);

  P.ctx = max_context > 0 ? max_context : std::min<int64_t>(c.max_position, 4096);
  P.kcache.assign(size_t(c.layers * P.ctx * KVD), 0.0f);
  P.vcache.assign(size_t(c.layers * P.ctx * KVD), 0.0f);
  // RoPE inverse frequencies (HF rotate-half layout), with optional llama3 / linear scaling.
  P.inv_freq.resize(size_t(hd / 2));
  for (int64_t i = 0; i < hd / 2; ++i) {
    double f = 1.0 / std::pow(c.rope_theta, double(2 * i) / double(hd));
    if (c.rope_type == "linear") {
      f /= c.rope_factor;
    } else if (c.rope_type == "llama3") {
      const double low_wl = double(c.rope_orig_max) / c.rope_low, high_wl = double(c.rope_orig_max) / c.rope_high;
      const double wl = 2 * M_PI / f;
      if (wl > low_wl) {
        f /= c.rope_factor;
      } else if (wl >= high_wl) {
        const double s = (double(c.rope_orig_max) / wl - c.rope_low) / (c.rope_high - c.rope_low);
        f = (1 - s) * f / c.rope_factor + s * f;
      }
    }
    P.inv_freq[size_t(i)] = float(f);
  }
  const int64_t B = std::min(kChunk, P.ctx);
  P.x.resize(size_t(B * D));
  P.h.resize(size_t(B * std::max(D, QD)));
  P.q.resize(size_t(B * QD));
  P.k.resize(size_t(B * KVD));
  P.v.resize(size_t(B * KVD));
  P.att.resize(size_t(B * QD));
  P.g.resize(size_t(B * F));
  P.u.resize(size_t(B * F));
  P.scratch_tasks = 64;
  P.scratch.resize(size_t(P.scratch_tasks * P.ctx));
}

LeanModel::~LeanModel() = default;
const LeanConfig& LeanModel::config() const { return p_->c; }
const std::string& LeanModel::packed_type() const { return p_->type; }
int64_t LeanModel::max_context() const { return p_->ctx; }
int64_t LeanModel::position() const { return p_->pos; }
void LeanModel::reset() { p_->pos = 0; }

uint64_t LeanModel::weight_bytes() const {
  uint64_t b = 0;
  for (const auto& n : p_->file->names()) b += p_->file->get(n).nbytes;
  return b;
}

uint64_t LeanModel::decode_bytes_per_token() const {
  const auto& P = *p_;
  uint64_t b = P.lm_head.bytes + uint64_t(P.embed->nbytes / uint64_t(P.c.vocab));
  for (const auto& L : P.layers)
    for (const Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) b += l->bytes;
  return b;
}

const float* LeanModel::forward(const int32_t* ids, int64_t n, bool all_logits) {
  auto& P = *p_;
  const auto& c = P.c;
  check(n > 0, "lean forward: no tokens");
  check(P.pos + n <= P.ctx, P.dir + ": context of " + std::to_string(P.ctx) + " tokens exceeded");
  const int64_t D = c.hidden, F = c.inter, hd = c.head_dim, H = c.heads, KVH = c.kv_heads, QD = H * hd,
                KVD = KVH * hd, V = c.vocab, half = hd / 2;
  const float eps = float(c.eps);
  const int64_t out_rows = all_logits ? n : 1;
  if (int64_t(P.logits.size()) < out_rows * V) P.logits.resize(size_t(out_rows * V));
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t M = std::min(kChunk, n - c0), p0 = P.pos;
    for (int64_t m = 0; m < M; ++m) {
      const int32_t id = ids[c0 + m];
      check(id >= 0 && id < V, "lean forward: token id " + std::to_string(id) + " out of range");
      const uint64_t rb = P.embed->nbytes / uint64_t(V);
      convert_to_float(P.embed->dtype, P.embed->data + uint64_t(id) * rb, size_t(D), P.x.data() + m * D, "embedding");
    }
    for (size_t l = 0; l < P.layers.size(); ++l) {
      const Layer& L = P.layers[l];
      for (int64_t m = 0; m < M; ++m) rmsnorm(P.x.data() + m * D, L.attn_norm, D, eps, P.h.data() + m * D);
      L.q.apply(P.h.data(), M, P.q.data());
      L.k.apply(P.h.data(), M, P.k.data());
      L.v.apply(P.h.data(), M, P.v.data());
      float* kc = P.kcache.data() + (int64_t(l) * P.ctx) * KVD;
      float* vc = P.vcache.data() + (int64_t(l) * P.ctx) * KVD;
      // qk-norm, RoPE, then K/V into the cache.
      parallel_for(M, [&](int64_t m) {
        const float pos = float(p0 + m);
        auto rope = [&](float* x, const float* nw) {
          if (nw) rmsnorm(x, nw, hd, eps, x);
          for (int64_t i = 0; i < half; ++i) {
            const float a = pos * P.inv_freq[size_t(i)];
            const float cs = std::cos(a), sn = std::sin(a);
            const float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cs - x2 * sn;
            x[i + half] = x2 * cs + x1 * sn;
          }
        };
        for (int64_t hh = 0; hh < H; ++hh) rope(P.q.data() + m * QD + hh * hd, L.q_norm);
        for (int64_t hh = 0; hh < KVH; ++hh) rope(P.k.data() + m * KVD + hh * hd, L.k_norm);
        std::memcpy(kc + (p0 + m) * KVD, P.k.data() + m * KVD, size_t(KVD) * 4);
        std::memcpy(vc + (p0 + m) * KVD, P.v.data() + m * KVD, size_t(KVD) * 4);
      });
      // Causal GQA attention, tasks over (token, head) pairs with one scratch row per task.
      const int64_t pairs = M * H, tasks = std::min(P.scratch_tasks, pairs);
      const float scale = float(1.0 / std::sqrt(double(hd)));
      parallel_for(tasks, [&](int64_t t) {
        float* s = P.scratch.data() + t * P.ctx;
        for (int64_t pr = t; pr < pairs; pr += tasks) {
          const int64_t m = pr / H, hh = pr % H, kvh = hh / (H / KVH), T = p0 + m + 1;
          const float* qv = P.q.data() + m * QD + hh * hd;
          float mx = -INFINITY;
          for (int64_t j = 0; j < T; ++j) {
            const float* kv = kc + j * KVD + kvh * hd;
            float d = 0;
            for (int64_t i = 0; i < hd; ++i) d += qv[i] * kv[i];
            s[j] = d * scale;
            mx = std::max(mx, s[j]);
          }
          float sum = 0;
          for (int64_t j = 0; j < T; ++j) sum += (s[j] = std::exp(s[j] - mx));
          const float inv = 1.0f / sum;
          float* o = P.att.data() + m * QD + hh * hd;
          std::fill(o, o + hd, 0.0f);
          for (int64_t j = 0; j < T; ++j) {
            const float* vv = vc + j * KVD + kvh * hd;
            const float wgt = s[j] * inv;
            for (int64_t i = 0; i < hd; ++i) o[i] += wgt * vv[i];
          }
        }
      });
      L.o.apply(P.att.data(), M, P.h.data());
      for (int64_t i = 0; i < M * D; ++i) P.x[size_t(i)] += P.h[size_t(i)];
      for (int64_t m = 0; m < M; ++m) rmsnorm(P.x.data() + m * D, L.ffn_norm, D, eps, P.h.data() + m * D);
      L.gate.apply(P.h.data(), M, P.g.data());
      L.up.apply(P.h.data(), M, P.u.data());
      // SwiGLU in place: g = silu(g) * u.
      parallel_for((M * F + 4095) / 4096, [&](int64_t t) {
        const int64_t e = std::min(M * F, (t + 1) * 4096);
        for (int64_t i = t * 4096; i < e; ++i) {
          const float a = P.g[size_t(i)];
          P.g[size_t(i)] = a / (1.0f + std::exp(-a)) * P.u[size_t(i)];
        }
      });
      L.down.apply(P.g.data(), M, P.h.data());
      for (int64_t i = 0; i < M * D; ++i) P.x[size_t(i)] += P.h[size_t(i)];
    }
    P.pos += M;
    // Final norm + lm_head for the rows whose logits are wanted.
    const int64_t first = all_logits ? 0 : (c0 + M == n ? M - 1 : M);
    if (first < M) {
      for (int64_t m = first; m < M; ++m) rmsnorm(P.x.data() + m * D, P.final_norm, D, eps, P.h.data() + (m - first) * D);
      float* out = P.logits.data() + (all_logits ? c0 : 0) * V;
      P.lm_head.apply(P.h.data(), M - first, out);
    }
  }
  (void)F;
  return P.logits.data();
}

}  // namespace as::lean
