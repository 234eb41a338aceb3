#include "io/compressed_tensors/ct_pack.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "io/compressed_tensors/ct_scheme.h"

namespace as::ct {

namespace {
void check_code(int8_t q, int bits) {
  const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  if (q < lo || q > hi)
    throw Error("compressed-tensors packing: code " + std::to_string(int(q)) + " outside the " +
                std::to_string(bits) + "-bit range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}
}  // namespace

int32_t pack_word(const int8_t* q, int count, int bits) {
  const int pf = pack_factor(bits);
  check(count >= 0 && count <= pf, "pack_word: bad field count");
  const int offset = 1 << (bits - 1);
  uint32_t w = 0;
  for (int j = 0; j < count; ++j) {
    check_code(q[j], bits);
    w |= static_cast<uint32_t>(q[j] + offset) << (bits * j);
  }
  return static_cast<int32_t>(w);
}

uint32_t padding_mask(int count, int bits) {
  const int used = count * bits;
  return used >= 32 ? 0u : ~((1u << used) - 1u);
}

void pack_int32_dim1(const int8_t* q, int64_t rows, int64_t cols, int bits, int32_t* out) {
  const int pf = pack_factor(bits);
  const int64_t pc = packed_length(cols, bits);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* row = q + r * cols;
    for (int64_t c = 0; c < pc; ++c) {
      const int64_t start = c * pf;
      const int count = static_cast<int>(std::min<int64_t>(pf, cols - start));
      out[r * pc + c] = pack_word(row + start, count, bits);
    }
  }
}

void unpack_int32_dim1(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out) {
  const int pf = pack_factor(bits);
  const int64_t pc = packed_length(cols, bits);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      const uint32_t w = static_cast<uint32_t>(packed[r * pc + k / pf]);
      out[r * cols + k] = unpack_field(w, static_cast<int>(k % pf), bits);
    }
  }
}

void pack_int32_dim0(const int8_t* q, int64_t rows, int64_t cols, int bits, int32_t* out) {
  const int pf = pack_factor(bits);
  const int64_t pr = packed_length(rows, bits);
  int8_t buf[32];
  for (int64_t p = 0; p < pr; ++p) {
    const int64_t start = p * pf;
    const int count = static_cast<int>(std::min<int64_t>(pf, rows - start));
    for (int64_t c = 0; c < cols; ++c) {
      for (int j = 0; j < count; ++j) buf[j] = q[(start + j) * cols + c];
      out[p * cols + c] = pack_word(buf, count, bits);
    }
  }
}

void unpack_int32_dim0(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out) {
  const int pf = pack_factor(bits);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const uint32_t w = static_cast<uint32_t>(packed[(r / pf) * cols + c]);
      out[r * cols + c] = unpack_field(w, static_cast<int>(r % pf), bits);
    }
}

}  // namespace as::ct
