// Attention row kernel (see attention.h): scalar reference, AVX2+FMA+F16C version, dispatch
// (the AVX-512 version is in attention_avx512.cpp).
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/cpu.h"
#include "kernels/exp_neg.h"
#include "kernels/half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace as::kernels {
namespace detail {
// attention_avx512.cpp
void attend_avx512(const AttnArgs& a);
void attend_block_avx512(const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride, float* out,
                         int64_t o_stride);
}  // namespace detail

namespace {
// attend_block as one attend() call per query (scratch: a.T + nq - 1 floats per thread).
void attend_block_rows(const std::string& isa, const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride,
                       float* out, int64_t o_stride) {
  thread_local std::vector<float> s;
  if (s.size() < size_t(a.T + nq)) s.resize(size_t(a.T + nq));
  AttnArgs r = a;
  r.scratch = s.data();
  for (int64_t i = 0; i < nq; ++i) {
    r.q = q + i * q_stride, r.out = out + i * o_stride, r.T = a.T + i;
    attend_with(isa, r);
  }
}
}  // namespace

const char* kv_type_name(KvType t) { return t == KvType::F32 ? "f32" : "f16"; }

KvType kv_type_from_name(const char* name) {
  const std::string s = name ? name : "";
  if (s == "f32") return KvType::F32;
  if (s == "f16") return KvType::F16;
  throw Error("unknown KV cache type '" + s + "' (expected f32 or f16)");
}

void kv_store(KvType t, const float* src, int64_t n, void* dst) {
  if (t == KvType::F32) {
    std::memcpy(dst, src, size_t(n) * 4);
    return;
  }
  f32_to_f16_row(src, static_cast<uint16_t*>(dst), size_t(n));
}

namespace {
inline float load_kv(KvType t, const void* base, int64_t idx) {
  if (t == KvType::F32) return static_cast<const float*>(base)[idx];
  return f16_to_f32(static_cast<const uint16_t*>(base)[idx]);
}
}  // namespace

void attend_ref(const AttnArgs& a) {
  check(a.T > 0 && a.hd > 0 && a.stride >= a.hd, "attend: bad sizes");
  float mx = -INFINITY;
  for (int64_t j = 0; j < a.T; ++j) {
    double d = 0;
    for (int64_t i = 0; i < a.hd; ++i) d += double(a.q[i]) * load_kv(a.kv, a.K, j * a.stride + i);
    a.scratch[j] = float(d) * a.scale;
    mx = std::max(mx, a.scratch[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j < a.T; ++j) sum += (a.scratch[j] = std::exp(a.scratch[j] - mx));
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < a.hd; ++i) {
    double o = 0;
    for (int64_t j = 0; j < a.T; ++j) o += double(a.scratch[j]) * load_kv(a.kv, a.V, j * a.stride + i);
    a.out[i] = float(o) * inv;
  }
}

#if defined(__x86_64__)
namespace {
#define AT_FN __attribute__((target("avx2,fma,f16c"))) static inline

AT_FN __m256 ld(KvType t, const void* base, int64_t idx) {
  if (t == KvType::F32) return _mm256_loadu_ps(static_cast<const float*>(base) + idx);
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + idx)));
}
AT_FN float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
// out[c0 .. c0 + 8 NV) = sum_j p_j V[j][c0 ..]: the output chunk stays in NV registers over all keys
// (each V row is read once per chunk; no load/store of the output per key).
template <KvType KT, int NV>
__attribute__((target("avx2,fma,f16c"))) void pv_chunk(const AttnArgs& a, const float* p, int64_t c0, float inv) {
  __m256 acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_ps();
  for (int64_t j = 0; j < a.T; ++j) {
    const __m256 pj = _mm256_set1_ps(p[j]);
    const int64_t base = j * a.stride + c0;
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_fmadd_ps(pj, ld(KT, a.V, base + 8 * v), acc[v]);
  }
  const __m256 vinv = _mm256_set1_ps(inv);
  for (int v = 0; v < NV; ++v) _mm256_storeu_ps(a.out + c0 + 8 * v, _mm256_mul_ps(acc[v], vinv));
}

template <KvType KT>
__attribute__((target("avx2,fma,f16c"))) void attend_avx2_t(const AttnArgs& a) {
  const int64_t T = a.T, hd = a.hd, st = a.stride, hv = hd & ~int64_t(7);
  float* s = a.scratch;
  // scores, four keys at a time
  int64_t j = 0;
  for (; j + 4 <= T; j += 4) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t i = 0; i < hv; i += 8) {
      const __m256 q = _mm256_loadu_ps(a.q + i);
      c0 = _mm256_fmadd_ps(q, ld(KT, a.K, (j + 0) * st + i), c0);
      c1 = _mm256_fmadd_ps(q, ld(KT, a.K, (j + 1) * st + i), c1);
      c2 = _mm256_fmadd_ps(q, ld(KT, a.K, (j + 2) * st + i), c2);
      c3 = _mm256_fmadd_ps(q, ld(KT, a.K, (j + 3) * st + i), c3);
    }
    // transpose-add the four accumulators into one vector of four sums
    const __m256 t01 = _mm256_hadd_ps(c0, c1), t23 = _mm256_hadd_ps(c2, c3);
    const __m256 t = _mm256_hadd_ps(t01, t23);
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    float tmp[4];
    _mm_storeu_ps(tmp, r);
    for (int u = 0; u < 4; ++u) {
      float d = tmp[u];
      for (int64_t i = hv; i < hd; ++i) d += a.q[i] * load_kv(KT, a.K, (j + u) * st + i);
      s[j + u] = d * a.scale;
    }
  }
  for (; j < T; ++j) {
    __m256 c = _mm256_setzero_ps();
    for (int64_t i = 0; i < hv; i += 8) c = _mm256_fmadd_ps(_mm256_loadu_ps(a.q + i), ld(KT, a.K, j * st + i), c);
    float d = hsum(c);
    for (int64_t i = hv; i < hd; ++i) d += a.q[i] * load_kv(KT, a.K, j * st + i);
    s[j] = d * a.scale;
  }
  // softmax numerator and sum
  __m256 vm = _mm256_set1_ps(-INFINITY);
  int64_t tv = T & ~int64_t(7);
  for (j = 0; j < tv; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + j));
  float mx = -INFINITY;
  {
    float t8[8];
    _mm256_storeu_ps(t8, vm);
    for (float v : t8) mx = std::max(mx, v);
    for (j = tv; j < T; ++j) mx = std::max(mx, s[j]);
  }
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vs = _mm256_setzero_ps();
  for (j = 0; j < tv; j += 8) {
    const __m256 e = detail::exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
    _mm256_storeu_ps(s + j, e);
    vs = _mm256_add_ps(vs, e);
  }
  float sum = hsum(vs);
  for (j = tv; j < T; ++j) sum += (s[j] = std::exp(s[j] - mx));
  const float inv = 1.0f / sum;
  // out = sum_j p_j V[j] / sum, in register-resident chunks of up to 64 dims
  for (int64_t c0 = 0; c0 < hv; c0 += 64) {
    switch (std::min<int64_t>(8, (hv - c0) / 8)) {
      case 1: pv_chunk<KT, 1>(a, s, c0, inv); break;
      case 2: pv_chunk<KT, 2>(a, s, c0, inv); break;
      case 3: pv_chunk<KT, 3>(a, s, c0, inv); break;
      case 4: pv_chunk<KT, 4>(a, s, c0, inv); break;
      case 5: pv_chunk<KT, 5>(a, s, c0, inv); break;
      case 6: pv_chunk<KT, 6>(a, s, c0, inv); break;
      case 7: pv_chunk<KT, 7>(a, s, c0, inv); break;
      default: pv_chunk<KT, 8>(a, s, c0, inv); break;
    }
  }
  for (int64_t i = hv; i < hd; ++i) {
    float o = 0.0f;
    for (int64_t j = 0; j < T; ++j) o += s[j] * load_kv(KT, a.V, j * st + i);
    a.out[i] = o * inv;
  }
}

__attribute__((target("avx2,fma,f16c"))) void attend_avx2(const AttnArgs& a) {
  if (a.kv == KvType::F32) attend_avx2_t<KvType::F32>(a);
  else attend_avx2_t<KvType::F16>(a);
}

const std::string& best_isa() { return row_kernel_isa(); }  // cpu.h
}  // namespace

std::vector<std::string> attend_isas() {
  std::vector<std::string> v{"scalar"};
  if (best_isa() != "scalar") v.push_back("avx2");
  if (best_isa() == "avx512") v.push_back("avx512");
  return v;
}

void attend_with(const std::string& isa, const AttnArgs& a) {
  if (isa == "scalar") return attend_ref(a);
  check(a.T > 0 && a.hd > 0 && a.stride >= a.hd, "attend: bad sizes");
  if (isa == "avx2" && cpu_has_avx2()) return attend_avx2(a);
  if (isa == "avx512" && cpu_has_avx512()) return detail::attend_avx512(a);
  throw Error("attend: ISA '" + isa + "' is unknown or not supported by this CPU");
}

// The decode hot path (one call per head and token): the implementation is chosen once.
void attend(const AttnArgs& a) {
  using Fn = void (*)(const AttnArgs&);
  static const Fn best = best_isa() == "avx512" ? detail::attend_avx512 : best_isa() == "avx2" ? attend_avx2 : attend_ref;
  if (best == attend_ref) return attend_ref(a);
  check(a.T > 0 && a.hd > 0 && a.stride >= a.hd, "attend: bad sizes");
  best(a);
}

void attend_block_with(const std::string& isa, const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride,
                       float* out, int64_t o_stride) {
  check(nq >= 1 && q != nullptr && out != nullptr, "attend_block: needs nq >= 1 queries and outputs");
  if (isa == "avx512" && cpu_has_avx512()) {
    check(a.T > 0 && a.hd > 0 && a.stride >= a.hd, "attend: bad sizes");
    return detail::attend_block_avx512(a, nq, q, q_stride, out, o_stride);
  }
  attend_block_rows(isa, a, nq, q, q_stride, out, o_stride);
}

void attend_block(const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride, float* out, int64_t o_stride) {
  attend_block_with(attend_isa(), a, nq, q, q_stride, out, o_stride);
}
const char* attend_isa() { return best_isa().c_str(); }

#else
std::vector<std::string> attend_isas() { return {"scalar"}; }
void attend_with(const std::string& isa, const AttnArgs& a) {
  check(isa == "scalar", "attend: ISA '" + isa + "' is unknown or not supported by this CPU");
  attend_ref(a);
}
void attend(const AttnArgs& a) { attend_ref(a); }
const char* attend_isa() { return "scalar"; }
void attend_block_with(const std::string& isa, const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride,
                       float* out, int64_t o_stride) {
  check(nq >= 1 && q != nullptr && out != nullptr, "attend_block: needs nq >= 1 queries and outputs");
  attend_block_rows(isa, a, nq, q, q_stride, out, o_stride);
}
void attend_block(const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride, float* out, int64_t o_stride) {
  attend_block_with("scalar", a, nq, q, q_stride, out, o_stride);
}
#endif

}  // namespace as::kernels
