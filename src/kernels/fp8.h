// FP8 codecs (OCP FP8). Torch-free: FP8 values live in uint8 storage.
//
//   E4M3FN  s eeee mmm, bias 7, no infinities; 0x7F/0xFF are the only NaNs; max finite 0x7E = 448;
//           subnormals ±2^-6 * m/8 (min 2^-9).
//   E5M2    s eeeee mm, bias 15, IEEE-like: 0x7C = inf, 0x7D..0x7F NaN; max finite 0x7B = 57344;
//           subnormals ±2^-14 * m/4 (min 2^-16).
//
// Encoding rounds to nearest even and SATURATES finite out-of-range values to ±max (the convention
// of every FP8 quantizer: clamp, then cast). NaN in -> NaN out (sign kept). ±inf saturates for E4M3FN
// (it has no inf) and stays inf for E5M2.
#pragma once
#include <cstddef>
#include <cstdint>

namespace as::kernels {

constexpr float kFp8E4M3Max = 448.0f;
constexpr float kFp8E5M2Max = 57344.0f;

uint8_t f32_to_e4m3(float x);
float e4m3_to_f32(uint8_t v);
uint8_t f32_to_e5m2(float x);
float e5m2_to_f32(uint8_t v);

// Row helpers: q[i] = encode(x[i] * inv_scale); x[i] = decode(q[i]) * scale.
void quantize_e4m3_row(const float* x, uint8_t* q, size_t n, float inv_scale);
void dequantize_e4m3_row(const uint8_t* q, float* x, size_t n, float scale);

}  // namespace as::kernels
