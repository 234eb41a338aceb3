// The 32-row transposed sherry125 layout and its table-lookup kernels: exact
// round trip with the row layout, the documented byte positions, every ISA
// against the scalar row-layout reference (GEMV and tiled-GEMM paths), the
// int16 headroom at the largest possible block sums, the layout-generic entry
// points, and bad shapes / types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/internal.h"
#include "kernels/packed/packed.h"
#include "packed/emu_kernels.h"
#include "packed/packed_test_util.h"

namespace as::packed {
namespace {

using test::pack;
using test::randn;

const QuantType kTypes[] = {QuantType::SHERRY125_PC, QuantType::SHERRY125_G128};

TEST(PackedRows32, RoundTripIsExact) {
  for (QuantType t : kTypes) {
    const int64_t N = 64, K = 384;
    const auto rows = pack(t, randn(size_t(N * K), 3), N, K);
    std::vector<uint8_t> r32(rows.size()), back(rows.size(), 0xAB), generic(rows.size());
    to_rows32(t, rows.data(), N, K, r32.data());
    EXPECT_NE(r32, rows) << quant_type(t).name;  // the layout really differs
    from_rows32(t, r32.data(), N, K, back.data());
    EXPECT_EQ(back, rows) << quant_type(t).name;
    to_interleaved(t, rows.data(), N, K, generic.data());
    EXPECT_EQ(generic, r32) << quant_type(t).name;
    EXPECT_EQ(interleave_rows(t), 32);
  }
  EXPECT_EQ(interleave_rows(QuantType::Q4_G32), 8);
  EXPECT_EQ(interleave_rows(QuantType::TERN2_PC), 0);
}

// Byte positions as documented in packed.h, checked against the row layout
// (formats.h) without from_rows32.
TEST(PackedRows32, DocumentedLayout) {
  for (QuantType t : kTypes) {
    const bool pc = t == QuantType::SHERRY125_PC;
    const int64_t N = 64, K = 256, nb = K / 128;
    const int64_t rb = pc ? 4 + nb * 20 : nb * 22, blk = pc ? 640 : 704, head = pc ? 128 : 0;
    const auto rows = pack(t, randn(size_t(N * K), 5), N, K);
    std::vector<uint8_t> r32(rows.size());
    to_rows32(t, rows.data(), N, K, r32.data());
    for (int64_t n = 0; n < N; ++n) {
      const uint8_t* row = rows.data() + n * rb;
      const uint8_t* grp = r32.data() + (n / 32) * (head + nb * blk);
      const int64_t r = n % 32;
      if (pc) {
        for (int i = 0; i < 4; ++i) ASSERT_EQ(grp[4 * r + i], row[i]) << "row scale, n=" << n;
      }
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* src = row + (pc ? 4 + b * 20 : b * 22);
        const uint8_t* gb = grp + head + b * blk;
        if (!pc) {
          ASSERT_EQ(gb[2 * r], src[0]) << "fp16 scale, n=" << n;
          ASSERT_EQ(gb[2 * r + 1], src[1]);
          src += 2, gb += 64;
        }
        for (int v = 0; v < 20; ++v) {
          const int64_t off = v < 16 ? 64 * (v / 2) + 32 * (r / 16) + 16 * (v % 2) + r % 16 : 512 + 32 * (v - 16) + r;
          ASSERT_EQ(gb[off], src[v]) << "n=" << n << " b=" << b << " v=" << v;
        }
      }
    }
  }
}

// gemm_interleaved on every ISA (and the emulated AVX-512 build) against the scalar kernel on the row
// layout.
void check_all_isas(QuantType t, const std::vector<uint8_t>& rows, int64_t N, int64_t K, const std::vector<float>& X,
                    int64_t M, const std::string& what) {
  std::vector<uint8_t> r32(rows.size());
  to_rows32(t, rows.data(), N, K, r32.data());
  test::expect_layout_gemm_matches(t, rows, r32, N, K, X, M, what, test::emu512_rows32(t));
  // Where the CPU has VBMI, Isa::Avx512 above ran the vpermb kernel; the plain AVX-512 one runs here.
  if (isa_available(Isa::Avx512) && detail::cpu_has_vbmi()) {
    std::vector<float> want(size_t(M * N)), got(size_t(M * N));
    gemm(t, rows.data(), N, K, X.data(), M, want.data(), Isa::Scalar);
    detail::avx512_rows32(t)(r32.data(), N, K, X.data(), M, got.data());
    test::expect_close(got, want, what + " avx512 without VBMI");
  }
}

TEST(PackedRows32, EveryIsaMatchesTheScalarRowLayout) {
  for (QuantType t : kTypes)
    for (int64_t N : {32, 96})
      for (int64_t K : {128, 640})
        for (int64_t M : {1, 3, 9, 21}) {  // GEMV path (M < 8) and the tiled GEMM (tail tiles too)
          const auto rows = pack(t, randn(size_t(N * K), uint32_t(N * 1000 + K + M)), N, K);
          const auto X = randn(size_t(M * K), uint32_t(M + 17));
          check_all_isas(t, rows, N, K, X, M,
                         std::string(quant_type(t).name) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                             " M=" + std::to_string(M));
        }
}

// The largest block sums the int16 accumulators can meet: every activation at
// +-max (int8 +-127 after quantization) and every row's three kept weights
// agreeing (or disagreeing) in sign with them, so each group contributes +-381
// and a block +-12192; rows alternate flipped and unflipped patterns.
TEST(PackedRows32, ExtremeBlockSumsStayExact) {
  const int64_t N = 32, K = 512;
  std::vector<float> X(static_cast<size_t>(K)), w(static_cast<size_t>(N * K));
  for (int64_t k = 0; k < K; ++k) X[size_t(k)] = (k % 3 == 0 ? -1.0f : 1.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const float s = (n % 2 == 0 ? 1.0f : -1.0f) * X[size_t(k)];
      w[size_t(n * K + k)] = (k % 4 == n % 4) ? 0.001f * s : s;  // the pruned lane moves with n
    }
  for (QuantType t : kTypes) {
    const auto rows = pack(t, w, N, K);
    check_all_isas(t, rows, N, K, X, 1, std::string(quant_type(t).name) + " extreme");
    std::vector<float> y(static_cast<size_t>(N));
    std::vector<uint8_t> r32(rows.size());
    to_rows32(t, rows.data(), N, K, r32.data());
    gemm_interleaved(t, r32.data(), N, K, X.data(), 1, y.data());
    for (int64_t n = 0; n < N; ++n)  // 3/4 of the weights kept, each +-1 * s * x with |x| = 1
      EXPECT_GT(std::fabs(y[size_t(n)]), 0.5f * 0.75f * float(K) * 0.75f) << "row " << n;
  }
}

TEST(PackedRows32, BadShapesAndTypesAreNamed) {
  std::vector<uint8_t> buf(1 << 14);
  std::vector<float> x(256), y(64);
  EXPECT_FALSE(rows32_supported(QuantType::Q4_G32));
  EXPECT_TRUE(rows32_supported(QuantType::SHERRY125_G128));
  try {
    to_rows32(QuantType::SHERRY125_PC, buf.data(), 40, 128, buf.data() + 8192);
    FAIL() << "N % 32 != 0 accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("N % 32 == 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("N=40"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemm_interleaved(QuantType::SHERRY125_PC, buf.data(), 32, 96, x.data(), 1, y.data()), as::Error);
  EXPECT_THROW(gemm_interleaved(QuantType::SHERRY125_PC, buf.data(), 32, 128, nullptr, 1, y.data()), as::Error);
  try {
    from_rows32(QuantType::TERN2_PC, buf.data(), 32, 128, buf.data() + 8192);
    FAIL() << "unsupported type accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tern2_pc"), std::string::npos) << e.what();
  }
  EXPECT_THROW(to_interleaved(QuantType::TERN2_PC, buf.data(), 32, 128, buf.data() + 8192), as::Error);
}

}  // namespace
}  // namespace as::packed
