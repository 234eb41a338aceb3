// tern167_pc's digit layout: exact round trip with the row layout, the documented byte contents
// checked against the reference dequantizer, the VBMI kernel (native when the CPU has it, and the
// emulated build) and every other ISA's fallback against the scalar row-layout reference, and errors;
// and the exact re-encoding as tern2_pc that CPUs without the digit kernel run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/packed.h"
#include "packed/emu_kernels.h"
#include "packed/packed_test_util.h"

namespace as::packed {
namespace {

constexpr QuantType kT = QuantType::TERN167_PC;

std::vector<uint8_t> pack_t(int64_t N, int64_t K, uint32_t seed) {
  return test::pack(kT, test::randn(size_t(N * K), seed), N, K);
}

// Element of byte j, trit n in a 256-weight block (formats.h).
int element(int j, int n) {
  if (j < 32) return 16 * (2 * n + (j & 1)) + (j >> 1);
  if (j < 48) return 160 + 8 * (2 * n + ((j - 32) & 1)) + ((j - 32) >> 1);
  return n < 4 ? 240 + 4 * n + (j - 48) : -1;
}

TEST(PackedT167d, RoundTripIsExact) {
  const int64_t N = 5, K = 768;
  const auto rows = pack_t(N, K, 3);
  std::vector<uint8_t> d(rows.size()), back(rows.size(), 0xCD);
  to_interleaved(kT, rows.data(), N, K, d.data());
  EXPECT_NE(d, rows);
  from_interleaved(kT, d.data(), N, K, back.data());
  EXPECT_EQ(back, rows);
}

// Each byte's base-3 digits, minus one and times the row scale, are the reference dequantizer's
// weights at the documented elements (checked without the kernels or from_interleaved).
TEST(PackedT167d, DigitsAreTheWeights) {
  const int64_t N = 3, K = 512, rb = 4 + K / 256 * 52;
  const auto rows = pack_t(N, K, 9);
  std::vector<uint8_t> d(rows.size());
  to_interleaved(kT, rows.data(), N, K, d.data());
  std::vector<float> w(size_t(N * K));
  dequantize_rows(kT, rows.data(), N, K, w.data());
  for (int64_t n = 0; n < N; ++n) {
    float s;
    std::memcpy(&s, d.data() + n * rb, 4);
    for (int64_t b = 0; b < K / 256; ++b)
      for (int j = 0; j < 52; ++j) {
        const int v = d[size_t(n * rb + 4 + b * 52 + j)];
        ASSERT_LT(v, 243);
        for (int t = 0, p = 81; t < 5; ++t, p /= 3) {
          const int e = element(j, t);
          if (e < 0) {
            ASSERT_EQ((v / p) % 3, 0) << "4-trit byte " << j << " has a fifth trit";
            continue;
          }
          ASSERT_EQ(float((v / p) % 3 - 1) * s, w[size_t(n * K + b * 256 + e)]) << "n=" << n << " j=" << j;
        }
      }
  }
}

TEST(PackedT167d, EveryIsaMatchesTheScalarRowLayout) {
  for (int64_t N : {3, 37})
    for (int64_t K : {256, 1280})
      for (int64_t M : {1, 3, 9}) {
        const auto rows = pack_t(N, K, uint32_t(N * 100 + K + M));
        std::vector<uint8_t> d(rows.size());
        to_interleaved(kT, rows.data(), N, K, d.data());
        test::expect_layout_gemm_matches(kT, rows, d, N, K, test::randn(size_t(M * K), uint32_t(M + 1)), M,
                                         "N=" + std::to_string(N) + " K=" + std::to_string(K) + " M=" + std::to_string(M),
                                         test::emu512_t167d(kT));
      }
}

TEST(PackedT167d, BadShapesAndTypesAreNamed) {
  std::vector<uint8_t> buf(4096);
  std::vector<float> x(512), y(8);
  try {
    to_interleaved(kT, buf.data(), 2, 128, buf.data() + 2048);
    FAIL() << "K % 256 != 0 accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("K % 256 == 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("K=128"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemm_interleaved(kT, buf.data(), 2, 256, nullptr, 1, y.data()), as::Error);
  EXPECT_THROW(from_interleaved(kT, nullptr, 2, 256, buf.data()), as::Error);
}

// ---- tern167_pc run as tern2_pc (an exact re-encoding where the digit kernel is missing) ----

// The re-encoded rows hold the same values: the reference dequantizers agree bit for bit (tern2_pc's
// kernels are checked against its reference in test_packed.cpp).
TEST(PackedRecode, Tern167AsTern2KeepsEveryValue) {
  const QuantType t2 = QuantType::TERN2_PC;
  ASSERT_EQ(recode_target(kT), t2);
  for (int64_t N : {1, 17, 40})
    for (int64_t K : {256, 768}) {
      const auto rows = pack_t(N, K, uint32_t(N * 7 + K));
      std::vector<uint8_t> r2(packed_bytes(t2, N, K), 0xEE);
      recode_rows(kT, t2, rows.data(), N, K, r2.data());
      std::vector<float> a(size_t(N * K)), b(size_t(N * K));
      dequantize_rows(kT, rows.data(), N, K, a.data());
      dequantize_rows(t2, r2.data(), N, K, b.data());
      ASSERT_EQ(a, b) << "N=" << N << " K=" << K;
      // Re-quantizing the values with tern2_pc's own rule gives the same bytes (its absmean rule is
      // exact on rows that are already ternary).
      EXPECT_EQ(test::pack(t2, a, N, K), r2) << "N=" << N << " K=" << K;
    }
}

TEST(PackedRecode, RunTypeRule) {
  // Every type but tern167_pc runs as itself; tern167_pc runs as tern2_pc on AVX2 (no digit kernel)
  // and as itself on the scalar reference and where the VBMI digit kernel runs.
  for (int i = 0; i < int(kNumQuantTypes); ++i) {
    const auto t = QuantType(i);
    if (t == kT) continue;
    EXPECT_EQ(run_type(t, Isa::Scalar), t);
    EXPECT_EQ(run_type(t), t);
    EXPECT_EQ(recode_target(t), t);
  }
  EXPECT_EQ(run_type(kT, Isa::Scalar), kT);
  if (isa_available(Isa::Avx2)) {
    EXPECT_EQ(run_type(kT, Isa::Avx2), QuantType::TERN2_PC);
  }
  if (best_isa() == Isa::Avx512) {  // interleave_rows reports the digit layout for the best ISA
    EXPECT_EQ(run_type(kT, Isa::Avx512), interleave_rows(kT) == 1 ? kT : QuantType::TERN2_PC);
  }
}

TEST(PackedRecode, OtherPairsAndBadShapesAreNamed) {
  std::vector<uint8_t> buf(8192);
  try {
    recode_rows(QuantType::TERN2_PC, kT, buf.data(), 1, 256, buf.data() + 4096);
    FAIL() << "tern2_pc -> tern167_pc accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tern2_pc to tern167_pc"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recode_rows(kT, QuantType::TERN2_PC, buf.data(), 1, 384, buf.data() + 4096), as::Error);
  EXPECT_THROW(recode_rows(kT, QuantType::TERN2_PC, nullptr, 1, 256, buf.data()), as::Error);
}

}  // namespace
}  // namespace as::packed
