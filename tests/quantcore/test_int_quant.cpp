// Torch-free integer quantization and FP8 scale kernels (kernels/int_quant.h).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/int_quant.h"

namespace {

using namespace as::kernels;

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(IntQuant, RangesAndBits) {
  EXPECT_EQ(int_qmin(4), -8);
  EXPECT_EQ(int_qmax(4), 7);
  EXPECT_EQ(int_qmin(8), -128);
  EXPECT_EQ(int_qmax(8), 127);
  EXPECT_EQ(int_qmin(2), -2);
  EXPECT_EQ(int_qmax(3), 3);
  EXPECT_THROW(check_int_bits(1, "w"), as::Error);
  EXPECT_THROW(check_int_bits(9, "w"), as::Error);
  try {
    check_int_bits(16, "model.layers.3.mlp.up_proj.weight");
    FAIL();
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.3.mlp.up_proj.weight"), std::string::npos);
  }
}

TEST(IntQuant, SymmetricConvention) {
  // INT4: scale = amax / 7.5; +amax lands on code 7 (14/15 amax), -amax on -8.
  IntQParams p = int_qparams(-3.0f, 7.5f, 4, true);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero, 0);
  EXPECT_EQ(int_quantize(7.5f, p, 4), 7);
  EXPECT_EQ(int_quantize(-7.5f, p, 4), -8);
  EXPECT_EQ(int_quantize(2.5f, p, 4), 2);   // tie -> even
  EXPECT_EQ(int_quantize(3.5f, p, 4), 4);   // tie -> even
  EXPECT_EQ(int_quantize(-2.5f, p, 4), -2);
  EXPECT_EQ(int_quantize(100.0f, p, 4), 7);
  EXPECT_EQ(int_dequantize(-8, p), -8.0f);
  // INT8: amax / 127.5
  p = int_qparams(-255.0f, 1.0f, 8, true);
  EXPECT_EQ(p.scale, 2.0f);
  EXPECT_EQ(int_quantize(-255.0f, p, 8), -128);
  EXPECT_EQ(int_quantize(255.0f, p, 8), 127);
  // all-positive data still uses the symmetric grid around 0
  p = int_qparams(1.0f, 3.0f, 4, true);
  EXPECT_FLOAT_EQ(p.scale, 3.0f / 7.5f);
}

TEST(IntQuant, AsymmetricConvention) {
  // min -1, max 3, 4 bits: scale 4/15, zero = rne(-8 + 3.75) = -4
  IntQParams p = int_qparams(-1.0f, 3.0f, 4, false);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 15.0f);
  EXPECT_EQ(p.zero, -4);
  EXPECT_EQ(int_quantize(0.0f, p, 4), -4);
  EXPECT_EQ(int_dequantize(-4, p), 0.0f);  // zero is exactly representable
  EXPECT_EQ(int_quantize(3.0f, p, 4), 7);
  EXPECT_EQ(int_quantize(-1.0f, p, 4), -8);
  // the range is widened to contain 0: all-positive group has zero at qmin
  p = int_qparams(2.0f, 6.0f, 4, false);
  EXPECT_FLOAT_EQ(p.scale, 6.0f / 15.0f);
  EXPECT_EQ(p.zero, -8);
  EXPECT_EQ(int_dequantize(int_quantize(0.0f, p, 4), p), 0.0f);
  // all-negative group: zero at qmax
  p = int_qparams(-6.0f, -2.0f, 4, false);
  EXPECT_EQ(p.zero, 7);
  // degenerate all-zero range: scale floored at FLT_EPSILON, zero codes
  for (bool sym : {true, false}) {
    p = int_qparams(0.0f, 0.0f, 4, sym);
    EXPECT_EQ(p.scale, FLT_EPSILON);
    EXPECT_EQ(int_dequantize(int_quantize(0.0f, p, 4), p), 0.0f);
  }
  EXPECT_THROW(int_qparams(NAN, 1.0f, 4, true), as::Error);
}

TEST(IntQuant, GroupRoundTripAllBits) {
  const size_t rows = 7, cols = 70;  // last group short for g = 32
  const auto w = randn(rows * cols, 11);
  for (int bits : {2, 3, 4, 8}) {
    for (int64_t g : {int64_t(32), int64_t(-1), int64_t(70), int64_t(128)}) {
      for (bool sym : {true, false}) {
        SCOPED_TRACE("bits " + std::to_string(bits) + " g " + std::to_string(g) + " sym " +
                     std::to_string(sym));
        const size_t ng = int_num_groups(cols, g);
        EXPECT_EQ(ng, g == 32 ? 3u : 1u);
        std::vector<int8_t> codes(rows * cols), zeros(rows * ng);
        std::vector<float> scales(rows * ng), deq(rows * cols);
        int_quantize_groups(w.data(), rows, cols, g, bits, sym, codes.data(), scales.data(),
                            zeros.data());
        int_dequantize_groups(codes.data(), scales.data(), zeros.data(), rows, cols, g, deq.data());
        const size_t gs = g == -1 ? cols : size_t(g);
        for (size_t r = 0; r < rows; ++r) {
          for (size_t c = 0; c < cols; ++c) {
            const size_t k = c / gs;
            const IntQParams p{scales[r * ng + k], zeros[r * ng + k]};
            const int q = codes[r * cols + c];
            ASSERT_GE(q, int_qmin(bits));
            ASSERT_LE(q, int_qmax(bits));
            if (sym) {
              ASSERT_EQ(p.zero, 0);
            }
            // error bound: half a step inside the grid (sym: +amax is exactly half a step out)
            const float err = std::fabs(w[r * cols + c] - deq[r * cols + c]);
            ASSERT_LE(err, p.scale * 0.5f * (1.0f + 1e-4f));
            // idempotence: re-quantizing the dequantized value gives the same code
            ASSERT_EQ(int_quantize(deq[r * cols + c], p, bits), q);
          }
        }
        // explicit g_idx path agrees
        std::vector<int32_t> g_idx(cols);
        for (size_t c = 0; c < cols; ++c) g_idx[c] = int32_t(c / gs);
        std::vector<float> deq2(rows * cols);
        int_dequantize_gidx(codes.data(), scales.data(), zeros.data(), rows, cols, ng, g_idx.data(),
                            deq2.data());
        ASSERT_EQ(deq, deq2);
      }
    }
  }
}

TEST(IntQuant, Int4GroupRoundTripExactOnGrid) {
  // values already on a 4-bit grid come back bit-exactly
  const size_t cols = 64;
  std::vector<float> w(cols);
  for (size_t c = 0; c < cols; ++c) w[c] = 0.25f * float(int(c % 16) - 8);  // -2.0 .. 1.75
  w[0] = -2.0f;
  std::vector<int8_t> codes(cols), zeros(2);
  std::vector<float> scales(2), deq(cols);
  int_quantize_groups(w.data(), 1, cols, 32, 4, false, codes.data(), scales.data(), zeros.data());
  int_dequantize_groups(codes.data(), scales.data(), zeros.data(), 1, cols, 32, deq.data());
  for (size_t c = 0; c < cols; ++c) EXPECT_EQ(deq[c], w[c]) << c;
}

TEST(IntQuant, GidxAndGroupErrors) {
  std::vector<int8_t> codes(4, 0), zeros(2, 0);
  std::vector<float> scales(2, 1.0f), out(4);
  std::vector<int32_t> bad{0, 1, 2, 0};
  EXPECT_THROW(int_dequantize_gidx(codes.data(), scales.data(), zeros.data(), 1, 4, 2, bad.data(),
                                   out.data()),
               as::Error);
  EXPECT_THROW(int_num_groups(10, 0), as::Error);
  EXPECT_THROW(int_num_groups(10, -2), as::Error);
  std::vector<float> w{1.0f, NAN, 0.0f, 2.0f};
  std::vector<int8_t> c(4), z(1);
  std::vector<float> s(1);
  EXPECT_THROW(int_quantize_groups(w.data(), 1, 4, -1, 4, true, c.data(), s.data(), z.data()),
               as::Error);
  w[1] = INFINITY;
  EXPECT_THROW(int_quantize_groups(w.data(), 1, 4, -1, 4, true, c.data(), s.data(), z.data()),
               as::Error);
}

TEST(IntQuant, PackLayoutCompressedTensors) {
  // 4 bits: u = q + 8, lowest index in the lowest nibble
  const int8_t codes[8] = {-8, -7, -6, -5, -4, -3, -2, -1};
  int32_t word = 0;
  pack_int32(codes, 8, 4, &word);
  EXPECT_EQ(uint32_t(word), 0x76543210u);
  const int8_t hi[8] = {7, 0, 0, 0, 0, 0, 0, 7};
  pack_int32(hi, 8, 4, &word);
  EXPECT_EQ(uint32_t(word), 0xF888888Fu);
  EXPECT_LT(word, 0);  // top nibble >= 8 makes the int32 negative (bits reinterpreted)
  // symmetric zero points (all 0) pack to 0x88888888
  const int8_t zeros[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  pack_int32(zeros, 8, 4, &word);
  EXPECT_EQ(uint32_t(word), 0x88888888u);
  // 8 bits: u = q + 128, 4 per word
  const int8_t c8[4] = {-128, 127, 0, 1};
  pack_int32(c8, 4, 8, &word);
  EXPECT_EQ(uint32_t(word), 0x8180FF00u);
  // partial word is zero-padded (u = 0 in the unused fields)
  const int8_t c3[3] = {0, 0, 0};
  pack_int32(c3, 3, 4, &word);
  EXPECT_EQ(uint32_t(word), 0x00000888u);
  EXPECT_EQ(int_pack_factor(3), 10u);
  EXPECT_EQ(int_packed_len(21, 3), 3u);
  EXPECT_EQ(int_packed_len(16, 4), 2u);
  EXPECT_EQ(int_packed_len(17, 4), 3u);
}

TEST(IntQuant, PackUnpackRoundTrip) {
  std::mt19937 rng(5);
  for (int bits = 2; bits <= 8; ++bits) {
    for (size_t n : {size_t(1), size_t(7), size_t(32), size_t(33), size_t(100)}) {
      std::uniform_int_distribution<int> d(int_qmin(bits), int_qmax(bits));
      std::vector<int8_t> codes(n), back(n);
      for (auto& c : codes) c = int8_t(d(rng));
      std::vector<int32_t> packed(int_packed_len(n, bits));
      pack_int32(codes.data(), n, bits, packed.data());
      unpack_int32(packed.data(), n, bits, back.data());
      ASSERT_EQ(codes, back) << "bits " << bits << " n " << n;
      // unused high bits of each word are zero
      const size_t f = int_pack_factor(bits);
      if (f * size_t(bits) < 32) {
        for (int32_t w : packed) ASSERT_EQ(uint32_t(w) >> (f * size_t(bits)), 0u);
      }
    }
  }
  const int8_t bad[2] = {8, 0};  // 8 does not fit signed 4 bits
  int32_t w;
  EXPECT_THROW(pack_int32(bad, 2, 4, &w), as::Error);
}

TEST(Fp8Scales, RowsBlocksAndZero) {
  EXPECT_EQ(fp8_scale_from_amax(448.0f), 1.0f);
  EXPECT_EQ(fp8_scale_from_amax(0.0f), 1.0f);
  EXPECT_EQ(fp8_scale_from_amax(896.0f), 2.0f);
  EXPECT_THROW(fp8_scale_from_amax(-1.0f), as::Error);
  EXPECT_THROW(fp8_scale_from_amax(NAN), as::Error);
  const float row[4] = {1.0f, -8.96f, 0.5f, 2.0f};
  EXPECT_EQ(absmax_of(row, 4), 8.96f);
  const float bad[2] = {1.0f, NAN};
  EXPECT_THROW(absmax_of(bad, 2), as::Error);

  // 130 x 260 with 128 x 128 blocks -> 2 x 3 grid; partial edge blocks
  const size_t R = 130, C = 260, B = 128;
  auto w = randn(R * C, 3);
  w[5 * C + 7] = 100.0f;      // block (0, 0)
  w[129 * C + 259] = -50.0f;  // block (1, 2)
  for (size_t r = 0; r < R; ++r)
    for (size_t c = 128; c < 256; ++c)
      if (r >= 128) w[r * C + c] = 0.0f;  // block (1, 1) all zero
  std::vector<float> s(6);
  fp8_block_scales(w.data(), R, C, B, B, s.data());
  EXPECT_EQ(s[0], 100.0f / 448.0f);
  EXPECT_EQ(s[5], 50.0f / 448.0f);
  EXPECT_EQ(s[4], 1.0f);
  for (size_t br = 0; br < 2; ++br)
    for (size_t bc = 0; bc < 3; ++bc) {
      float amax = 0.0f;
      for (size_t r = br * B; r < std::min(R, (br + 1) * B); ++r)
        for (size_t c = bc * B; c < std::min(C, (bc + 1) * B); ++c)
          amax = std::max(amax, std::fabs(w[r * C + c]));
      EXPECT_EQ(s[br * 3 + bc], amax == 0.0f ? 1.0f : amax / 448.0f);
    }
  std::vector<uint8_t> q(R * C);
  std::vector<float> deq(R * C);
  fp8_quantize_blocks(w.data(), R, C, B, B, s.data(), q.data());
  fp8_dequantize_blocks(q.data(), R, C, B, B, s.data(), deq.data());
  for (size_t r = 0; r < R; ++r)
    for (size_t c = 0; c < C; ++c) {
      const float sc = s[(r / B) * 3 + c / B];
      const float x = w[r * C + c];
      ASSERT_EQ(q[r * C + c], f32_to_e4m3(x / sc));
      // E4M3: relative half-ulp 2^-4 for normals, absolute 2^-10 * scale in the subnormal range
      ASSERT_LE(std::fabs(deq[r * C + c] - x),
                std::max(std::fabs(x) * 0.0625f, std::ldexp(sc, -10)) * (1.0f + 1e-5f));
    }
  // the block maximum maps onto 448 exactly
  EXPECT_EQ(q[5 * C + 7], 0x7E);
  EXPECT_EQ(q[129 * C + 259], 0xFE);

  std::vector<float> rs(R);
  fp8_row_scales(w.data(), R, C, rs.data());
  EXPECT_EQ(rs[5], 100.0f / 448.0f);
  EXPECT_THROW(fp8_block_scales(w.data(), R, C, 0, B, s.data()), as::Error);
}

}  // namespace
