#include "io/gguf/quants.h"

#include <cmath>
#include <cstring>

#include "kernels/half.h"

namespace as::gguf {

namespace {

using as::kernels::f16_to_f32;
using as::kernels::f32_to_f16;

// Smallest group maximum treated as non-zero by the K-quant searches (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// ggml's MIN/MAX macros (the operand order matters for NaN inputs).
template <typename T>
inline T gmax(T a, T b) { return a > b ? a : b; }
template <typename T>
inline T gmin(T a, T b) { return a < b ? a : b; }

}  // namespace

int nearest_int(float f) {
  const float v = f + 12582912.0f;  // 1.5 * 2^23: the mantissa now holds round(f) + 2^22
  int32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) {
      const int l = nearest_int(iscale * x[i]);
      L[i] = static_cast<int8_t>(nmax + gmax(-nmax, gmin(nmax - 1, l)));
    }
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  auto weight = [&](int i) -> float {
    if (qw) return qw[i];
    switch (rmse_type) {
      case 1: return x[i] * x[i];
      case 2: return 1;
      case 3: return std::fabs(x[i]);
      default: return std::sqrt(std::fabs(x[i]));
    }
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = gmax(-nmax, gmin(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = weight(i);
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = gmax(-nmax, gmin(nmax - 1, l));
      const float w = weight(i);
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + gmax(-nmax, gmin(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  const float fnmax = static_cast<float>(nmax);
  float iscale = fnmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(gmax(0, gmin(nmax, l)));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + fnmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = gmax(0, gmin(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// ---------------------------------------------------------------------------------------------
// Q8_0

void quantize_row_q8_0_ref(const float* x, BlockQ8_0* y, int64_t k) {
  const int64_t nb = k / kQK8_0;
  for (int64_t i = 0; i < nb; ++i, x += kQK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = gmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k) {
  const int64_t nb = k / kQK8_0;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    for (int j = 0; j < kQK8_0; ++j) *y++ = static_cast<float>(x[i].qs[j]) * d;
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_0

void quantize_row_q4_0_ref(const float* x, BlockQ4_0* y, int64_t k) {
  const int64_t nb = k / kQK4_0;
  for (int64_t i = 0; i < nb; ++i, x += kQK4_0) {
    float amax = 0.0f, max = 0.0f;  // largest magnitude, and that element with its sign
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kQK4_0 / 2 + j] * id;
      const int q0 = gmin(15, static_cast<int>(static_cast<int8_t>(x0 + 8.5f)));
      const int q1 = gmin(15, static_cast<int>(static_cast<int8_t>(x1 + 8.5f)));
      y[i].qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(q0) | static_cast<uint8_t>(q1 << 4));
    }
  }
}

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k) {
  const int64_t nb = k / kQK4_0;
  for (int64_t i = 0; i < nb; ++i, y += kQK4_0) {
    const float d = f16_to_f32(x[i].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
      y[j + kQK4_0 / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q2_K

void quantize_row_q2_K_ref(const float* x, BlockQ2_K* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  uint8_t L[kQK_K];
  uint8_t Laux[16];
  float weights[16];
  float mins[kQK_K / 16];
  float scales[kQK_K / 16];
  const float q4scale = 15.f;

  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < kQK_K / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    BlockQ2_K& b = y[i];
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < kQK_K / 16; ++j) b.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      b.d = f32_to_f16(max_scale / q4scale);
    } else {
      for (int j = 0; j < kQK_K / 16; ++j) b.scales[j] = 0;
      b.d = f32_to_f16(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < kQK_K / 16; ++j) {
        const int l = nearest_int(iscale * mins[j]);
        b.scales[j] = static_cast<uint8_t>(b.scales[j] | (l << 4));
      }
      b.dmin = f32_to_f16(max_min / q4scale);
    } else {
      b.dmin = f32_to_f16(0.f);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      const float d = f16_to_f32(b.d) * static_cast<float>(b.scales[j] & 0xF);
      if (!d) continue;
      const float dm = f16_to_f32(b.dmin) * static_cast<float>(b.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(gmax(0, gmin(3, l)));
      }
    }
    for (int j = 0; j < kQK_K; j += 128) {
      for (int l = 0; l < 32; ++l) {
        b.qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                               (L[j + l + 96] << 6));
      }
    }
  }
}

void dequantize_row_q2_K(const BlockQ2_K* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    const float min = f16_to_f32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int n = 0; n < kQK_K; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        uint8_t sc = x[i].scales[is++];
        float dl = d * static_cast<float>(sc & 0xF), ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
        sc = x[i].scales[is++];
        dl = d * static_cast<float>(sc & 0xF);
        ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16] >> shift) & 3) - ml;
      }
      q += 32;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_K

void quantize_row_q4_K_ref(const float* x, BlockQ4_K* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  uint8_t L[kQK_K];
  uint8_t Laux[32];
  float weights[32];
  float mins[kQK_K / 32];
  float scales[kQK_K / 32];

  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < kQK_K / 32; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20, false);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    BlockQ4_K& b = y[i];
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < kQK_K / 32; ++j) {
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      ls = gmin<uint8_t>(63, ls);
      lm = gmin<uint8_t>(63, lm);
      if (j < 4) {
        b.scales[j] = ls;
        b.scales[j + 4] = lm;
      } else {
        b.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        b.scales[j - 4] = static_cast<uint8_t>(b.scales[j - 4] | ((ls >> 4) << 6));
        b.scales[j] = static_cast<uint8_t>(b.scales[j] | ((lm >> 4) << 6));
      }
    }
    b.d = f32_to_f16(max_scale / 63.f);
    b.dmin = f32_to_f16(max_min / 63.f);

    for (int j = 0; j < kQK_K / 32; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b.scales, &sc, &m);
      const float d = f16_to_f32(b.d) * static_cast<float>(sc);
      if (!d) continue;
      const float dm = f16_to_f32(b.dmin) * static_cast<float>(m);
      for (int ii = 0; ii < 32; ++ii) {
        const int l = nearest_int((x[32 * j + ii] + dm) / d);
        L[32 * j + ii] = static_cast<uint8_t>(gmax(0, gmin(15, l)));
      }
    }
    uint8_t* q = b.qs;
    for (int j = 0; j < kQK_K; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

void dequantize_row_q4_K(const BlockQ4_K* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* q = x[i].qs;
    const float d = f16_to_f32(x[i].d);
    const float min = f16_to_f32(x[i].dmin);
    int is = 0;
    for (int j = 0; j < kQK_K; j += 64, q += 32, is += 2) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q6_K

void quantize_row_q6_K_ref(const float* x, BlockQ6_K* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  int8_t L[kQK_K];
  float scales[kQK_K / 16];

  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < kQK_K / 16; ++ib) {
      const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, nullptr);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    BlockQ6_K& b = y[i];
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&b, 0, sizeof b);
      b.d = f32_to_f16(0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    b.d = f32_to_f16(1 / iscale);
    for (int ib = 0; ib < kQK_K / 16; ++ib)
      b.scales[ib] = static_cast<int8_t>(gmin(127, nearest_int(iscale * scales[ib])));

    for (int j = 0; j < kQK_K / 16; ++j) {
      const float d = f16_to_f32(b.d) * static_cast<float>(b.scales[j]);
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = nearest_int(x[16 * j + ii] / d);
        l = gmax(-32, gmin(31, l));
        L[16 * j + ii] = static_cast<int8_t>(l + 32);
      }
    }
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_row_q6_K(const BlockQ6_K* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int n = 0; n < kQK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TQ1_0: base-3 packing. A byte holding trits t0..t4 (t0 most significant) stores
// ceil(v * 256 / 243) with v = sum t_i 3^(4-i); trit n is recovered as ((uint8)(b * 3^n) * 3) >> 8.

namespace {
inline int trit(float v, float id) { return static_cast<int>(std::lround(v * id)) + 1; }
inline uint8_t pack_trits(uint8_t q) { return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243); }
constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};
inline float unpack_trit(uint8_t b, int n, float d) {
  const uint8_t q = static_cast<uint8_t>(b * kPow3[n]);
  const int t = (static_cast<uint16_t>(q) * 3) >> 8;
  return static_cast<float>(t - 1) * d;
}
}  // namespace

void quantize_row_tq1_0_ref(const float* x, BlockTQ1_0* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) amax = gmax(amax, std::fabs(x[j]));
    const float d = amax;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    // qs[0..31]: byte m holds elements m + 32n, n = 0..4
    for (int m = 0; m < 32; ++m) {
      uint8_t q = 0;
      for (int n = 0; n < 5; ++n) q = static_cast<uint8_t>(q * 3 + trit(x[m + n * 32], id));
      y[i].qs[m] = pack_trits(q);
    }
    x += 160;
    // qs[32..47]: byte 32+m holds elements 160 + m + 16n
    for (int m = 0; m < 16; ++m) {
      uint8_t q = 0;
      for (int n = 0; n < 5; ++n) q = static_cast<uint8_t>(q * 3 + trit(x[m + n * 16], id));
      y[i].qs[32 + m] = pack_trits(q);
    }
    x += 80;
    // qh[0..3]: byte j holds elements 240 + j + 4n, n = 0..3, then one zero trit
    for (int j = 0; j < 4; ++j) {
      uint8_t q = 0;
      for (int n = 0; n < 4; ++n) q = static_cast<uint8_t>(q * 3 + trit(x[j + n * 4], id));
      q = static_cast<uint8_t>(q * 3);
      y[i].qh[j] = pack_trits(q);
    }
    x += 16;
  }
}

void dequantize_row_tq1_0(const BlockTQ1_0* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 32; ++m) *y++ = unpack_trit(x[i].qs[m], n, d);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 16; ++m) *y++ = unpack_trit(x[i].qs[32 + m], n, d);
    for (int n = 0; n < 4; ++n)
      for (int j = 0; j < 4; ++j) *y++ = unpack_trit(x[i].qh[j], n, d);
  }
}

// ---------------------------------------------------------------------------------------------
// TQ2_0

void quantize_row_tq2_0_ref(const float* x, BlockTQ2_0* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) amax = gmax(amax, std::fabs(x[j]));
    const float d = amax;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < 64; j += 32, x += 128) {
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int n = 0; n < 4; ++n) q = static_cast<uint8_t>(q + ((trit(x[m + n * 32], id) & 3) << (2 * n)));
        y[i].qs[j + m] = q;
      }
    }
  }
}

void dequantize_row_tq2_0(const BlockTQ2_0* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    for (int j = 0; j < 64; j += 32)
      for (int l = 0; l < 4; ++l)
        for (int m = 0; m < 32; ++m) *y++ = static_cast<float>(((x[i].qs[j + m] >> (2 * l)) & 3) - 1) * d;
  }
}

// ---------------------------------------------------------------------------------------------
// STQ1_0 (experimental, llama.cpp PR #22836)

void stq1_0_lanes(int code, int* u) {
  const int slot = code & 15, zero = slot >> 2, flip = (code >> 4) & 1;
  int nz = 0;
  for (int p = 0; p < 4; ++p) {
    if (p == zero) {
      u[p] = 0;
      continue;
    }
    int v = nz == 0 ? 1 : (((slot >> (nz - 1)) & 1) ? -1 : 1);
    u[p] = flip ? -v : v;
    ++nz;
  }
}

void quantize_row_stq1_0_ref(const float* x, BlockSTQ1_0* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) amax = gmax(amax, std::fabs(x[j]));
    y[i].d = f32_to_f16(amax);
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    std::memset(y[i].sign, 0, sizeof(y[i].sign));
    for (int g = 0; g < kQK_K / 4; ++g) {
      const float* q = x + 4 * g;
      int zero = 0;
      for (int p = 1; p < 4; ++p)
        if (std::fabs(q[p]) < std::fabs(q[zero])) zero = p;
      int slot = zero << 2, flip = 0, nz = 0, first = 1;
      for (int p = 0; p < 4; ++p) {
        if (p == zero) continue;
        const int s = q[p] < 0.0f ? -1 : 1;
        if (nz == 0) first = s, flip = s < 0;
        else if (s != first) slot |= 1 << (nz - 1);
        ++nz;
      }
      y[i].qs[g >> 1] = static_cast<uint8_t>(y[i].qs[g >> 1] | (slot << (4 * (g & 1))));
      y[i].sign[g >> 3] = static_cast<uint8_t>(y[i].sign[g >> 3] | (flip << (g & 7)));
    }
  }
}

void dequantize_row_stq1_0(const BlockSTQ1_0* x, float* y, int64_t k) {
  const int64_t nb = k / kQK_K;
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(x[i].d);
    for (int g = 0; g < kQK_K / 4; ++g) {
      const int slot = (x[i].qs[g >> 1] >> (4 * (g & 1))) & 15, flip = (x[i].sign[g >> 3] >> (g & 7)) & 1;
      int u[4];
      stq1_0_lanes((flip << 4) | slot, u);
      for (int p = 0; p < 4; ++p) *y++ = static_cast<float>(u[p]) * d;
    }
  }
}

}  // namespace as::gguf
