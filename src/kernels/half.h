// IEEE fp16 and bfloat16 <-> fp32 conversions (round to nearest even). Torch-free, header-only.
//   bf16: the top 16 bits of an fp32 (s eeeeeeee mmmmmmm).
//   fp16: IEEE binary16 (s eeeee mmmmmmmmmm), bias 15, max 65504.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace as::kernels {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline float bf16_to_f32(uint16_t h) { return bits_f32(uint32_t(h) << 16); }
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN, sign kept
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return bits_f32(sign);
    // subnormal: value = mant * 2^-24
    float v = float(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
  return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline uint16_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);           // NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);          // >= 65520 rounds to inf
  if (a < 0x38800000u) {                                          // below 2^-14: subnormal half
    // value / 2^-24 rounded to nearest even integer
    float v = bits_f32(a) * 16777216.0f;
    // rint with RNE: add and subtract 2^23 trick is valid for v < 2^23
    float r = (v + 8388608.0f) - 8388608.0f;
    return uint16_t(sign | uint16_t(r));
  }
  uint32_t mant_odd = (a >> 13) & 1u;
  a += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round
  return uint16_t(sign | uint16_t(a >> 13));
}

void bf16_to_f32_row(const uint16_t* src, float* dst, size_t n);
void f32_to_bf16_row(const float* src, uint16_t* dst, size_t n);
void f16_to_f32_row(const uint16_t* src, float* dst, size_t n);
void f32_to_f16_row(const float* src, uint16_t* dst, size_t n);  // F16C where the CPU has it, same results

}  // namespace as::kernels
