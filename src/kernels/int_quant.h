// Integer (2..8 bit) group-wise quantization and FP8 scale rules. Torch-free, row-major float data.
//
// INTEGER CONVENTION (one convention for the whole project; it is the compressed-tensors one, and
// GPTQ's `find_params` gives the same numbers):
//   codes are SIGNED, q in [qmin, qmax] = [-2^(b-1), 2^(b-1)-1]   (INT4: -8..7, INT8: -128..127)
//   dequant:  w = (q - zero) * scale                               (zero is a signed integer too)
//   quant:    q = clamp(rne(w / scale) + zero, qmin, qmax)         (rne = round half to even)
//   the range always contains 0:  mn = min(min(x), 0),  mx = max(max(x), 0)
//   symmetric:  scale = max(|mn|, mx) / ((qmax - qmin) / 2),  zero = 0
//               (INT4: amax/7.5, INT8: amax/127.5; +amax lands on qmax*scale, i.e. 14/15 of amax for
//                INT4 -- the reference GPTQ/compressed-tensors behaviour)
//   asymmetric: scale = (mx - mn) / (qmax - qmin),  zero = clamp(rne(qmin - mn / scale), qmin, qmax)
//   scale is floored at FLT_EPSILON (an all-zero group therefore gets scale = FLT_EPSILON, codes 0).
// Exported as compressed-tensors "pack-quantized": stored nibble u = q + 2^(b-1) (uint4b8 for b = 4),
// 32/b values per int32, lowest index in the least-significant bits (pack_int32 below). GPTQ's
// unsigned zero is zero + 2^(b-1) (the v1 checkpoint then stores that minus one).
//
// Groups run along a row: group_size g > 0 splits each row into ceil(cols/g) groups (the last one
// may be short); g = -1 means one group per row (per-channel).
//
// FP8 SCALE CONVENTION (E4M3FN, see fp8.h): scale is the dequant multiplier, scale = amax / 448,
// x_fp8 = e4m3(x / scale) (saturating), x ~= decode(x_fp8) * scale. An all-zero slice (amax == 0)
// gets scale 1. Granularities: per tensor, per row (per-channel for weights [out, in], per-token for
// activations [tokens, hidden]) and 2-D blocks (DeepSeek / compressed-tensors "block" 128x128, the
// scale grid is [ceil(rows/br), ceil(cols/bc)], edge blocks are partial; padding zeros do not change
// amax).
//
// Non-finite inputs (NaN/inf) are rejected with as::Error; callers that know the tensor's name check
// first so the message can name it.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace as::kernels {

constexpr int kIntMinBits = 2;
constexpr int kIntMaxBits = 8;

constexpr int int_qmin(int bits) { return -(1 << (bits - 1)); }
constexpr int int_qmax(int bits) { return (1 << (bits - 1)) - 1; }

// Throws as::Error unless kIntMinBits <= bits <= kIntMaxBits. `what` names the caller's tensor.
void check_int_bits(int bits, const char* what);

struct IntQParams {
  float scale = 1.0f;
  int32_t zero = 0;
};

// Scale/zero from a (min, max) pair per the convention above. min/max must be finite.
IntQParams int_qparams(float min_val, float max_val, int bits, bool symmetric);
// Scale/zero of n values (min/max over them). Throws on a non-finite value.
IntQParams int_qparams_of(const float* x, size_t n, int bits, bool symmetric);

inline int32_t int_quantize(float x, IntQParams p, int bits) {
  const float q = std::nearbyint(x / p.scale) + float(p.zero);  // RNE (default rounding mode)
  const float lo = float(int_qmin(bits)), hi = float(int_qmax(bits));
  return int32_t(q < lo ? lo : (q > hi ? hi : q));
}
inline float int_dequantize(int32_t q, IntQParams p) { return float(q - p.zero) * p.scale; }

// Number of groups of a row with `cols` columns; group_size -1 -> 1. Throws on group_size 0 or < -1.
size_t int_num_groups(size_t cols, int64_t group_size);

// Group-wise quantization of a row-major [rows, cols] matrix.
//   codes [rows * cols], scales/zeros [rows * n_groups] (row-major, n_groups = int_num_groups()).
void int_quantize_groups(const float* w, size_t rows, size_t cols, int64_t group_size, int bits,
                         bool symmetric, int8_t* codes, float* scales, int8_t* zeros);
// Inverse of the above (contiguous groups: column j uses group j / group_size).
void int_dequantize_groups(const int8_t* codes, const float* scales, const int8_t* zeros,
                           size_t rows, size_t cols, int64_t group_size, float* w);
// Dequantization with an explicit column -> group map (GPTQ act-order): g_idx[cols], values in
// [0, n_groups). Throws on an out-of-range entry.
void int_dequantize_gidx(const int8_t* codes, const float* scales, const int8_t* zeros, size_t rows,
                         size_t cols, size_t n_groups, const int32_t* g_idx, float* w);

// compressed-tensors pack_to_int32 for one row of n signed codes: u = q + 2^(b-1) (must fit b bits),
// 32/b values per int32 word, value k of a word at bits [b*k, b*k+b); the row is zero-padded to a
// whole number of words. Throws on a code outside [qmin, qmax].
size_t int_pack_factor(int bits);                 // 32 / bits (3 bits: 10, top 2 bits unused)
size_t int_packed_len(size_t n, int bits);        // ceil(n / pack_factor)
void pack_int32(const int8_t* codes, size_t n, int bits, int32_t* out);
void unpack_int32(const int32_t* packed, size_t n, int bits, int8_t* codes);

// ---- FP8 (E4M3FN) scales ----
// max |x| over n values. Throws on a non-finite value.
float absmax_of(const float* x, size_t n);
// scale = amax / 448; amax == 0 -> 1. Throws on a negative or non-finite amax.
float fp8_scale_from_amax(float amax);
// One scale per row of a [rows, cols] matrix (per-channel weights / per-token activations).
void fp8_row_scales(const float* x, size_t rows, size_t cols, float* scales);
// Block scales: scales[ceil(rows/br) * ceil(cols/bc)] row-major.
void fp8_block_scales(const float* w, size_t rows, size_t cols, size_t br, size_t bc, float* scales);
// Block quantize / dequantize with those scales (q[i] = e4m3(w[i] / scale_of_block)).
void fp8_quantize_blocks(const float* w, size_t rows, size_t cols, size_t br, size_t bc,
                         const float* scales, uint8_t* q);
void fp8_dequantize_blocks(const uint8_t* q, size_t rows, size_t cols, size_t br, size_t bc,
                           const float* scales, float* w);

}  // namespace as::kernels
