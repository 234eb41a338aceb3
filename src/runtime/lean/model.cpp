// Lean forward pass (see lean.h). Weights come from weights_packed.cpp / weights_gguf.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "io/gguf/gguf.h"
#include "kernels/attention.h"
#include "kernels/rowops.h"
#include "kernels/packed/internal.h"
#include "runtime/lean/lean.h"
#include "runtime/lean/weights.h"

namespace as::lean {
namespace {

using detail::Layer;
using detail::Linear;
using packed::detail::parallel_for;

constexpr int64_t kChunk = 512;  // prefill tokens per forward chunk (buffers are sized for it)

using kernels::rmsnorm;

}  // namespace

struct LeanModel::Impl {
  detail::Weights W;
  kernels::KvType kv = kernels::KvType::F16;
  int64_t ctx = 0, pos = 0;
  std::vector<uint8_t> kcache, vcache;  // [L][kv_head][ctx][head_dim] elements of type kv
  std::vector<float> inv_freq;          // [head_dim / 2]
  std::vector<float> rope_cs;           // [kChunk][2][head_dim / 2]: cos, sin of the chunk's positions
  // activations, [kChunk][...]
  std::vector<float> x, h, q, k, v, att, g, u, qkv, logits, scratch;  // u: [B][2F] when gate/up are fused
  int64_t scratch_tasks = 0;

  void init(int64_t max_context, kernels::KvType kv_type);
};

void LeanModel::Impl::init(int64_t max_context, kernels::KvType kv_type) {
  const auto& c = W.c;
  kv = kv_type;
  const int64_t D = c.hidden, F = c.inter, hd = c.head_dim, QD = c.heads * hd, KVD = c.kv_heads * hd;
  ctx = max_context > 0 ? max_context : std::min<int64_t>(c.max_position, 4096);
  const size_t cache_bytes = size_t(c.layers * ctx * KVD) * size_t(kernels::kv_type_bytes(kv));
  kcache.assign(cache_bytes, 0);
  vcache.assign(cache_bytes, 0);
  // RoPE inverse frequencies, with optional llama3 / linear scaling.
  inv_freq.resize(size_t(hd / 2));
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
    inv_freq[size_t(i)] = float(f);
  }
  const int64_t B = std::min(kChunk, ctx);
  x.resize(size_t(B * D));
  h.resize(size_t(B * std::max(D, QD)));
  q.resize(size_t(B * QD));
  k.resize(size_t(B * KVD));
  v.resize(size_t(B * KVD));
  att.resize(size_t(B * QD));
  g.resize(size_t(B * F));
  u.resize(size_t(B * 2 * F));
  qkv.resize(size_t(B * (QD + 2 * KVD)));
  scratch_tasks = 64;
  scratch.resize(size_t(scratch_tasks * ctx));
}

LeanModel::LeanModel(const std::string& dir, int64_t max_context, kernels::KvType kv)
    : p_(std::make_unique<Impl>()) {
  p_->W = detail::load_packed_dir(dir);
  p_->init(max_context, kv);
}

LeanModel::LeanModel(std::shared_ptr<const gguf::GGUFFile> f, const LeanConfig& c, bool rope_adjacent,
                     int64_t max_context, kernels::KvType kv)
    : p_(std::make_unique<Impl>()) {
  p_->W = detail::load_gguf(std::move(f), c, rope_adjacent);
  p_->init(max_context, kv);
}

LeanModel::~LeanModel() = default;
const LeanConfig& LeanModel::config() const { return p_->W.c; }
const std::string& LeanModel::packed_type() const { return p_->W.type; }
const std::string& LeanModel::lm_head_type() const { return p_->W.lm_type; }
const std::vector<std::string>& LeanModel::load_notes() const { return p_->W.notes; }
int64_t LeanModel::interleaved_linears() const {
  int64_t n = p_->W.lm_head.interleaved ? 1 : 0;
  for (const auto& L : p_->W.layers)
    for (const Linear* l : L.linears()) n += l->interleaved ? 1 : 0;
  return n;
}
int64_t LeanModel::recoded_linears() const {
  int64_t n = p_->W.lm_head.recoded_from ? 1 : 0;
  for (const auto& L : p_->W.layers)
    for (const Linear* l : L.linears()) n += l->recoded_from ? 1 : 0;
  return n;
}
int64_t LeanModel::max_context() const { return p_->ctx; }
int64_t LeanModel::position() const { return p_->pos; }
void LeanModel::reset() { p_->pos = 0; }
uint64_t LeanModel::weight_bytes() const { return p_->W.file_bytes; }

kernels::KvType LeanModel::kv_type() const { return p_->kv; }
uint64_t LeanModel::kv_bytes_per_position() const {
  const auto& c = p_->W.c;
  return uint64_t(2 * c.layers * c.kv_heads * c.head_dim) * uint64_t(kernels::kv_type_bytes(p_->kv));
}

uint64_t LeanModel::decode_bytes_per_token() const {
  const auto& W = p_->W;
  uint64_t b = W.lm_head.bytes + W.embed.row_bytes;
  for (const auto& L : W.layers)
    for (const Linear* l : L.linears()) b += l->bytes;
  return b;
}

const float* LeanModel::forward(const int32_t* ids, int64_t n, bool all_logits) {
  auto& P = *p_;
  const auto& W = P.W;
  const auto& c = W.c;
  check(n > 0, "lean forward: no tokens");
  check(P.pos + n <= P.ctx, W.source + ": context of " + std::to_string(P.ctx) + " tokens exceeded");
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
      W.embed.decode(W.embed.data + uint64_t(id) * W.embed.row_bytes, P.x.data() + m * D);
    }
    // The rotation angles of the chunk's positions, once for every layer and head.
    if (int64_t(P.rope_cs.size()) < M * hd) P.rope_cs.resize(size_t(kChunk * hd));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < half; ++i) {
        const float a = float(p0 + m) * P.inv_freq[size_t(i)];
        P.rope_cs[size_t(m * hd + i)] = std::cos(a), P.rope_cs[size_t(m * hd + half + i)] = std::sin(a);
      }
    for (size_t l = 0; l < W.layers.size(); ++l) {
      const Layer& L = W.layers[l];
      for (int64_t m = 0; m < M; ++m) rmsnorm(P.x.data() + m * D, L.attn_norm, D, eps, P.h.data() + m * D);
      if (L.qkv.N) {
        const int64_t NQ = QD + 2 * KVD;
        L.qkv.apply(P.h.data(), M, P.qkv.data());
        for (int64_t m = 0; m < M; ++m) {
          const float* y = P.qkv.data() + m * NQ;
          std::memcpy(P.q.data() + m * QD, y, size_t(QD) * sizeof(float));
          std::memcpy(P.k.data() + m * KVD, y + QD, size_t(KVD) * sizeof(float));
          std::memcpy(P.v.data() + m * KVD, y + QD + KVD, size_t(KVD) * sizeof(float));
        }
      } else {
        L.q.apply(P.h.data(), M, P.q.data());
        L.k.apply(P.h.data(), M, P.k.data());
        L.v.apply(P.h.data(), M, P.v.data());
      }
      const int64_t eb = kernels::kv_type_bytes(P.kv);
      uint8_t* kc = P.kcache.data() + (int64_t(l) * P.ctx) * KVD * eb;
      uint8_t* vc = P.vcache.data() + (int64_t(l) * P.ctx) * KVD * eb;
      // qk-norm, RoPE, then K/V into the cache.
      parallel_for(M, [&](int64_t m) {
        const float* rc = P.rope_cs.data() + m * hd;
        const float* rs = rc + half;
        auto rope = [&](float* x, const float* nw) {
          if (nw) rmsnorm(x, nw, hd, eps, x);
          // Pair i is (i, i + half) in the HF layout, (2i, 2i + 1) in llama.cpp's llama layout.
          const int64_t stride = W.rope_adjacent ? 2 : 1, other = W.rope_adjacent ? 1 : half;
          for (int64_t i = 0; i < half; ++i) {
            const float cs = rc[i], sn = rs[i];
            float* p1 = x + i * stride;
            const float x1 = p1[0], x2 = p1[other];
            p1[0] = x1 * cs - x2 * sn;
            p1[other] = x2 * cs + x1 * sn;
          }
        };
        for (int64_t hh = 0; hh < H; ++hh) rope(P.q.data() + m * QD + hh * hd, L.q_norm);
        for (int64_t hh = 0; hh < KVH; ++hh) rope(P.k.data() + m * KVD + hh * hd, L.k_norm);
        // Each head's positions are contiguous, so attention streams them (a [pos][kv_dim] layout
        // reads 2-byte rows of hd elements kv_dim apart, a stride the hardware prefetchers skip).
        for (int64_t hh = 0; hh < KVH; ++hh) {
          const int64_t off = (hh * P.ctx + p0 + m) * hd * eb;
          kernels::kv_store(P.kv, P.k.data() + m * KVD + hh * hd, hd, kc + off);
          kernels::kv_store(P.kv, P.v.data() + m * KVD + hh * hd, hd, vc + off);
        }
      });
      // Causal GQA attention. Prefill: tasks over (head, block of kQB tokens), each key / value row
      // read once per block (attend_block). Decode: tasks over heads with one scratch row per task.
      const float scale = float(1.0 / std::sqrt(double(hd)));
      constexpr int64_t kQB = 32;
      if (M > 1) {
        const int64_t nblk = (M + kQB - 1) / kQB;
        parallel_for(H * nblk, [&](int64_t t) {
          const int64_t hh = t / nblk, m0 = (t % nblk) * kQB, kvh = hh / (H / KVH);
          kernels::AttnArgs a;
          a.kv = P.kv, a.hd = hd, a.stride = hd, a.scale = scale;
          a.K = kc + kvh * P.ctx * hd * eb;
          a.V = vc + kvh * P.ctx * hd * eb;
          a.T = p0 + m0 + 1;
          kernels::attend_block(a, std::min(kQB, M - m0), P.q.data() + m0 * QD + hh * hd, QD,
                                P.att.data() + m0 * QD + hh * hd, QD);
        });
      }
      const int64_t pairs = M > 1 ? 0 : H, tasks = std::min(P.scratch_tasks, pairs);
      parallel_for(tasks, [&](int64_t t) {
        kernels::AttnArgs a;
        a.kv = P.kv, a.hd = hd, a.stride = hd, a.scale = scale;
        a.scratch = P.scratch.data() + t * P.ctx;
        for (int64_t pr = t; pr < pairs; pr += tasks) {
          const int64_t m = pr / H, hh = pr % H, kvh = hh / (H / KVH);
          a.q = P.q.data() + m * QD + hh * hd;
          a.K = kc + kvh * P.ctx * hd * eb;
          a.V = vc + kvh * P.ctx * hd * eb;
          a.T = p0 + m + 1;
          a.out = P.att.data() + m * QD + hh * hd;
          kernels::attend(a);
        }
      });
      L.o.apply(P.att.data(), M, P.h.data());
      for (int64_t i = 0; i < M * D; ++i) P.x[size_t(i)] += P.h[size_t(i)];
      for (int64_t m = 0; m < M; ++m) rmsnorm(P.x.data() + m * D, L.ffn_norm, D, eps, P.h.data() + m * D);
      // gate and up into [M][F] each, or fused into u as [M][2F] (gate | up per row).
      const bool fused = L.gate_up.N != 0;
      if (fused) {
        L.gate_up.apply(P.h.data(), M, P.u.data());
      } else {
        L.gate.apply(P.h.data(), M, P.g.data());
        L.up.apply(P.h.data(), M, P.u.data());
      }
      const float* gs = fused ? P.u.data() : P.g.data();
      const float* us = fused ? P.u.data() + F : P.u.data();
      // SwiGLU into g: g = silu(gate) * up, in chunks of 1024 so that decode's single row is shared too.
      const int64_t rstride = fused ? 2 * F : F, nc = (F + 1023) / 1024;
      parallel_for(M * nc, [&](int64_t t) {
        const int64_t m = t / nc, j0 = (t % nc) * 1024, j1 = std::min(F, j0 + 1024);
        const float* gr = gs + m * rstride;
        const float* ur = us + m * rstride;
        float* out = P.g.data() + m * F;
        kernels::silu_mul(gr + j0, ur + j0, j1 - j0, out + j0);
      });
      L.down.apply(P.g.data(), M, P.h.data());
      for (int64_t i = 0; i < M * D; ++i) P.x[size_t(i)] += P.h[size_t(i)];
    }
    P.pos += M;
    // Final norm + lm_head for the rows whose logits are wanted.
    const int64_t first = all_logits ? 0 : (c0 + M == n ? M - 1 : M);
    if (first < M) {
      for (int64_t m = first; m < M; ++m) rmsnorm(P.x.data() + m * D, W.final_norm, D, eps, P.h.data() + (m - first) * D);
      float* out = P.logits.data() + (all_logits ? c0 : 0) * V;
      W.lm_head.apply(P.h.data(), M - first, out);
    }
  }
  (void)F;
  return P.logits.data();
}

}  // namespace as::lean
