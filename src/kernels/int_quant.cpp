#include "kernels/int_quant.h"

#include <algorithm>
#include <cfloat>
#include <string>

#include "common/error.h"
#include "kernels/fp8.h"

namespace as::kernels {

void check_int_bits(int bits, const char* what) {
  check(bits >= kIntMinBits && bits <= kIntMaxBits,
        std::string(what) + ": integer quantization bits must be in [" +
            std::to_string(kIntMinBits) + ", " + std::to_string(kIntMaxBits) + "], got " +
            std::to_string(bits));
}

IntQParams int_qparams(float min_val, float max_val, int bits, bool symmetric) {
  check_int_bits(bits, "int_qparams");
  check(std::isfinite(min_val) && std::isfinite(max_val), "int_qparams: non-finite min/max");
  const float mn = std::min(min_val, 0.0f);
  const float mx = std::max(max_val, 0.0f);
  const int qmin = int_qmin(bits), qmax = int_qmax(bits);
  IntQParams p;
  if (symmetric) {
    const float amax = std::max(-mn, mx);
    p.scale = std::max(amax / (float(qmax - qmin) / 2.0f), FLT_EPSILON);
    p.zero = 0;
  } else {
    p.scale = std::max((mx - mn) / float(qmax - qmin), FLT_EPSILON);
    float z = std::nearbyint(float(qmin) - mn / p.scale);
    z = std::clamp(z, float(qmin), float(qmax));
    p.zero = int32_t(z);
  }
  return p;
}

IntQParams int_qparams_of(const float* x, size_t n, int bits, bool symmetric) {
  float mn = 0.0f, mx = 0.0f;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    finite &= std::isfinite(v);
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  check(finite, "int quantization: non-finite value in the input");
  return int_qparams(mn, mx, bits, symmetric);
}

size_t int_num_groups(size_t cols, int64_t group_size) {
  check(group_size == -1 || group_size > 0,
        "group_size must be -1 (per-channel) or positive, got " + std::to_string(group_size));
  if (group_size == -1 || cols == 0) return 1;
  return (cols + size_t(group_size) - 1) / size_t(group_size);
}

void int_quantize_groups(const float* w, size_t rows, size_t cols, int64_t group_size, int bits,
                         bool symmetric, int8_t* codes, float* scales, int8_t* zeros) {
  check_int_bits(bits, "int_quantize_groups");
  const size_t ng = int_num_groups(cols, group_size);
  const size_t g = group_size == -1 ? cols : size_t(group_size);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    for (size_t k = 0; k < ng; ++k) {
      const size_t c0 = k * g, c1 = std::min(cols, c0 + g);
      const IntQParams p = int_qparams_of(row + c0, c1 - c0, bits, symmetric);
      scales[r * ng + k] = p.scale;
      zeros[r * ng + k] = int8_t(p.zero);
      for (size_t c = c0; c < c1; ++c) codes[r * cols + c] = int8_t(int_quantize(row[c], p, bits));
    }
  }
}

void int_dequantize_groups(const int8_t* codes, const float* scales, const int8_t* zeros,
                           size_t rows, size_t cols, int64_t group_size, float* w) {
  const size_t ng = int_num_groups(cols, group_size);
  const size_t g = group_size == -1 ? cols : size_t(group_size);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const size_t k = g == 0 ? 0 : c / g;
      const IntQParams p{scales[r * ng + k], zeros[r * ng + k]};
      w[r * cols + c] = int_dequantize(codes[r * cols + c], p);
    }
  }
}

void int_dequantize_gidx(const int8_t* codes, const float* scales, const int8_t* zeros, size_t rows,
                         size_t cols, size_t n_groups, const int32_t* g_idx, float* w) {
  for (size_t c = 0; c < cols; ++c)
    check(g_idx[c] >= 0 && size_t(g_idx[c]) < n_groups,
          "g_idx[" + std::to_string(c) + "] = " + std::to_string(g_idx[c]) + " is outside [0, " +
              std::to_string(n_groups) + ")");
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const size_t k = size_t(g_idx[c]);
      const IntQParams p{scales[r * n_groups + k], zeros[r * n_groups + k]};
      w[r * cols + c] = int_dequantize(codes[r * cols + c], p);
    }
  }
}

size_t int_pack_factor(int bits) {
  check_int_bits(bits, "pack_int32");
  return size_t(32 / bits);
}

size_t int_packed_len(size_t n, int bits) {
  const size_t f = int_pack_factor(bits);
  return (n + f - 1) / f;
}

void pack_int32(const int8_t* codes, size_t n, int bits, int32_t* out) {
  const size_t f = int_pack_factor(bits);
  const size_t words = int_packed_len(n, bits);
  const int qmin = int_qmin(bits), qmax = int_qmax(bits);
  for (size_t wi = 0; wi < words; ++wi) {
    uint32_t word = 0;
    for (size_t k = 0; k < f; ++k) {
      const size_t i = wi * f + k;
      if (i >= n) break;
      const int q = codes[i];
      check(q >= qmin && q <= qmax, "pack_int32: code " + std::to_string(q) + " at index " +
                                        std::to_string(i) + " does not fit " +
                                        std::to_string(bits) + " bits");
      word |= uint32_t(q - qmin) << (uint32_t(bits) * k);
    }
    out[wi] = int32_t(word);  // two's-complement reinterpretation (well defined since C++20)
  }
}

void unpack_int32(const int32_t* packed, size_t n, int bits, int8_t* codes) {
  const size_t f = int_pack_factor(bits);
  const uint32_t mask = (1u << bits) - 1u;
  const int qmin = int_qmin(bits);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t word = uint32_t(packed[i / f]);
    const uint32_t u = (word >> (uint32_t(bits) * (i % f))) & mask;
    codes[i] = int8_t(int(u) + qmin);
  }
}

float absmax_of(const float* x, size_t n) {
  float m = 0.0f;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    finite &= std::isfinite(a);
    m = a > m ? a : m;
  }
  check(finite, "fp8 scale: non-finite value in the input");
  return m;
}

float fp8_scale_from_amax(float amax) {
  check(std::isfinite(amax) && amax >= 0.0f,
        "fp8 scale: amax must be finite and >= 0, got " + std::to_string(amax));
  if (amax == 0.0f) return 1.0f;
  return std::max(amax / kFp8E4M3Max, FLT_MIN);
}

void fp8_row_scales(const float* x, size_t rows, size_t cols, float* scales) {
  for (size_t r = 0; r < rows; ++r) scales[r] = fp8_scale_from_amax(absmax_of(x + r * cols, cols));
}

namespace {
size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
void check_block(size_t br, size_t bc) {
  check(br > 0 && bc > 0, "fp8 block quantization: block sizes must be positive");
}
}  // namespace

void fp8_block_scales(const float* w, size_t rows, size_t cols, size_t br, size_t bc, float* scales) {
  check_block(br, bc);
  const size_t nbr = ceil_div(rows, br), nbc = ceil_div(cols, bc);
  for (size_t i = 0; i < nbr * nbc; ++i) scales[i] = 0.0f;
  bool finite = true;
  for (size_t r = 0; r < rows; ++r) {
    float* srow = scales + (r / br) * nbc;
    const float* row = w + r * cols;
    for (size_t c = 0; c < cols; ++c) {
      const float a = std::fabs(row[c]);
      finite &= std::isfinite(a);
      float& m = srow[c / bc];
      m = a > m ? a : m;
    }
  }
  check(finite, "fp8 block scale: non-finite value in the input");
  for (size_t i = 0; i < nbr * nbc; ++i) scales[i] = fp8_scale_from_amax(scales[i]);
}

void fp8_quantize_blocks(const float* w, size_t rows, size_t cols, size_t br, size_t bc,
                         const float* scales, uint8_t* q) {
  check_block(br, bc);
  const size_t nbc = ceil_div(cols, bc);
  for (size_t r = 0; r < rows; ++r) {
    const float* srow = scales + (r / br) * nbc;
    for (size_t c = 0; c < cols; ++c) q[r * cols + c] = f32_to_e4m3(w[r * cols + c] / srow[c / bc]);
  }
}

void fp8_dequantize_blocks(const uint8_t* q, size_t rows, size_t cols, size_t br, size_t bc,
                           const float* scales, float* w) {
  check_block(br, bc);
  const size_t nbc = ceil_div(cols, bc);
  for (size_t r = 0; r < rows; ++r) {
    const float* srow = scales + (r / br) * nbc;
    for (size_t c = 0; c < cols; ++c) w[r * cols + c] = e4m3_to_f32(q[r * cols + c]) * srow[c / bc];
  }
}

}  // namespace as::kernels
