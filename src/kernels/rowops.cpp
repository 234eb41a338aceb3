// RMSNorm and SwiGLU row ops (see rowops.h).
#include "kernels/rowops.h"

#include <cmath>

#include "common/error.h"
#include "kernels/cpu.h"
#include "kernels/exp_neg.h"

namespace as::kernels {

void rmsnorm_ref(const float* x, const float* w, int64_t n, float eps, float* out) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * r * w[i];
}

void silu_mul_ref(const float* g, const float* u, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

namespace {

#if defined(__x86_64__)
#define RO_FN __attribute__((target("avx2,fma")))

// The sum of squares in double: 8 floats widen into two 4-lane accumulators (two more pairs hide
// the FMA latency); the same result as the reference up to the order of the double additions.
RO_FN void rmsnorm_avx2(const float* x, const float* w, int64_t n, float eps, float* out) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    const __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    const __m256d b0 = _mm256_cvtps_pd(_mm256_castps256_ps128(b)), b1 = _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1));
    s0 = _mm256_fmadd_pd(a0, a0, s0), s1 = _mm256_fmadd_pd(a1, a1, s1);
    s2 = _mm256_fmadd_pd(b0, b0, s2), s3 = _mm256_fmadd_pd(b1, b1, s3);
  }
  const __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  for (; i < n; ++i) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  const __m256 vr = _mm256_set1_ps(r);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), vr), _mm256_loadu_ps(w + j)));
  for (; j < n; ++j) out[j] = x[j] * r * w[j];
}

// silu(g) = g / (1 + e^-g) from e = e^-|g| (exp_neg_avx2 needs x <= 0): g / (1 + e) for g >= 0,
// g e / (1 + e) for g < 0. Non-finite g: NaN stays NaN, +inf gives +inf, -inf gives -inf * u
// (the reference gives NaN there; both are non-finite).
RO_FN void silu_mul_avx2(const float* g, const float* u, int64_t n, float* out) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(g + i);
    const __m256 e = detail::exp_neg_avx2(_mm256_or_ps(v, sign));  // -|g|
    const __m256 num = _mm256_mul_ps(v, _mm256_blendv_ps(one, e, v));  // the sign bit of g picks e
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(num, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
  }
  silu_mul_ref(g + i, u + i, n - i, out + i);
}
#endif

}  // namespace

std::vector<std::string> rowops_isas() {
  std::vector<std::string> v{"scalar"};
  if (row_kernel_isa() != "scalar") v.push_back("avx2");
  return v;
}

void rmsnorm_with(const std::string& isa, const float* x, const float* w, int64_t n, float eps, float* out) {
  check(n > 0, "rmsnorm: needs a non-empty row, got length " + std::to_string(n));
  if (isa == "scalar") return rmsnorm_ref(x, w, n, eps, out);
#if defined(__x86_64__)
  if (isa == "avx2" && cpu_has_avx2()) return rmsnorm_avx2(x, w, n, eps, out);
#endif
  throw Error("rmsnorm: ISA '" + isa + "' is unknown or not supported by this CPU");
}

void silu_mul_with(const std::string& isa, const float* g, const float* u, int64_t n, float* out) {
  check(n >= 0, "silu_mul: negative length " + std::to_string(n));
  if (isa == "scalar") return silu_mul_ref(g, u, n, out);
#if defined(__x86_64__)
  if (isa == "avx2" && cpu_has_avx2()) return silu_mul_avx2(g, u, n, out);
#endif
  throw Error("silu_mul: ISA '" + isa + "' is unknown or not supported by this CPU");
}

// The hot paths: the implementation is chosen once.
void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* out) {
#if defined(__x86_64__)
  static const bool simd = row_kernel_isa() != "scalar";
  if (simd && n > 0) return rmsnorm_avx2(x, w, n, eps, out);
#endif
  rmsnorm_with("scalar", x, w, n, eps, out);
}
void silu_mul(const float* g, const float* u, int64_t n, float* out) {
#if defined(__x86_64__)
  static const bool simd = row_kernel_isa() != "scalar";
  if (simd) return silu_mul_avx2(g, u, n, out);
#endif
  silu_mul_ref(g, u, n, out);
}

}  // namespace as::kernels
