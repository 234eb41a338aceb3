// AVX-512 attention row kernel (see attention.h): 16 lanes per vector, head dims that are not a
// multiple of 16 (e.g. 100) through masked loads instead of scalar tails, fp16 caches converted by
// vcvtph2ps. Same structure as the AVX2 kernel: scores four keys at a time, softmax with a
// vectorized exp, then sum_j p_j V[j] with the output held in registers.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention.h"
#include "kernels/exp_neg.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized (see kernels/packed/kernels_avx512.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace as::kernels::detail {
namespace {
#define A5_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) static inline

template <KvType KT>
A5_FN __m512 ld16(const void* base, int64_t idx, __mmask16 m) {
  if constexpr (KT == KvType::F32) return _mm512_maskz_loadu_ps(m, static_cast<const float*>(base) + idx);
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(base) + idx));
}

A5_FN __m256 half(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
// Four vectors -> their four horizontal sums.
A5_FN __m128 hsum4(__m512 c0, __m512 c1, __m512 c2, __m512 c3) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(half(c0), half(c1)), _mm256_hadd_ps(half(c2), half(c3)));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// e^x for x <= 0 (exp_neg.h), 16 lanes.
A5_FN __m512 exp_neg16(__m512 x) {
  namespace E = detail::exp_neg;
  x = _mm512_max_ps(x, _mm512_set1_ps(E::kMin));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(E::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(E::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(E::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(E::kPoly[0]);
  for (int i = 1; i < 7; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(E::kPoly[i]));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// out[c0 .. c0 + 16 NV) = inv * sum_j p_j V[j][c0 ..], the last vector masked by `last`.
template <KvType KT, int NV>
A5_FN void pv_chunk(const AttnArgs& a, const float* p, int64_t c0, __mmask16 last, float inv) {
  __m512 acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = _mm512_setzero_ps();
  for (int64_t j = 0; j < a.T; ++j) {
    const __m512 pj = _mm512_set1_ps(p[j]);
    const int64_t base = j * a.stride + c0;
    for (int v = 0; v < NV; ++v)
      acc[v] = _mm512_fmadd_ps(pj, ld16<KT>(a.V, base + 16 * v, v == NV - 1 ? last : __mmask16(0xFFFF)), acc[v]);
  }
  const __m512 vinv = _mm512_set1_ps(inv);
  for (int v = 0; v < NV; ++v)
    _mm512_mask_storeu_ps(a.out + c0 + 16 * v, v == NV - 1 ? last : __mmask16(0xFFFF), _mm512_mul_ps(acc[v], vinv));
}

template <KvType KT>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) void attend_t(const AttnArgs& a) {
  const int64_t T = a.T, hd = a.hd, st = a.stride, nv = (hd + 15) / 16;
  const __mmask16 tail = hd % 16 ? __mmask16((1u << (hd % 16)) - 1) : __mmask16(0xFFFF);
  float* s = a.scratch;
  auto mask = [&](int64_t v) { return v == nv - 1 ? tail : __mmask16(0xFFFF); };
  // scores, four keys at a time
  int64_t j = 0;
  for (; j + 4 <= T; j += 4) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t v = 0; v < nv; ++v) {
      const __mmask16 m = mask(v);
      const __m512 q = _mm512_maskz_loadu_ps(m, a.q + 16 * v);
      c0 = _mm512_fmadd_ps(q, ld16<KT>(a.K, (j + 0) * st + 16 * v, m), c0);
      c1 = _mm512_fmadd_ps(q, ld16<KT>(a.K, (j + 1) * st + 16 * v, m), c1);
      c2 = _mm512_fmadd_ps(q, ld16<KT>(a.K, (j + 2) * st + 16 * v, m), c2);
      c3 = _mm512_fmadd_ps(q, ld16<KT>(a.K, (j + 3) * st + 16 * v, m), c3);
    }
    _mm_storeu_ps(s + j, _mm_mul_ps(hsum4(c0, c1, c2, c3), _mm_set1_ps(a.scale)));
  }
  for (; j < T; ++j) {
    __m512 c = _mm512_setzero_ps();
    for (int64_t v = 0; v < nv; ++v) {
      const __mmask16 m = mask(v);
      c = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a.q + 16 * v), ld16<KT>(a.K, j * st + 16 * v, m), c);
    }
    s[j] = _mm512_reduce_add_ps(c) * a.scale;
  }
  // softmax numerator and sum (masked tail of T)
  __m512 vm = _mm512_set1_ps(-INFINITY);
  for (j = 0; j < T; j += 16) {
    const __mmask16 m = T - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (T - j)) - 1);
    vm = _mm512_mask_max_ps(vm, m, vm, _mm512_maskz_loadu_ps(m, s + j));
  }
  const __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  __m512 vs = _mm512_setzero_ps();
  for (j = 0; j < T; j += 16) {
    const __mmask16 m = T - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (T - j)) - 1);
    const __m512 e = exp_neg16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), vmx));
    _mm512_mask_storeu_ps(s + j, m, e);
    vs = _mm512_mask_add_ps(vs, m, vs, e);
  }
  const float inv = 1.0f / _mm512_reduce_add_ps(vs);
  // out = sum_j p_j V[j] / sum, in register-resident chunks of up to 128 dims
  for (int64_t c0 = 0; c0 < hd; c0 += 128) {
    const int64_t n = std::min<int64_t>(8, (hd - c0 + 15) / 16);
    const __mmask16 last = c0 + 16 * n >= hd ? tail : __mmask16(0xFFFF);
    switch (n) {
      case 1: pv_chunk<KT, 1>(a, s, c0, last, inv); break;
      case 2: pv_chunk<KT, 2>(a, s, c0, last, inv); break;
      case 3: pv_chunk<KT, 3>(a, s, c0, last, inv); break;
      case 4: pv_chunk<KT, 4>(a, s, c0, last, inv); break;
      case 5: pv_chunk<KT, 5>(a, s, c0, last, inv); break;
      case 6: pv_chunk<KT, 6>(a, s, c0, last, inv); break;
      case 7: pv_chunk<KT, 7>(a, s, c0, last, inv); break;
      default: pv_chunk<KT, 8>(a, s, c0, last, inv); break;
    }
  }
}

// ---- blocks of queries (prefill) ----
// Scores of NQ queries (rows q + i * qs, i < NQ) against keys [0, T): S[i * ss + j].
template <KvType KT, int NQ>
A5_FN void block_scores(const AttnArgs& a, const float* q, int64_t qs, int64_t T, float* S, int64_t ss) {
  const int64_t hd = a.hd, nv = (hd + 15) / 16;
  const __mmask16 tail = hd % 16 ? __mmask16((1u << (hd % 16)) - 1) : __mmask16(0xFFFF);
  for (int64_t j = 0; j < T; ++j) {
    __m512 acc[NQ];
    for (int i = 0; i < NQ; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t v = 0; v < nv; ++v) {
      const __mmask16 m = v == nv - 1 ? tail : __mmask16(0xFFFF);
      const __m512 k = ld16<KT>(a.K, j * a.stride + 16 * v, m);
      for (int i = 0; i < NQ; ++i) acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i * qs + 16 * v), k, acc[i]);
    }
    for (int i = 0; i < NQ; i += 4) {
      alignas(16) float r[4];
      _mm_store_ps(r, hsum4(acc[i], acc[std::min(i + 1, NQ - 1)], acc[std::min(i + 2, NQ - 1)],
                            acc[std::min(i + 3, NQ - 1)]));
      for (int u = 0; u < 4 && i + u < NQ; ++u) S[(i + u) * ss + j] = r[u] * a.scale;
    }
  }
}

// Row of T scores -> probabilities (normalized), zero from T to Tz.
A5_FN void softmax_row(float* s, int64_t T, int64_t Tz) {
  __m512 vm = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < T; j += 16) {
    const __mmask16 m = T - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (T - j)) - 1);
    vm = _mm512_mask_max_ps(vm, m, vm, _mm512_maskz_loadu_ps(m, s + j));
  }
  const __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  __m512 vs = _mm512_setzero_ps();
  for (int64_t j = 0; j < T; j += 16) {
    const __mmask16 m = T - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (T - j)) - 1);
    const __m512 e = exp_neg16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), vmx));
    _mm512_mask_storeu_ps(s + j, m, e);
    vs = _mm512_mask_add_ps(vs, m, vs, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
  for (int64_t j = 0; j < T; j += 16) {
    const __mmask16 m = T - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (T - j)) - 1);
    _mm512_mask_storeu_ps(s + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), inv));
  }
  for (int64_t j = T; j < Tz; ++j) s[j] = 0.0f;
}

// out rows of NQ queries, dims [c0, c0 + 16 NV): sum_j P[i][j] V[j], keys [0, T).
template <KvType KT, int NQ, int NV>
A5_FN void block_pv(const AttnArgs& a, const float* P, int64_t ps, int64_t T, int64_t c0, __mmask16 last, float* out,
                    int64_t os) {
  __m512 acc[NQ][NV];
  for (int i = 0; i < NQ; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int64_t j = 0; j < T; ++j) {
    __m512 vv[NV];
    for (int v = 0; v < NV; ++v) vv[v] = ld16<KT>(a.V, j * a.stride + c0 + 16 * v, v == NV - 1 ? last : __mmask16(0xFFFF));
    for (int i = 0; i < NQ; ++i) {
      const __m512 p = _mm512_set1_ps(P[i * ps + j]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(p, vv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < NQ; ++i)
    for (int v = 0; v < NV; ++v)
      _mm512_mask_storeu_ps(out + i * os + c0 + 16 * v, v == NV - 1 ? last : __mmask16(0xFFFF), acc[i][v]);
}

template <KvType KT, int NQ>
A5_FN void block_pv_dims(const AttnArgs& a, const float* P, int64_t ps, int64_t T, float* out, int64_t os) {
  const int64_t hd = a.hd;
  const __mmask16 tail = hd % 16 ? __mmask16((1u << (hd % 16)) - 1) : __mmask16(0xFFFF);
  for (int64_t c0 = 0; c0 < hd; c0 += 64) {
    const int64_t n = std::min<int64_t>(4, (hd - c0 + 15) / 16);
    const __mmask16 last = c0 + 16 * n >= hd ? tail : __mmask16(0xFFFF);
    switch (n) {
      case 1: block_pv<KT, NQ, 1>(a, P, ps, T, c0, last, out, os); break;
      case 2: block_pv<KT, NQ, 2>(a, P, ps, T, c0, last, out, os); break;
      case 3: block_pv<KT, NQ, 3>(a, P, ps, T, c0, last, out, os); break;
      default: block_pv<KT, NQ, 4>(a, P, ps, T, c0, last, out, os); break;
    }
  }
}

template <KvType KT>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) void block_t(const AttnArgs& a, int64_t nq,
                                                                                 const float* q, int64_t qs,
                                                                                 float* out, int64_t os) {
  const int64_t ss = a.T + nq;  // row stride of the score rows (>= the last query's key count)
  thread_local std::vector<float> scratch;
  if (scratch.size() < size_t(nq * ss)) scratch.resize(size_t(nq * ss));
  float* S = scratch.data();
  // Scores in groups of 8 queries (each key row loaded once per group), up to the group's last key.
  for (int64_t i0 = 0; i0 < nq; i0 += 8) {
    const int64_t g = std::min<int64_t>(8, nq - i0), T = a.T + i0 + g - 1;
    const float* qg = q + i0 * qs;
    float* Sg = S + i0 * ss;
    switch (g) {
      case 1: block_scores<KT, 1>(a, qg, qs, T, Sg, ss); break;
      case 2: block_scores<KT, 2>(a, qg, qs, T, Sg, ss); break;
      case 3: block_scores<KT, 3>(a, qg, qs, T, Sg, ss); break;
      case 4: block_scores<KT, 4>(a, qg, qs, T, Sg, ss); break;
      case 5: block_scores<KT, 5>(a, qg, qs, T, Sg, ss); break;
      case 6: block_scores<KT, 6>(a, qg, qs, T, Sg, ss); break;
      case 7: block_scores<KT, 7>(a, qg, qs, T, Sg, ss); break;
      default: block_scores<KT, 8>(a, qg, qs, T, Sg, ss); break;
    }
  }
  // Causal softmax per query; the keys past a query's own (up to its group's last) get probability 0.
  for (int64_t i = 0; i < nq; ++i) softmax_row(S + i * ss, a.T + i, std::min(ss, a.T + (i / 4) * 4 + 4));
  // Values in groups of 4 queries, up to the group's last key.
  for (int64_t i0 = 0; i0 < nq; i0 += 4) {
    const int64_t g = std::min<int64_t>(4, nq - i0), T = a.T + i0 + g - 1;
    const float* Pg = S + i0 * ss;
    float* og = out + i0 * os;
    switch (g) {
      case 1: block_pv_dims<KT, 1>(a, Pg, ss, T, og, os); break;
      case 2: block_pv_dims<KT, 2>(a, Pg, ss, T, og, os); break;
      case 3: block_pv_dims<KT, 3>(a, Pg, ss, T, og, os); break;
      default: block_pv_dims<KT, 4>(a, Pg, ss, T, og, os); break;
    }
  }
}

}  // namespace

void attend_block_avx512(const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride, float* out,
                         int64_t o_stride) {
  if (a.kv == KvType::F32) block_t<KvType::F32>(a, nq, q, q_stride, out, o_stride);
  else block_t<KvType::F16>(a, nq, q, q_stride, out, o_stride);
}

void attend_avx512(const AttnArgs& a) {
  if (a.kv == KvType::F32) attend_t<KvType::F32>(a);
  else attend_t<KvType::F16>(a);
}

}  // namespace as::kernels::detail
#endif
