// The vectorized e^x (x <= 0) of the row kernels: constants shared by every width, and the AVX2
// version (attention.cpp's softmax, rowops.cpp's SwiGLU; attention_avx512.cpp builds the AVX-512
// one from the same constants). x is clamped to kMin (the result stays
// normal; below it flushes to 0), reduced as x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in a high
// part exact in float and a low correction), and e^r is the degree-6 Taylor polynomial evaluated by
// Horner from kPoly[0]: relative error ~2 ulp. The result is p * 2^n, with 2^n built in the exponent.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace as::kernels::detail::exp_neg {
inline constexpr float kMin = -87.3f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;
inline constexpr float kLn2Lo = 1.428606765330187045e-06f;
inline constexpr float kPoly[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
}  // namespace as::kernels::detail::exp_neg

#if defined(__x86_64__)
namespace as::kernels::detail {
// e^x for x <= 0, 8 lanes (AVX2 + FMA).
__attribute__((target("avx2,fma"))) inline __m256 exp_neg_avx2(__m256 x) {
  namespace E = exp_neg;
  x = _mm256_max_ps(x, _mm256_set1_ps(E::kMin));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(E::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(E::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(E::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(E::kPoly[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(E::kPoly[i]));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
}  // namespace as::kernels::detail
#endif
