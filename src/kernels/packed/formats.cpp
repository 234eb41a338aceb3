// Reference quantizers / dequantizers for every packed type, the integer decoders used by the
// scalar and GEMM kernels, and the one traits table. Layouts are documented in formats.h; the
// quantizer rules are documented at each quantize_* function.
#include "kernels/packed/formats.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "kernels/fp8.h"
#include "kernels/half.h"
#include "kernels/packed/internal.h"

namespace as::packed {
namespace detail {

float fp16_load(const uint8_t* p) { return kernels::f16_to_f32(load_as<uint16_t>(p)); }


uint8_t tern167_scaled(uint8_t v) { return uint8_t((unsigned(v) * 256u + 242u) / 243u); }
uint8_t tern167_value(uint8_t b) { return uint8_t((unsigned(b) * 243u) >> 8); }

}  // namespace detail

namespace {

using detail::load_as;
using detail::store_as;

// ---- scale storage -------------------------------------------------------------------------
// fp16 scales saturate to +-65504 instead of overflowing to inf.
uint16_t to_f16_sat(float x) {
  if (std::isfinite(x)) x = std::clamp(x, -65504.0f, 65504.0f);
  return kernels::f32_to_f16(x);
}
float round_f16(float x) { return kernels::f16_to_f32(to_f16_sat(x)); }
float round_f32(float x) { return x; }
using ScaleRound = float (*)(float);

inline float rne(float x) { return std::nearbyint(x); }  // default rounding mode: to nearest even

float absmax(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// ============================================================================================
// q8_g32 (GGUF Q8_0). Rule: d = fp16(max|x| / 127); q = clamp(rne(x / d), -127, 127).
// The stored (rounded) scale is the one used for rounding, so quantize(dequantize(p)) == p.
// ============================================================================================
void quantize_q8_g32(const float* w, int64_t K, uint8_t* out) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* x = w + b * 32;
    BlockQ8G32 blk{};
    blk.d = to_f16_sat(absmax(x, 32) / 127.0f);
    const float d = kernels::f16_to_f32(blk.d);
    for (int e = 0; e < 32; ++e) blk.qs[e] = d != 0.0f ? int8_t(std::clamp(rne(x[e] / d), -127.0f, 127.0f)) : int8_t(0);
    std::memcpy(out + b * sizeof blk, &blk, sizeof blk);
  }
}
void dequantize_q8_g32(const uint8_t* row, int64_t K, float* out) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const auto blk = load_as<BlockQ8G32>(row + b * sizeof(BlockQ8G32));
    const float d = kernels::f16_to_f32(blk.d);
    for (int e = 0; e < 32; ++e) out[b * 32 + e] = float(blk.qs[e]) * d;
  }
}
void decode_q8_g32(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const uint8_t* p = row + b * sizeof(BlockQ8G32);
    sc[b] = detail::fp16_load(p);
    for (int q = 0; q < 8; ++q)
      store_as<uint32_t>(dst + (b * 8 + q) * qs, load_as<uint32_t>(p + 2 + 4 * q) ^ 0x80808080u);
  }
}

// ============================================================================================
// q4 nibble helpers (32 weights in 16 bytes, GGUF Q4_0 order).
// ============================================================================================
inline int nib_get(const uint8_t* qs, int e) {  // e in 0..31
  return e < 16 ? (qs[e] & 0x0F) : (qs[e - 16] >> 4);
}
inline void nib_set(uint8_t* qs, int e, int v) {
  if (e < 16)
    qs[e] = uint8_t((qs[e] & 0xF0) | v);
  else
    qs[e - 16] = uint8_t((qs[e - 16] & 0x0F) | (v << 4));
}
// Quads of one 32-weight nibble sub-block, plus `add` to every code byte (no carries: codes <= 30).
inline void nib_decode_quads(const uint8_t* qs, uint8_t* dst, int64_t quad_stride, uint32_t add) {
  for (int q = 0; q < 4; ++q) {
    const uint32_t w = load_as<uint32_t>(qs + 4 * q);
    store_as<uint32_t>(dst + q * quad_stride, (w & 0x0F0F0F0Fu) + add);
    store_as<uint32_t>(dst + (q + 4) * quad_stride, ((w >> 4) & 0x0F0F0F0Fu) + add);
  }
}

// ============================================================================================
// q4_g32 / q4_g128 (symmetric). Rule (GGUF Q4_0's): m = the element of largest |x| (first on
// ties, sign kept); d = fp16(m / -8); q = clamp(rne(x / d) + 8, 0, 15). Uses all 16 levels
// (-8..7) with the extreme element on -8.
// ============================================================================================
template <int G>
void quantize_q4(const float* w, int64_t K, uint8_t* out) {
  constexpr int kBytes = 2 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const float* x = w + b * G;
    float m = 0.0f, am = 0.0f;
    for (int e = 0; e < G; ++e)
      if (std::fabs(x[e]) > am) am = std::fabs(x[e]), m = x[e];
    uint8_t blk[kBytes] = {};
    const uint16_t dh = to_f16_sat(m / -8.0f);
    store_as<uint16_t>(blk, dh);
    const float d = kernels::f16_to_f32(dh);
    for (int e = 0; e < G; ++e) {
      const int q = d != 0.0f ? int(std::clamp(rne(x[e] / d) + 8.0f, 0.0f, 15.0f)) : 8;
      nib_set(blk + 2 + (e / 32) * 16, e % 32, q);
    }
    std::memcpy(out + b * kBytes, blk, kBytes);
  }
}
template <int G>
void dequantize_q4(const uint8_t* row, int64_t K, float* out) {
  constexpr int kBytes = 2 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const uint8_t* p = row + b * kBytes;
    const float d = detail::fp16_load(p);
    for (int e = 0; e < G; ++e) out[b * G + e] = float(nib_get(p + 2 + (e / 32) * 16, e % 32) - 8) * d;
  }
}
template <int G>
void decode_q4(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  constexpr int kBytes = 2 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const uint8_t* p = row + b * kBytes;
    sc[b] = detail::fp16_load(p);
    for (int s = 0; s < G / 32; ++s) nib_decode_quads(p + 2 + 16 * s, dst + (b * G / 4 + 8 * s) * qs, qs, 0);
  }
}

// ============================================================================================
// q4z_g32 / q4z_g128 (asymmetric, integer zero point; the GPTQ rule):
//   lo = min(0, min x), hi = max(0, max x); d = fp16((hi - lo) / 15);
//   z = clamp(rne(-lo / d), 0, 15); q = clamp(rne(x / d) + z, 0, 15). d == 0 -> z = 0, q = 0.
// ============================================================================================
template <int G>
void quantize_q4z(const float* w, int64_t K, uint8_t* out) {
  constexpr int kBytes = 4 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const float* x = w + b * G;
    float lo = 0.0f, hi = 0.0f;
    for (int e = 0; e < G; ++e) lo = std::min(lo, x[e]), hi = std::max(hi, x[e]);
    uint8_t blk[kBytes] = {};
    const uint16_t dh = to_f16_sat((hi - lo) / 15.0f);
    store_as<uint16_t>(blk, dh);
    const float d = kernels::f16_to_f32(dh);
    const int z = d != 0.0f ? int(std::clamp(rne(-lo / d), 0.0f, 15.0f)) : 0;
    blk[2] = uint8_t(z);
    for (int e = 0; e < G; ++e) {
      const int q = d != 0.0f ? int(std::clamp(rne(x[e] / d) + float(z), 0.0f, 15.0f)) : 0;
      nib_set(blk + 4 + (e / 32) * 16, e % 32, q);
    }
    std::memcpy(out + b * kBytes, blk, kBytes);
  }
}
template <int G>
void dequantize_q4z(const uint8_t* row, int64_t K, float* out) {
  constexpr int kBytes = 4 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const uint8_t* p = row + b * kBytes;
    const float d = detail::fp16_load(p);
    const int z = p[2];
    for (int e = 0; e < G; ++e) out[b * G + e] = float(nib_get(p + 4 + (e / 32) * 16, e % 32) - z) * d;
  }
}
template <int G>
void decode_q4z(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  constexpr int kBytes = 4 + G / 2;
  for (int64_t b = 0; b < K / G; ++b) {
    const uint8_t* p = row + b * kBytes;
    sc[b] = detail::fp16_load(p);
    const uint32_t add = uint32_t(15 - (p[2] & 15)) * 0x01010101u;  // code = q - z + 15 in 0..30
    for (int s = 0; s < G / 32; ++s) nib_decode_quads(p + 4 + 16 * s, dst + (b * G / 4 + 8 * s) * qs, qs, add);
  }
}

// ============================================================================================
// fp8_pc. Rule: scale = max|row| / 448 (fp32); q = f32_to_e4m3(x * (1 / scale)) (RNE, saturating).
// ============================================================================================
void quantize_fp8_pc(const float* w, int64_t K, uint8_t* out) {
  const float scale = absmax(w, K) / kernels::kFp8E4M3Max;
  store_as<float>(out, scale);
  kernels::quantize_e4m3_row(w, out + 4, size_t(K), scale != 0.0f ? 1.0f / scale : 0.0f);
}
void dequantize_fp8_pc(const uint8_t* row, int64_t K, float* out) {
  kernels::dequantize_e4m3_row(row + 4, out, size_t(K), load_as<float>(row));
}

// ============================================================================================
// f16. Rule: h = f32_to_f16(x) (round to nearest even; beyond +-65504 -> +-inf, as IEEE).
// ============================================================================================
void quantize_f16(const float* w, int64_t K, uint8_t* out) {
  for (int64_t k = 0; k < K; ++k) store_as<uint16_t>(out + 2 * k, kernels::f32_to_f16(w[k]));
}
void dequantize_f16(const uint8_t* row, int64_t K, float* out) {
  for (int64_t k = 0; k < K; ++k) out[k] = kernels::f16_to_f32(load_as<uint16_t>(row + 2 * k));
}

// ============================================================================================
// 2-bit plane (seq2 / tern2): element 32n + m <-> byte m, bits 2n.
// ============================================================================================
inline int c2_get(const uint8_t* qs, int e) { return (qs[e & 31] >> (2 * (e >> 5))) & 3; }
inline void c2_set(uint8_t* qs, int e, int c) { qs[e & 31] |= uint8_t(c << (2 * (e >> 5))); }
// Quads of one 128-weight plane: codes shifted left by `shl` (seq2 writes 2c).
inline void c2_decode_quads(const uint8_t* qs, uint8_t* dst, int64_t quad_stride, int shl) {
  for (int q = 0; q < 32; ++q) {
    const uint32_t w = load_as<uint32_t>(qs + 4 * (q & 7));
    store_as<uint32_t>(dst + q * quad_stride, ((w >> (2 * (q >> 3))) & 0x03030303u) << shl);
  }
}

// Geometry of the group / per-channel 2-bit and sherry variants.
struct ScaleMode {
  bool per_channel;  // scale in the row header (fp32) vs per block (fp16 at block start)
};

// ---- seq2: levels {-1.5, -0.5, 0.5, 1.5} * s ----
// Rule: s is chosen among 24 candidates s_j = R(max|x| / 1.5 * (1 - j/32)), j = 0..23 (R rounds
// to the stored precision: fp16 for the group type, fp32 per-channel), minimizing the squared
// error of the nearest-level assignment c = clamp(floor(x / s) + 2, 0, 3); the first candidate
// wins ties. Weights already on the grid of some s with a +-1.5 s entry (the SEQ QAT output)
// come back exactly (j = 0 has zero error).
int seq2_code(float x, float s) { return int(std::clamp(std::floor(x / s) + 2.0f, 0.0f, 3.0f)); }
float seq2_pick_scale(const float* x, int64_t n, ScaleRound R) {
  const float am = absmax(x, n);
  if (am == 0.0f) return 0.0f;
  float best_s = R(am / 1.5f), best_err = INFINITY;
  for (int j = 0; j < 24; ++j) {
    const float s = R(am / 1.5f * (1.0f - float(j) / 32.0f));
    if (!(s > 0.0f)) continue;
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float v = (float(seq2_code(x[i], s)) - 1.5f) * s;
      err += double(x[i] - v) * double(x[i] - v);
    }
    if (err < best_err) best_err = float(err), best_s = s;
  }
  return best_s;
}
void seq2_pack(const float* x, float s, uint8_t* qs /*32 bytes*/) {
  std::memset(qs, 0, 32);
  for (int e = 0; e < 128; ++e) c2_set(qs, e, s > 0.0f ? seq2_code(x[e], s) : 2);
}

// ---- ternary {-1, 0, 1} * s (tern2, tern167) ----
// Rule: delta = 0.5 * mean|x| over the scale group (BitNet b1.58's absmean threshold);
// t = sign(x) where |x| > delta, else 0; s = mean|x| over the non-zero positions (the
// least-squares scale for that support; 0 if none). Weights already ternary ({-a, 0, a}) come back
// exactly.
struct Ternary {
  double delta;
  float scale;
};
// Sums in double (in index order), so a row that is already ternary gives back its scale exactly.
Ternary ternary_fit(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::fabs(x[i]);
  const double delta = 0.5 * (sum / double(n));
  double nz_sum = 0.0;
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::fabs(x[i]) > delta) nz_sum += std::fabs(x[i]), ++nnz;
  return {delta, nnz ? float(nz_sum / double(nnz)) : 0.0f};
}
inline int ternary_code(float x, double delta) {  // 0, 1, 2 = -1, 0, +1
  return std::fabs(x) > delta ? (x < 0.0f ? 0 : 2) : 1;
}
void tern2_pack(const float* x, double delta, uint8_t* qs) {
  std::memset(qs, 0, 32);
  for (int e = 0; e < 128; ++e) c2_set(qs, e, ternary_code(x[e], delta));
}

template <bool kSeq, bool kPc>
void quantize_2b(const float* w, int64_t K, uint8_t* out) {
  const int64_t nb = K / 128;
  if constexpr (kPc) {
    float s;
    double delta = 0.0;
    if constexpr (kSeq) {
      s = seq2_pick_scale(w, K, round_f32);
    } else {
      const Ternary t = ternary_fit(w, K);
      s = t.scale, delta = t.delta;
    }
    store_as<float>(out, s);
    for (int64_t b = 0; b < nb; ++b) {
      if constexpr (kSeq)
        seq2_pack(w + b * 128, s, out + 4 + b * 32);
      else
        tern2_pack(w + b * 128, delta, out + 4 + b * 32);
    }
  } else {
    for (int64_t b = 0; b < nb; ++b) {
      const float* x = w + b * 128;
      uint8_t* p = out + b * 34;
      if constexpr (kSeq) {
        const float s = seq2_pick_scale(x, 128, round_f16);
        store_as<uint16_t>(p, to_f16_sat(s));
        seq2_pack(x, s, p + 2);
      } else {
        const Ternary t = ternary_fit(x, 128);
        store_as<uint16_t>(p, to_f16_sat(t.scale));
        tern2_pack(x, t.delta, p + 2);
      }
    }
  }
}
template <bool kSeq, bool kPc>
void dequantize_2b(const uint8_t* row, int64_t K, float* out) {
  const float off = kSeq ? 1.5f : 1.0f;
  for (int64_t b = 0; b < K / 128; ++b) {
    const uint8_t* qs = kPc ? row + 4 + b * 32 : row + b * 34 + 2;
    const float s = kPc ? load_as<float>(row) : detail::fp16_load(row + b * 34);
    for (int e = 0; e < 128; ++e) out[b * 128 + e] = (float(c2_get(qs, e)) - off) * s;
  }
}
template <bool kSeq, bool kPc>
void decode_2b(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  for (int64_t b = 0; b < K / 128; ++b) {
    const uint8_t* p = kPc ? row + 4 + b * 32 : row + b * 34 + 2;
    const float s = kPc ? load_as<float>(row) : detail::fp16_load(row + b * 34);
    sc[b] = kSeq ? s * 0.5f : s;
    c2_decode_quads(p, dst + b * 32 * qs, qs, kSeq ? 1 : 0);
  }
}

// ============================================================================================
// tern167_pc: base-3, 256 weights in 52 bytes (layout in formats.h). Ternary rule as tern2, over
// the whole row.
// ============================================================================================
constexpr int kPow3[5] = {1, 3, 9, 27, 81};
inline int t167_element(int byte, int n) {  // n < t167_ntrits(byte)
  if (byte < 32) return 16 * (2 * n + (byte & 1)) + (byte >> 1);
  if (byte < 48) {
    const int j = byte - 32;
    return 160 + 8 * (2 * n + (j & 1)) + (j >> 1);
  }
  return 240 + 4 * n + (byte - 48);
}
inline int t167_ntrits(int byte) { return byte < 48 ? 5 : 4; }
inline uint8_t t167_encode(const int* t, int ntrits) {
  int v = 0;
  for (int n = 0; n < ntrits; ++n) v = v * 3 + t[n];
  if (ntrits == 4) v *= 3;
  return detail::tern167_scaled(uint8_t(v));
}
inline int t167_trit(uint8_t b, int n) { return (uint8_t(b * kPow3[n]) * 3) >> 8; }

void quantize_tern167_pc(const float* w, int64_t K, uint8_t* out) {
  const Ternary t = ternary_fit(w, K);
  store_as<float>(out, t.scale);
  for (int64_t b = 0; b < K / 256; ++b) {
    const float* x = w + b * 256;
    uint8_t* p = out + 4 + b * 52;
    for (int byte = 0; byte < 52; ++byte) {
      int tr[5];
      for (int n = 0; n < t167_ntrits(byte); ++n) tr[n] = ternary_code(x[t167_element(byte, n)], t.delta);
      p[byte] = t167_encode(tr, t167_ntrits(byte));
    }
  }
}
void dequantize_tern167_pc(const uint8_t* row, int64_t K, float* out) {
  const float s = load_as<float>(row);
  for (int64_t b = 0; b < K / 256; ++b) {
    const uint8_t* p = row + 4 + b * 52;
    for (int byte = 0; byte < 52; ++byte)
      for (int n = 0; n < t167_ntrits(byte); ++n)
        out[b * 256 + t167_element(byte, n)] = float(t167_trit(p[byte], n) - 1) * s;
  }
}
// The decoder's tables: the five trits of every stored byte, and the element of each (byte, trit)
// (bytes 48..51 hold 4 trits), so decoding is loads and stores only.
struct T167Decode {
  uint8_t trit[256][5];
  uint8_t elem[52][5];
  T167Decode() {
    for (int b = 0; b < 256; ++b)
      for (int n = 0; n < 5; ++n) trit[b][n] = uint8_t(t167_trit(uint8_t(b), n));
    for (int j = 0; j < 52; ++j)
      for (int n = 0; n < 5; ++n) elem[j][n] = n < t167_ntrits(j) ? uint8_t(t167_element(j, n)) : uint8_t(0);
  }
};

void decode_tern167_pc(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  static const T167Decode D;
  const float s = load_as<float>(row);
  uint8_t codes[256];
  for (int64_t b = 0; b < K / 256; ++b) {
    const uint8_t* p = row + 4 + b * 52;
    for (int byte = 0; byte < 48; ++byte) {
      const uint8_t* t = D.trit[p[byte]];
      const uint8_t* e = D.elem[byte];
      codes[e[0]] = t[0], codes[e[1]] = t[1], codes[e[2]] = t[2], codes[e[3]] = t[3], codes[e[4]] = t[4];
    }
    for (int byte = 48; byte < 52; ++byte) {
      const uint8_t* t = D.trit[p[byte]];
      const uint8_t* e = D.elem[byte];
      codes[e[0]] = t[0], codes[e[1]] = t[1], codes[e[2]] = t[2], codes[e[3]] = t[3];
    }
    for (int q = 0; q < 64; ++q) std::memcpy(dst + (b * 64 + q) * qs, codes + 4 * q, 4);
    sc[b] = s;
  }
}

// ============================================================================================
// sherry125 (3:4 sparse ternary). Rule (the Sherry QAT quantizer and llama.cpp STQ1_0): in every
// group of 4 the lane with the smallest |x| becomes 0 (first on ties); the others keep sign(x)
// (x < 0 -> -1 else +1, so -0.0 -> +1). s = mean |x| over the kept lanes of the scale group,
// which is also the least-squares scale for those signs.
// ============================================================================================
struct SherryTables {
  std::array<int8_t, 32 * 4> lanes{};  // [flip<<4 | slot][p] -> u in {-1, 0, 1}
  SherryTables() {
    for (int flip = 0; flip < 2; ++flip)
      for (int slot = 0; slot < 16; ++slot) {
        const int zero = slot >> 2;
        int nz = 0;
        for (int p = 0; p < 4; ++p) {
          int u = 0;
          if (p != zero) {
            u = (nz == 0) ? 1 : (((slot >> (nz - 1)) & 1) ? -1 : 1);
            ++nz;
          }
          lanes[size_t((flip << 4 | slot) * 4 + p)] = int8_t(flip ? -u : u);
        }
      }
  }
};
const SherryTables& sherry_tables() {
  static const SherryTables t;
  return t;
}
// Encodes one group (u already 3:4 ternary) -> 5-bit code flip<<4 | slot.
inline int sherry_encode(const int* u) {
  int zero = 0;
  while (u[zero] != 0) ++zero;
  int first = 0, tail = 0, nz = 0;
  for (int p = 0; p < 4; ++p) {
    if (p == zero) continue;
    if (nz == 0)
      first = u[p];
    else if (u[p] != first)
      tail |= 1 << (nz - 1);
    ++nz;
  }
  return (first < 0 ? 16 : 0) | (zero << 2) | tail;
}
// Groups of one 128-weight block -> qs[16] + sg[4].
void sherry_pack(const float* x, uint8_t* qs, uint8_t* sg) {
  std::memset(qs, 0, 16);
  uint32_t flips = 0;
  for (int g = 0; g < 32; ++g) {
    const float* v = x + 4 * g;
    int zero = 0;
    for (int p = 1; p < 4; ++p)
      if (std::fabs(v[p]) < std::fabs(v[zero])) zero = p;
    int u[4];
    for (int p = 0; p < 4; ++p) u[p] = p == zero ? 0 : (v[p] < 0.0f ? -1 : 1);
    const int code = sherry_encode(u);
    qs[g & 15] |= uint8_t((code & 15) << (g < 16 ? 0 : 4));
    flips |= uint32_t(code >> 4) << g;
  }
  store_as<uint32_t>(sg, flips);
}
inline int sherry_code(const uint8_t* qs, const uint8_t* sg, int g) {
  const int slot = (qs[g & 15] >> (g < 16 ? 0 : 4)) & 15;
  const int flip = int((load_as<uint32_t>(sg) >> g) & 1u);
  return flip << 4 | slot;
}
// Mean |x| over the kept lanes, summed in double in index order (exact for weights that are
// already 3:4 ternary, so their scale comes back unchanged).
float sherry_kept_mean(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t g = 0; g < n / 4; ++g) {
    const float* v = x + 4 * g;
    int zero = 0;
    for (int p = 1; p < 4; ++p)
      if (std::fabs(v[p]) < std::fabs(v[zero])) zero = p;
    for (int p = 0; p < 4; ++p)
      if (p != zero) sum += std::fabs(v[p]);
  }
  return float(sum / double(n / 4 * 3));
}

template <bool kPc>
void quantize_sherry(const float* w, int64_t K, uint8_t* out) {
  if constexpr (kPc) {
    store_as<float>(out, sherry_kept_mean(w, K));
    for (int64_t b = 0; b < K / 128; ++b) sherry_pack(w + b * 128, out + 4 + b * 20, out + 4 + b * 20 + 16);
  } else {
    for (int64_t b = 0; b < K / 128; ++b) {
      uint8_t* p = out + b * 22;
      store_as<uint16_t>(p, to_f16_sat(sherry_kept_mean(w + b * 128, 128)));
      sherry_pack(w + b * 128, p + 2, p + 18);
    }
  }
}
template <bool kPc>
void dequantize_sherry(const uint8_t* row, int64_t K, float* out) {
  const auto& T = sherry_tables();
  for (int64_t b = 0; b < K / 128; ++b) {
    const uint8_t* p = kPc ? row + 4 + b * 20 : row + b * 22 + 2;
    const float s = kPc ? load_as<float>(row) : detail::fp16_load(row + b * 22);
    for (int g = 0; g < 32; ++g) {
      const int code = sherry_code(p, p + 16, g);
      for (int l = 0; l < 4; ++l) out[b * 128 + 4 * g + l] = float(T.lanes[size_t(code * 4 + l)]) * s;
    }
  }
}
}  // namespace

const uint32_t* detail::sherry_quad_table() {
  static const std::array<uint32_t, 32> quad = [] {
    std::array<uint32_t, 32> q{};
    const auto& T = sherry_tables();
    for (int c = 0; c < 32; ++c)
      for (int l = 0; l < 4; ++l) q[size_t(c)] |= uint32_t(T.lanes[size_t(c * 4 + l)] + 1) << (8 * l);
    return q;
  }();
  return quad.data();
}

namespace {

template <bool kPc>
void decode_sherry(const uint8_t* row, int64_t K, uint8_t* dst, int64_t qs, float* sc) {
  const uint32_t* quad = detail::sherry_quad_table();
  for (int64_t b = 0; b < K / 128; ++b) {
    const uint8_t* p = kPc ? row + 4 + b * 20 : row + b * 22 + 2;
    sc[b] = kPc ? load_as<float>(row) : detail::fp16_load(row + b * 22);
    const uint32_t flips = load_as<uint32_t>(p + 16);
    for (int g = 0; g < 32; ++g) {
      const int slot = (p[g & 15] >> (g < 16 ? 0 : 4)) & 15;
      const int code = int((flips >> g) & 1u) << 4 | slot;
      store_as<uint32_t>(dst + (b * 32 + g) * qs, quad[size_t(code)]);
    }
  }
}

// ============================================================================================
// The table.
// ============================================================================================
struct Row {
  QuantType type;
  const char* name;
  const char* description;
  int block_size;
  size_t block_bytes, header;
  QuantizeRowFn q;
  DequantizeRowFn dq;
  detail::TypeImpl impl;
};

const Row kRows[kNumQuantTypes] = {
    {QuantType::Q8_G32,
     "q8_g32",
     "int8 symmetric, fp16 scale per 32 (GGUF Q8_0 layout)",
     32,
     sizeof(BlockQ8G32),
     0,
     quantize_q8_g32,
     dequantize_q8_g32,
     {128, 255, decode_q8_g32}},
    {QuantType::Q4_G32,
     "q4_g32",
     "int4 symmetric, fp16 scale per 32 (GGUF Q4_0 layout)",
     32,
     sizeof(BlockQ4G32),
     0,
     quantize_q4<32>,
     dequantize_q4<32>,
     {8, 15, decode_q4<32>}},
    {QuantType::Q4_G128,
     "q4_g128",
     "int4 symmetric, fp16 scale per 128",
     128,
     sizeof(BlockQ4G128),
     0,
     quantize_q4<128>,
     dequantize_q4<128>,
     {8, 15, decode_q4<128>}},
    {QuantType::Q4Z_G32,
     "q4z_g32",
     "int4 asymmetric, fp16 scale + int zero point per 32",
     32,
     sizeof(BlockQ4ZG32),
     0,
     quantize_q4z<32>,
     dequantize_q4z<32>,
     {15, 30, decode_q4z<32>}},
    {QuantType::Q4Z_G128,
     "q4z_g128",
     "int4 asymmetric, fp16 scale + int zero point per 128",
     128,
     sizeof(BlockQ4ZG128),
     0,
     quantize_q4z<128>,
     dequantize_q4z<128>,
     {15, 30, decode_q4z<128>}},
    {QuantType::FP8_PC,
     "fp8_pc",
     "fp8 E4M3 weights, fp32 scale per output channel",
     16,
     sizeof(BlockFp8),
     sizeof(RowHeader),
     quantize_fp8_pc,
     dequantize_fp8_pc,
     {0, 0, nullptr}},
    {QuantType::SEQ2_G128,
     "seq2_g128",
     "2-bit SEQ levels {-1.5,-0.5,0.5,1.5}*s, fp16 s per 128",
     128,
     sizeof(Block2bG128),
     0,
     quantize_2b<true, false>,
     dequantize_2b<true, false>,
     {3, 6, decode_2b<true, false>}},
    {QuantType::SEQ2_PC,
     "seq2_pc",
     "2-bit SEQ levels {-1.5,-0.5,0.5,1.5}*s, fp32 s per channel",
     128,
     sizeof(Block2b),
     sizeof(RowHeader),
     quantize_2b<true, true>,
     dequantize_2b<true, true>,
     {3, 6, decode_2b<true, true>}},
    {QuantType::TERN2_G128,
     "tern2_g128",
     "ternary in 2 bits (I2_S/TQ2_0-like), fp16 s per 128",
     128,
     sizeof(Block2bG128),
     0,
     quantize_2b<false, false>,
     dequantize_2b<false, false>,
     {1, 2, decode_2b<false, false>}},
    {QuantType::TERN2_PC,
     "tern2_pc",
     "ternary in 2 bits (I2_S/TQ2_0-like), fp32 s per channel",
     128,
     sizeof(Block2b),
     sizeof(RowHeader),
     quantize_2b<false, true>,
     dequantize_2b<false, true>,
     {1, 2, decode_2b<false, true>}},
    {QuantType::TERN167_PC,
     "tern167_pc",
     "ternary base-3 packed (5 trits/byte), fp32 s per channel",
     256,
     sizeof(BlockTern167),
     sizeof(RowHeader),
     quantize_tern167_pc,
     dequantize_tern167_pc,
     {1, 2, decode_tern167_pc}},
    {QuantType::SHERRY125_G128,
     "sherry125_g128",
     "3:4 sparse ternary (Sherry, 5 bits/4 weights), fp16 s per 128",
     128,
     sizeof(BlockSherryG128),
     0,
     quantize_sherry<false>,
     dequantize_sherry<false>,
     {1, 2, decode_sherry<false>}},
    {QuantType::SHERRY125_PC,
     "sherry125_pc",
     "3:4 sparse ternary (Sherry, 5 bits/4 weights), fp32 s per channel",
     128,
     sizeof(BlockSherry),
     sizeof(RowHeader),
     quantize_sherry<true>,
     dequantize_sherry<true>,
     {1, 2, decode_sherry<true>}},
    {QuantType::F16,
     "f16",
     "IEEE fp16 weights, no scale (GGUF F16 used in place)",
     16,
     sizeof(BlockF16),
     0,
     quantize_f16,
     dequantize_f16,
     {0, 0, nullptr}},
};

}  // namespace

namespace detail {

int tern167_element(int byte, int n) { return n < t167_ntrits(byte) ? t167_element(byte, n) : -1; }

void code2_planes(const uint8_t* codes, int64_t K, uint8_t* qs) {
  std::memset(qs, 0, size_t(K / 4));
  for (int64_t b = 0; b < K / 128; ++b)
    for (int e = 0; e < 128; ++e) c2_set(qs + b * 32, e, codes[b * 128 + e]);
}

const TypeImpl& type_impl(QuantType t) { return kRows[int(t)].impl; }

float decode_fp8_row(const uint8_t* row, int64_t K, float* out) {
  kernels::dequantize_e4m3_row(row + 4, out, size_t(K), 1.0f);
  return load_as<float>(row);
}

const uint16_t* e4m3_bf16_table() {
  static const std::array<uint16_t, 256> table = [] {
    std::array<uint16_t, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const uint32_t bits = std::bit_cast<uint32_t>(kernels::e4m3_to_f32(uint8_t(b)));
      t[size_t(b)] = uint16_t(bits >> 16);  // exact: the low 16 bits are zero (NaN keeps a NaN's top bits)
    }
    return t;
  }();
  return table.data();
}

}  // namespace detail

const std::vector<QuantTypeTraits>& quant_types() {
  static const std::vector<QuantTypeTraits> table = [] {
    std::vector<QuantTypeTraits> v;
    for (const Row& r : kRows) {
      QuantTypeTraits t{};
      t.type = r.type;
      t.name = r.name;
      t.description = r.description;
      t.block_size = r.block_size;
      t.block_bytes = int(r.block_bytes);
      t.row_header_bytes = int(r.header);
      t.bits_per_weight = 8.0 * r.block_bytes / r.block_size;
      t.quantize_row = r.q;
      t.dequantize_row = r.dq;
      t.kernels[int(Isa::Scalar)] = detail::scalar_kernels(r.type);
      t.kernels[int(Isa::Avx2)] = detail::avx2_kernels(r.type);
      t.kernels[int(Isa::Avx512)] = detail::avx512_kernels(r.type);
      v.push_back(t);
    }
    return v;
  }();
  return table;
}

}  // namespace as::packed
