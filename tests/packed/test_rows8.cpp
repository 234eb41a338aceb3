// The 8-row interleaved int4 layout: exact round trip with the row layout, kernels on every ISA
// against the scalar row-layout reference (GEMV and tiled-GEMM paths), and bad shapes / types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/packed.h"
#include "packed/emu_kernels.h"
#include "packed/packed_test_util.h"

namespace as::packed {
namespace {

using test::randn;

std::vector<uint8_t> packed_rows(QuantType t, int64_t N, int64_t K, uint32_t seed) {
  return test::pack(t, randn(size_t(N * K), seed), N, K);
}

const QuantType kTypes[] = {QuantType::Q4_G32, QuantType::Q4_G128};

TEST(PackedRows8, RoundTripIsExact) {
  for (QuantType t : kTypes) {
    const int64_t N = 24, K = 3 * quant_type(t).block_size;
    const auto rows = packed_rows(t, N, K, 7);
    std::vector<uint8_t> r8(rows.size()), back(rows.size(), 0xAB);
    to_rows8(t, rows.data(), N, K, r8.data());
    EXPECT_NE(r8, rows) << quant_type(t).name;  // the layout really differs
    from_rows8(t, r8.data(), N, K, back.data());
    EXPECT_EQ(back, rows) << quant_type(t).name;
  }
}

// Row n's weight k in rows8 must dequantize to the row layout's weight (spot check of the layout
// documented in packed.h, independent of from_rows8).
TEST(PackedRows8, DocumentedLayout) {
  const QuantType t = QuantType::Q4_G32;
  const int64_t N = 16, K = 64;
  const auto rows = packed_rows(t, N, K, 11);
  std::vector<uint8_t> r8(rows.size());
  to_rows8(t, rows.data(), N, K, r8.data());
  const int64_t nb = K / 32, rb = nb * 18;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t b = k / 32, e = k % 32, g = n / 8, r = n % 8;
      const uint8_t* src = rows.data() + n * rb + b * 18;
      const int want = e < 16 ? (src[2 + e] & 15) : (src[2 + e - 16] >> 4);
      const uint8_t* gb = r8.data() + (g * nb + b) * 8 * 18;
      const uint8_t byte = gb[16 + 32 * ((e % 16) / 4) + 4 * r + e % 4];
      ASSERT_EQ(e < 16 ? (byte & 15) : (byte >> 4), want) << "n=" << n << " k=" << k;
      ASSERT_EQ(gb[2 * r] | (gb[2 * r + 1] << 8), src[0] | (src[1] << 8));
    }
}

TEST(PackedRows8, EveryIsaMatchesTheScalarRowLayout) {
  for (QuantType t : kTypes) {
    const int64_t G = quant_type(t).block_size;
    for (int64_t N : {8, 40})
      for (int64_t K : {G, 5 * G})
        for (int64_t M : {1, 3, 9, 21}) {  // GEMV path (M < 8) and the tiled GEMM (tail tiles too)
          const auto rows = packed_rows(t, N, K, uint32_t(N * 1000 + K + M));
          std::vector<uint8_t> r8(rows.size());
          to_rows8(t, rows.data(), N, K, r8.data());
          const auto X = randn(size_t(M * K), uint32_t(M + 5));
          test::expect_layout_gemm_matches(t, rows, r8, N, K, X, M,
                                           std::string(quant_type(t).name) + " N=" + std::to_string(N) +
                                               " K=" + std::to_string(K) + " M=" + std::to_string(M),
                                           test::emu512_rows8(t));
        }
  }
}

TEST(PackedRows8, BadShapesAndTypesAreNamed) {
  std::vector<uint8_t> buf(1 << 12);
  std::vector<float> x(256), y(64);
  EXPECT_FALSE(rows8_supported(QuantType::TERN2_PC));
  EXPECT_TRUE(rows8_supported(QuantType::Q4_G32));
  try {
    to_rows8(QuantType::Q4_G32, buf.data(), 12, 64, buf.data() + 2048);
    FAIL() << "N % 8 != 0 accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("N % 8 == 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("N=12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemm_rows8(QuantType::Q4_G128, buf.data(), 8, 96, x.data(), 1, y.data()), as::Error);  // K % 128
  try {
    from_rows8(QuantType::TERN2_PC, buf.data(), 8, 128, buf.data() + 2048);
    FAIL() << "unsupported type accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tern2_pc"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace as::packed
