#include "kernels/half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace as::kernels {

void bf16_to_f32_row(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}
void f32_to_bf16_row(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}
void f16_to_f32_row(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
namespace {
#if defined(__x86_64__)
// Whole groups of 8 with vcvtps2ph, which rounds to nearest even like f32_to_f16 (NaNs keep their
// payload instead of becoming the canonical quiet NaN). Returns how many it converted.
__attribute__((target("avx,f16c"))) size_t f32_to_f16_f16c(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return i;
}
bool has_f16c() {
  static const bool yes = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return yes;
}
#else
size_t f32_to_f16_f16c(const float*, uint16_t*, size_t) { return 0; }
bool has_f16c() { return false; }
#endif
}  // namespace

void f32_to_f16_row(const float* src, uint16_t* dst, size_t n) {
  size_t i = has_f16c() ? f32_to_f16_f16c(src, dst, n) : 0;
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace as::kernels
