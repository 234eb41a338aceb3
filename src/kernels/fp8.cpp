#include "kernels/fp8.h"

#include <array>
#include <cmath>
#include <cstring>

namespace as::kernels {
namespace {

// Generic RNE encoder for a sign/exponent/mantissa minifloat with `E` exponent bits, `M` mantissa
// bits and a given bias. `max_code` is the magnitude code of the largest finite value.
template <int E, int M>
uint8_t encode_minifloat(float x, int bias, uint8_t max_code, float max_val, uint8_t nan_code) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint8_t sign = uint8_t((bits >> 24) & 0x80u);
  if (std::isnan(x)) return uint8_t(sign | nan_code);
  float a = std::fabs(x);
  if (a >= max_val) return uint8_t(sign | max_code);  // saturate (covers inf)
  const int min_exp = 1 - bias;                        // exponent of the smallest normal
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  int exp = e - 1;    // a = 1.m * 2^exp
  if (exp < min_exp) exp = min_exp;  // subnormal range shares the min-normal quantum
  // quantum (value of one mantissa ulp) at this exponent
  const float q = std::ldexp(1.0f, exp - M);
  float n = std::nearbyint(a / q);  // RNE under the default rounding mode; a/q is exact (power of 2)
  // n in [0, 2^(M+1)]; rounding may carry into the next binade
  uint32_t ni = uint32_t(n);
  int biased;
  uint32_t mant;
  if (ni >= (1u << (M + 1))) {  // carried over: 2^(M+1) * q = 1.0 * 2^(exp+1)
    exp += 1;
    ni >>= 1;
  }
  if (ni < (1u << M)) {  // subnormal (only possible at min_exp)
    biased = 0;
    mant = ni;
  } else {
    biased = exp + bias;
    mant = ni - (1u << M);
  }
  uint32_t code = (uint32_t(biased) << M) | mant;
  if (code > max_code) code = max_code;
  return uint8_t(sign | code);
}

std::array<float, 256> build_e4m3_table() {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v) {
    int s = v >> 7, e = (v >> 3) & 0xF, m = v & 7;
    float mag;
    if (e == 15 && m == 7) mag = NAN;
    else if (e == 0) mag = std::ldexp(float(m) / 8.0f, -6);
    else mag = std::ldexp(1.0f + float(m) / 8.0f, e - 7);
    t[v] = s ? -mag : mag;
  }
  return t;
}

std::array<float, 256> build_e5m2_table() {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v) {
    int s = v >> 7, e = (v >> 2) & 0x1F, m = v & 3;
    float mag;
    if (e == 31) mag = m == 0 ? INFINITY : NAN;
    else if (e == 0) mag = std::ldexp(float(m) / 4.0f, -14);
    else mag = std::ldexp(1.0f + float(m) / 4.0f, e - 15);
    t[v] = s ? -mag : mag;
  }
  return t;
}

const std::array<float, 256> kE4M3 = build_e4m3_table();
const std::array<float, 256> kE5M2 = build_e5m2_table();

}  // namespace

uint8_t f32_to_e4m3(float x) { return encode_minifloat<4, 3>(x, 7, 0x7E, kFp8E4M3Max, 0x7F); }
float e4m3_to_f32(uint8_t v) { return kE4M3[v]; }
uint8_t f32_to_e5m2(float x) {
  if (std::isinf(x)) return x > 0 ? 0x7C : 0xFC;
  return encode_minifloat<5, 2>(x, 15, 0x7B, kFp8E5M2Max, 0x7F);
}
float e5m2_to_f32(uint8_t v) { return kE5M2[v]; }

void quantize_e4m3_row(const float* x, uint8_t* q, size_t n, float inv_scale) {
  for (size_t i = 0; i < n; ++i) q[i] = f32_to_e4m3(x[i] * inv_scale);
}
void dequantize_e4m3_row(const uint8_t* q, float* x, size_t n, float scale) {
  for (size_t i = 0; i < n; ++i) x[i] = kE4M3[q[i]] * scale;
}

}  // namespace as::kernels
