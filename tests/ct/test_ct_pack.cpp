// compressed-tensors pack_to_int32 layout: hand-computed words.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "common/error.h"
#include "io/compressed_tensors/ct_pack.h"
#include "io/compressed_tensors/ct_scheme.h"

using namespace as::ct;

TEST(CtPack, PackFactorAndLengths) {
  EXPECT_EQ(pack_factor(4), 8);
  EXPECT_EQ(pack_factor(8), 4);
  EXPECT_EQ(pack_factor(2), 16);
  EXPECT_EQ(pack_factor(3), 10);  // 32 // 3: 30 bits used, top 2 bits zero
  EXPECT_EQ(packed_length(128, 4), 16);
  EXPECT_EQ(packed_length(130, 4), 17);
  EXPECT_EQ(packed_length(128, 3), 13);  // ceil(128 / 10), not ceil(128 * 3 / 32) = 12
  EXPECT_EQ(packed_length(7, 8), 2);
  EXPECT_THROW(pack_factor(9), as::Error);
}

TEST(CtPack, FourBitNibbleOrderLowestKInLsb) {
  // q = 0..7 -> u = q + 8 = 8..15; element j in bits [4j, 4j+4).
  const int8_t q[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  const int32_t w = pack_word(q, 8, 4);
  EXPECT_EQ(static_cast<uint32_t>(w), 0xFEDCBA98u);
  EXPECT_EQ(w, -19088744);  // negative int32 word: top nibble 0xF
  const int8_t q2[8] = {-8, -7, -6, -5, -4, -3, -2, -1};
  EXPECT_EQ(pack_word(q2, 8, 4), 0x76543210);
  const int8_t q3[8] = {7, -8, 0, 0, 0, 0, 0, -1};  // u = 15, 0, 8, 8, 8, 8, 8, 7
  EXPECT_EQ(static_cast<uint32_t>(pack_word(q3, 8, 4)), 0x7888880Fu);
}

TEST(CtPack, FourBitRowWithPadding) {
  // K = 10: two words per row; the second holds k = 8, 9 and zero padding (u = 0, not 8).
  const std::vector<int8_t> q = {0, 1, 2, 3, 4, 5, 6, 7, 3, -8,   // row 0
                                 -1, -1, -1, -1, -1, -1, -1, -1, 7, 7};  // row 1
  std::vector<int32_t> out(4);
  pack_int32_dim1(q.data(), 2, 10, 4, out.data());
  EXPECT_EQ(static_cast<uint32_t>(out[0]), 0xFEDCBA98u);
  EXPECT_EQ(static_cast<uint32_t>(out[1]), 0x0000000Bu);  // u(3) = 11, u(-8) = 0
  EXPECT_EQ(static_cast<uint32_t>(out[2]), 0x77777777u);
  EXPECT_EQ(static_cast<uint32_t>(out[3]), 0x000000FFu);
  std::vector<int8_t> back(20);
  unpack_int32_dim1(out.data(), 2, 10, 4, back.data());
  EXPECT_EQ(back, q);
}

TEST(CtPack, ZeroPointsPackedAlongN) {
  // zp [N = 10, G = 2] -> [ceil(10/8) = 2, 2]; word[r][g] packs rows 8r .. 8r+7 of column g.
  std::vector<int8_t> zp(20);
  for (int n = 0; n < 10; ++n) {
    zp[n * 2 + 0] = static_cast<int8_t>((n % 8) - 8);  // rows 0..7: -8..-1, rows 8, 9: -8, -7
    zp[n * 2 + 1] = static_cast<int8_t>(7 - (n % 8));
  }
  std::vector<int32_t> out(4);
  pack_int32_dim0(zp.data(), 10, 2, 4, out.data());
  EXPECT_EQ(static_cast<uint32_t>(out[0]), 0x76543210u);  // column 0, rows 0..7: u = 0..7
  EXPECT_EQ(static_cast<uint32_t>(out[1]), 0x89ABCDEFu);  // column 1, rows 0..7: u = 15..8
  EXPECT_EQ(static_cast<uint32_t>(out[2]), 0x00000010u);  // column 0, rows 8, 9: u = 0, 1
  EXPECT_EQ(static_cast<uint32_t>(out[3]), 0x000000EFu);  // column 1, rows 8, 9: u = 15, 14
  std::vector<int8_t> back(20);
  unpack_int32_dim0(out.data(), 10, 2, 4, back.data());
  EXPECT_EQ(back, zp);
}

TEST(CtPack, TwoBit) {
  // u = q + 2; 16 fields of 2 bits.
  int8_t q[16];
  for (auto& v : q) v = 1;  // u = 3
  EXPECT_EQ(pack_word(q, 16, 2), -1);  // 0xFFFFFFFF
  const int8_t q2[4] = {1, -2, 0, -1};  // u = 3, 0, 2, 1
  EXPECT_EQ(pack_word(q2, 4, 2), 3 | (0 << 2) | (2 << 4) | (1 << 6));
  EXPECT_EQ(pack_word(q2, 4, 2), 0x63);
}

TEST(CtPack, ThreeBitTenPerWordTopBitsZero) {
  int8_t q[10];
  for (auto& v : q) v = 3;  // u = 7
  EXPECT_EQ(static_cast<uint32_t>(pack_word(q, 10, 3)), 0x3FFFFFFFu);
  const int8_t q2[3] = {-4, 3, 0};  // u = 0, 7, 4
  EXPECT_EQ(pack_word(q2, 3, 3), (7 << 3) | (4 << 6));
  // K = 12 -> 2 words; word 1 holds k = 10, 11.
  std::vector<int8_t> row(12, -4);
  row[10] = 1;   // u = 5
  row[11] = -1;  // u = 3
  std::vector<int32_t> out(2);
  pack_int32_dim1(row.data(), 1, 12, 3, out.data());
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 5 | (3 << 3));
  EXPECT_EQ(padding_mask(10, 3), 0xC0000000u);
  EXPECT_EQ(padding_mask(2, 3), ~0x3Fu);
}

TEST(CtPack, EightBitMatchesCtDocstring) {
  // compressed-tensors' pack_to_int32 docstring: num_bits = 8, [1, 2] -> [129, 130] -> 33409.
  const int8_t q[2] = {1, 2};
  EXPECT_EQ(pack_word(q, 2, 8), 33409);
  const int8_t q2[4] = {127, -128, 0, -1};  // u = 255, 0, 128, 127
  EXPECT_EQ(static_cast<uint32_t>(pack_word(q2, 4, 8)), 0x7F8000FFu);
  const int8_t q3[4] = {0, 0, 0, 127};  // u = 128,128,128,255 -> negative word
  EXPECT_EQ(static_cast<uint32_t>(pack_word(q3, 4, 8)), 0xFF808080u);
  EXPECT_LT(pack_word(q3, 4, 8), 0);
}

TEST(CtPack, OutOfRangeCodeThrows) {
  const int8_t q[1] = {8};
  EXPECT_THROW(pack_word(q, 1, 4), as::Error);
  const int8_t q2[1] = {-3};
  EXPECT_THROW(pack_word(q2, 1, 2), as::Error);
}

TEST(CtPack, RandomRoundTripAllWidths) {
  std::mt19937 rng(7);
  for (int bits = 1; bits <= 8; ++bits) {
    for (int64_t cols : {1, 5, 31, 32, 33, 100}) {
      const int64_t rows = 3;
      std::uniform_int_distribution<int> d(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
      std::vector<int8_t> q(static_cast<size_t>(rows * cols));
      for (auto& v : q) v = static_cast<int8_t>(d(rng));
      std::vector<int32_t> p(static_cast<size_t>(rows * packed_length(cols, bits)));
      pack_int32_dim1(q.data(), rows, cols, bits, p.data());
      std::vector<int8_t> back(q.size());
      unpack_int32_dim1(p.data(), rows, cols, bits, back.data());
      EXPECT_EQ(back, q) << bits << "-bit, cols " << cols;
      // dim 0 round trip of the same data viewed as [cols, rows]
      std::vector<int32_t> p0(static_cast<size_t>(packed_length(cols, bits) * rows));
      pack_int32_dim0(q.data(), cols, rows, bits, p0.data());
      std::vector<int8_t> back0(q.size());
      unpack_int32_dim0(p0.data(), cols, rows, bits, back0.data());
      EXPECT_EQ(back0, q) << bits << "-bit dim0, rows " << cols;
    }
  }
}
