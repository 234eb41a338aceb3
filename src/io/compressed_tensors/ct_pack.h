// compressed-tensors int32 bit packing (pack_to_int32 / unpack_from_int32), torch-free.
//
// Layout, for b-bit signed codes q in [-2^(b-1), 2^(b-1)-1]:
//   u = q + 2^(b-1)                    (unsigned, 0 .. 2^b-1)
//   pf = 32 / b                        (integer division: 8 for 4-bit, 10 for 3-bit, 16 for 2-bit)
//   the packed dimension is zero-padded to a multiple of pf; word c holds elements pf*c .. pf*c+pf-1,
//   element pf*c+j at bits [b*j, b*j+b) -- lowest index in the least significant bits, sequential.
//   Words are stored as int32 (same bits: a set bit 31 makes the word negative).
//   When b does not divide 32 (3, 5, 6, 7 bits) the top 32 - pf*b bits are zero.
// Weights are packed along K (dim 1): [N, K] -> [N, ceil(K/pf)].
// Zero points are packed along N (dim 0): [N, G] -> [ceil(N/pf), G].
#pragma once
#include <cstdint>

namespace as::ct {

// Packs rows x cols codes along dim 1 into rows x ceil(cols/pf) words. Throws as::Error when a code
// is outside the b-bit signed range.
void pack_int32_dim1(const int8_t* q, int64_t rows, int64_t cols, int bits, int32_t* out);
// Inverse of pack_int32_dim1 (padding dropped). Never fails: every b-bit field is a valid code.
void unpack_int32_dim1(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out);
// Packs rows x cols codes along dim 0 into ceil(rows/pf) x cols words.
void pack_int32_dim0(const int8_t* q, int64_t rows, int64_t cols, int bits, int32_t* out);
void unpack_int32_dim0(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out);

// One word from up to pf codes (missing trailing codes are padding, stored as 0 bits).
int32_t pack_word(const int8_t* q, int count, int bits);
// Field j of a word as a signed code.
inline int8_t unpack_field(uint32_t word, int j, int bits) {
  const uint32_t mask = (1u << bits) - 1u;
  return static_cast<int8_t>(static_cast<int>((word >> (bits * j)) & mask) - (1 << (bits - 1)));
}
// Bits of a word that must be zero when only `count` of its pf fields hold values.
uint32_t padding_mask(int count, int bits);

}  // namespace as::ct
