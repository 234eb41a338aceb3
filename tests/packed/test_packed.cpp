// Packed weight formats: the traits table, codec round trips and quantizer rules, and every kernel
// on every ISA against the scalar reference (and the scalar reference against fp32 math).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/half.h"
#include "kernels/packed/formats.h"
#include "kernels/packed/internal.h"
#include "kernels/packed/packed.h"
#include "packed/emu_kernels.h"
#include "packed/packed_test_util.h"

namespace as::packed {
namespace {

std::vector<QuantType> all_types() {
  std::vector<QuantType> v;
  for (int i = 0; i < kNumQuantTypes; ++i) v.push_back(QuantType(i));
  return v;
}
std::string tname(QuantType t) { return quant_type(t).name; }

float f16r(float x) { return kernels::f16_to_f32(kernels::f32_to_f16(x)); }

using test::pack;
using test::randn;
std::vector<float> unpack(QuantType t, const std::vector<uint8_t>& p, int64_t N, int64_t K) {
  std::vector<float> w(size_t(N * K));
  dequantize_rows(t, p.data(), N, K, w.data());
  return w;
}

// ============================================================================================
// The traits table
// ============================================================================================
TEST(PackedTraits, EveryTypeHasEveryEntry) {
  ASSERT_EQ(quant_types().size(), size_t(kNumQuantTypes));
  std::set<std::string> names;
  for (QuantType t : all_types()) {
    const QuantTypeTraits& tr = quant_type(t);
    SCOPED_TRACE(tr.name ? tr.name : "(null)");
    EXPECT_EQ(tr.type, t);
    ASSERT_NE(tr.name, nullptr);
    EXPECT_NE(tr.description, nullptr);
    EXPECT_TRUE(names.insert(tr.name).second) << "duplicate name";
    EXPECT_GT(tr.block_size, 0);
    EXPECT_EQ(tr.block_size % 16, 0);
    EXPECT_GT(tr.block_bytes, 0);
    EXPECT_TRUE(tr.row_header_bytes == 0 || tr.row_header_bytes == 4);
    EXPECT_DOUBLE_EQ(tr.bits_per_weight, 8.0 * tr.block_bytes / tr.block_size);
    EXPECT_NE(tr.quantize_row, nullptr);
    EXPECT_NE(tr.dequantize_row, nullptr);
    for (int i = 0; i < kNumIsas; ++i) {
      SCOPED_TRACE(isa_name(Isa(i)));
      EXPECT_NE(tr.kernels[i].dot, nullptr);
      EXPECT_NE(tr.kernels[i].gemv, nullptr);
      EXPECT_NE(tr.kernels[i].gemm, nullptr);
    }
    EXPECT_EQ(quant_type_from_name(tr.name), t);
    const auto& ti = detail::type_impl(t);
    if (t != QuantType::FP8_PC && t != QuantType::F16) {
      EXPECT_NE(ti.decode, nullptr);
    }
  }
}

TEST(PackedTraits, BlockStructSizes) {
  // The table's geometry is the struct sizes of formats.h (pinned there with static_assert).
  EXPECT_EQ(quant_type(QuantType::Q8_G32).block_bytes, int(sizeof(BlockQ8G32)));
  EXPECT_EQ(quant_type(QuantType::Q4_G32).block_bytes, int(sizeof(BlockQ4G32)));
  EXPECT_EQ(quant_type(QuantType::Q4_G128).block_bytes, int(sizeof(BlockQ4G128)));
  EXPECT_EQ(quant_type(QuantType::Q4Z_G32).block_bytes, int(sizeof(BlockQ4ZG32)));
  EXPECT_EQ(quant_type(QuantType::Q4Z_G128).block_bytes, int(sizeof(BlockQ4ZG128)));
  EXPECT_EQ(quant_type(QuantType::FP8_PC).block_bytes, int(sizeof(BlockFp8)));
  EXPECT_EQ(quant_type(QuantType::F16).block_bytes, int(sizeof(BlockF16)));
  EXPECT_DOUBLE_EQ(quant_type(QuantType::F16).bits_per_weight, 16.0);
  EXPECT_EQ(quant_type(QuantType::SEQ2_G128).block_bytes, int(sizeof(Block2bG128)));
  EXPECT_EQ(quant_type(QuantType::TERN2_PC).block_bytes, int(sizeof(Block2b)));
  EXPECT_EQ(quant_type(QuantType::TERN167_PC).block_bytes, int(sizeof(BlockTern167)));
  EXPECT_EQ(quant_type(QuantType::SHERRY125_G128).block_bytes, int(sizeof(BlockSherryG128)));
  EXPECT_EQ(quant_type(QuantType::SHERRY125_PC).block_bytes, int(sizeof(BlockSherry)));
  EXPECT_DOUBLE_EQ(quant_type(QuantType::SHERRY125_PC).bits_per_weight, 1.25);
  EXPECT_DOUBLE_EQ(quant_type(QuantType::TERN167_PC).bits_per_weight, 1.625);
  EXPECT_DOUBLE_EQ(quant_type(QuantType::TERN2_G128).bits_per_weight, 2.125);
}

TEST(PackedTraits, RowBytes) {
  EXPECT_EQ(packed_row_bytes(QuantType::Q8_G32, 64), 68u);
  EXPECT_EQ(packed_row_bytes(QuantType::Q4_G32, 4096), 4096u / 32 * 18);
  EXPECT_EQ(packed_row_bytes(QuantType::TERN2_PC, 256), 4u + 64u);
  EXPECT_EQ(packed_row_bytes(QuantType::SHERRY125_PC, 128), 24u);
  EXPECT_EQ(packed_row_bytes(QuantType::TERN167_PC, 512), 4u + 104u);
  EXPECT_EQ(packed_row_bytes(QuantType::FP8_PC, 48), 52u);
  EXPECT_EQ(packed_row_bytes(QuantType::F16, 48), 96u);
  EXPECT_EQ(packed_bytes(QuantType::SEQ2_G128, 3, 256), 3u * 68u);
  EXPECT_NEAR(bits_per_weight(QuantType::SHERRY125_PC, 4096), 1.25 + 32.0 / 4096, 1e-12);
}

TEST(PackedTraits, NamesAndErrors) {
  try {
    quant_type_from_name("q3_k");
    FAIL() << "no throw";
  } catch (const as::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("q3_k"), std::string::npos);
    for (QuantType t : all_types()) EXPECT_NE(m.find(tname(t)), std::string::npos) << m;
  }
  // K not a multiple of the block size: the message names the type and the shape.
  std::vector<uint8_t> w(1 << 16);
  std::vector<float> x(1 << 12), y(1 << 12);
  try {
    gemm(QuantType::TERN2_G128, w.data(), 4, 100, x.data(), 1, y.data());
    FAIL() << "no throw";
  } catch (const as::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("tern2_g128"), std::string::npos) << m;
    EXPECT_NE(m.find("K=100"), std::string::npos) << m;
    EXPECT_NE(m.find("128"), std::string::npos) << m;
  }
  EXPECT_THROW(packed_row_bytes(QuantType::TERN167_PC, 128), as::Error);
  EXPECT_THROW(gemm(QuantType::Q8_G32, nullptr, 4, 32, x.data(), 1, y.data()), as::Error);
  EXPECT_THROW(gemm(QuantType::Q8_G32, w.data(), 0, 32, x.data(), 1, y.data()), as::Error);
  EXPECT_THROW(gemm(QuantType::Q8_G32, w.data(), 4, 32, x.data(), 0, y.data()), as::Error);
  EXPECT_THROW(quantize_rows(QuantType::Q4_G128, x.data(), 2, 96, w.data()), as::Error);
  EXPECT_THROW(isa_from_name("neon"), as::Error);
  EXPECT_EQ(isa_from_name("avx2"), Isa::Avx2);
  EXPECT_TRUE(isa_available(Isa::Scalar));
  EXPECT_TRUE(isa_available(resolve_isa(Isa::Best)));
  if (!isa_available(Isa::Avx512)) {
    EXPECT_THROW(gemm(QuantType::Q8_G32, w.data(), 4, 32, x.data(), 1, y.data(), Isa::Avx512), as::Error);
  }
}

// ============================================================================================
// Round trips on weights that lie exactly on a format's grid: quantize must recover the codes
// and scales, so dequantize(quantize(w)) == w bit for bit, and quantize(dequantize(p)) == p.
// ============================================================================================
struct OnGrid {
  std::vector<float> w;
};

// Builds an N x K matrix on the grid of type t.
OnGrid make_on_grid(QuantType t, int64_t N, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto scale = [&]() { return f16r(std::uniform_real_distribution<float>(0.002f, 0.2f)(rng)); };
  OnGrid g;
  g.w.resize(size_t(N * K));
  const int64_t bs = quant_type(t).block_size;
  for (int64_t n = 0; n < N; ++n) {
    float* row = g.w.data() + n * K;
    const float row_s = scale();
    for (int64_t b = 0; b < K / bs; ++b) {
      float* x = row + b * bs;
      const float s = quant_type(t).row_header_bytes ? row_s : scale();
      switch (t) {
        case QuantType::Q8_G32:
          for (int e = 0; e < bs; ++e) x[e] = float(uni(-127, 127)) * s;
          x[uni(0, int(bs) - 1)] = 127.0f * s;
          break;
        case QuantType::Q4_G32:
        case QuantType::Q4_G128: {
          const float d = uni(0, 1) ? s : -s;
          for (int e = 0; e < bs; ++e) x[e] = float(uni(0, 15) - 8) * d;
          x[uni(0, int(bs) - 1)] = -8.0f * d;
          break;
        }
        case QuantType::Q4Z_G32:
        case QuantType::Q4Z_G128: {
          const int z = uni(0, 15);
          for (int e = 0; e < bs; ++e) x[e] = float(uni(0, 15) - z) * s;
          const int a = uni(0, int(bs) / 2 - 1), c = uni(int(bs) / 2, int(bs) - 1);
          x[a] = float(0 - z) * s;
          x[c] = float(15 - z) * s;
          break;
        }
        case QuantType::FP8_PC:
          for (int e = 0; e < bs; ++e) {
            uint8_t c;
            do c = uint8_t(uni(0, 255));
            while ((c & 0x7F) == 0x7F);
            x[e] = kernels::e4m3_to_f32(c) * s;
          }
          if (b == 0) x[uni(0, int(bs) - 1)] = (uni(0, 1) ? 448.0f : -448.0f) * s;
          break;
        case QuantType::F16:  // any finite half, no scale
          for (int e = 0; e < bs; ++e) {
            uint16_t h;
            do h = uint16_t(uni(0, 65535));
            while ((h & 0x7C00) == 0x7C00);
            x[e] = kernels::f16_to_f32(h);
          }
          break;
        case QuantType::SEQ2_G128:
        case QuantType::SEQ2_PC:
          for (int e = 0; e < bs; ++e) x[e] = (float(uni(0, 3)) - 1.5f) * s;
          if (b == 0 || t == QuantType::SEQ2_G128) x[uni(0, int(bs) - 1)] = (uni(0, 1) ? 1.5f : -1.5f) * s;
          break;
        case QuantType::TERN2_G128:
        case QuantType::TERN2_PC:
        case QuantType::TERN167_PC:
          for (int e = 0; e < bs; ++e) x[e] = float(uni(-1, 1)) * s;
          x[uni(0, int(bs) - 1)] = s;
          break;
        case QuantType::SHERRY125_G128:
        case QuantType::SHERRY125_PC:
          for (int grp = 0; grp < bs / 4; ++grp) {
            const int z = uni(0, 3);
            for (int l = 0; l < 4; ++l) x[4 * grp + l] = l == z ? 0.0f : (uni(0, 1) ? s : -s);
          }
          break;
      }
    }
  }
  return g;
}

TEST(PackedCodec, OnGridRoundTripIsExact) {
  for (QuantType t : all_types()) {
    SCOPED_TRACE(tname(t));
    const int64_t bs = quant_type(t).block_size;
    for (int64_t K : {bs, 3 * bs, 8 * bs}) {
      const int64_t N = 5;
      const OnGrid g = make_on_grid(t, N, K, uint32_t(K * 7 + int(t)));
      const auto p = pack(t, g.w, N, K);
      const auto w2 = unpack(t, p, N, K);
      for (size_t i = 0; i < w2.size(); ++i) ASSERT_EQ(w2[i], g.w[i]) << "K=" << K << " i=" << i;
      EXPECT_EQ(pack(t, w2, N, K), p) << "quantize(dequantize(p)) != p, K=" << K;
    }
  }
}

TEST(PackedCodec, RequantizeIsIdempotentOnRandomWeights) {
  // Every type whose quantizer re-derives its stored scale from dequantized weights.
  for (QuantType t : all_types()) {
    if (t == QuantType::Q4Z_G32 || t == QuantType::Q4Z_G128) continue;  // zero rounding can shrink the range
    SCOPED_TRACE(tname(t));
    const int64_t K = 2 * quant_type(t).block_size, N = 7;
    const auto w = randn(size_t(N * K), 11 + uint32_t(t), 0.05f);
    const auto p = pack(t, w, N, K);
    const auto w2 = unpack(t, p, N, K);
    EXPECT_EQ(unpack(t, pack(t, w2, N, K), N, K), w2);
  }
}

TEST(PackedCodec, GgufCompatibleLayouts) {
  // q8_g32 / q4_g32 are byte-identical to GGUF Q8_0 / Q4_0: check a hand-built block.
  std::vector<float> w(32);
  for (int e = 0; e < 32; ++e) w[size_t(e)] = float(e - 16) * 0.25f;  // max |x| = 4 at e = 0 (-4)
  std::vector<uint8_t> p(18);
  quantize_rows(QuantType::Q4_G32, w.data(), 1, 32, p.data());
  const float d = kernels::f16_to_f32(uint16_t(p[0] | p[1] << 8));
  EXPECT_EQ(d, 0.5f);  // -4 / -8
  // element j in the low nibble of byte j, element j + 16 in the high nibble; q = x / d + 8
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(p[size_t(2 + j)] & 0x0F, int(std::nearbyint(w[size_t(j)] / d)) + 8) << j;
    EXPECT_EQ(p[size_t(2 + j)] >> 4, std::min(15, int(std::nearbyint(w[size_t(j + 16)] / d)) + 8)) << j;
  }
  std::vector<uint8_t> p8(34);
  quantize_rows(QuantType::Q8_G32, w.data(), 1, 32, p8.data());
  EXPECT_EQ(kernels::f16_to_f32(uint16_t(p8[0] | p8[1] << 8)), f16r(4.0f / 127.0f));
  EXPECT_EQ(int8_t(p8[2]), -127);
}

// tern167: byte values follow the documented base-3 formula for every 5-trit and 4-trit value.
TEST(PackedCodec, Tern167ByteEncoding) {
  const int64_t K = 256;
  for (int v = 0; v < 243; ++v) {
    std::vector<float> w(K, 1.0f);
    int t[5];
    for (int n = 0, r = v; n < 5; ++n) t[4 - n] = r % 3, r /= 3;      // t[0] most significant
    for (int n = 0; n < 5; ++n) w[size_t(32 * n)] = float(t[n] - 1);  // byte 0, trit n -> element 32n
    // byte 48, trit n -> element 240 + 4n (4 trits)
    const int v4 = v % 81;
    int u[4];
    for (int n = 0, r = v4; n < 4; ++n) u[3 - n] = r % 3, r /= 3;
    for (int n = 0; n < 4; ++n) w[size_t(240 + 4 * n)] = float(u[n] - 1);
    std::vector<uint8_t> p(packed_row_bytes(QuantType::TERN167_PC, K));
    quantize_rows(QuantType::TERN167_PC, w.data(), 1, K, p.data());
    ASSERT_EQ(p[4 + 0], (v * 256 + 242) / 243) << v;
    ASSERT_EQ(p[4 + 48], (v4 * 3 * 256 + 242) / 243) << v4;
    std::vector<float> back(K);
    dequantize_rows(QuantType::TERN167_PC, p.data(), 1, K, back.data());
    ASSERT_EQ(back, w) << v;
  }
}

// ============================================================================================
// Quantizer rules on arbitrary weights
// ============================================================================================
TEST(PackedRules, SherryZeroesSmallestOfFourAndKeepsSigns) {
  for (QuantType t : {QuantType::SHERRY125_G128, QuantType::SHERRY125_PC}) {
    SCOPED_TRACE(tname(t));
    const int64_t N = 3, K = 512;
    auto w = randn(size_t(N * K), 5);
    w[7] = -0.0f;                                // a signed zero is the smallest of its group
    w[12] = w[13] = 0.5f, w[14] = w[15] = 0.9f;  // tie: the first of the smallest is zeroed
    const auto d = unpack(t, pack(t, w, N, K), N, K);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t scale_len = t == QuantType::SHERRY125_PC ? K : 128;
      for (int64_t s0 = 0; s0 < K; s0 += scale_len) {
        double kept = 0.0;
        for (int64_t g = s0; g < s0 + scale_len; g += 4) {
          const float* v = &w[size_t(n * K + g)];
          int z = 0;
          for (int l = 1; l < 4; ++l)
            if (std::fabs(v[l]) < std::fabs(v[z])) z = l;
          for (int l = 0; l < 4; ++l)
            if (l != z) kept += std::fabs(v[l]);
        }
        float s = float(kept / double(scale_len / 4 * 3));
        if (t == QuantType::SHERRY125_G128) s = f16r(s);
        for (int64_t g = s0; g < s0 + scale_len; g += 4) {
          const float* v = &w[size_t(n * K + g)];
          const float* q = &d[size_t(n * K + g)];
          int z = 0;
          for (int l = 1; l < 4; ++l)
            if (std::fabs(v[l]) < std::fabs(v[z])) z = l;
          for (int l = 0; l < 4; ++l) {
            const float want = l == z ? 0.0f : (v[l] < 0.0f ? -s : s);
            ASSERT_EQ(q[l], want) << "n=" << n << " k=" << g + l;
          }
        }
      }
    }
  }
}

TEST(PackedRules, TernaryThresholdIsHalfMeanAbs) {
  for (QuantType t : {QuantType::TERN2_G128, QuantType::TERN2_PC, QuantType::TERN167_PC}) {
    SCOPED_TRACE(tname(t));
    const int64_t N = 2, K = 512;
    const auto w = randn(size_t(N * K), 9);
    const auto d = unpack(t, pack(t, w, N, K), N, K);
    const int64_t len = t == QuantType::TERN2_G128 ? 128 : K;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s0 = 0; s0 < K; s0 += len) {
        const float* v = &w[size_t(n * K + s0)];
        double sum = 0.0;
        for (int64_t i = 0; i < len; ++i) sum += std::fabs(v[i]);
        const double delta = 0.5 * (sum / double(len));
        double nz = 0.0;
        int cnt = 0;
        for (int64_t i = 0; i < len; ++i)
          if (std::fabs(v[i]) > delta) nz += std::fabs(v[i]), ++cnt;
        float s = float(nz / double(cnt));
        if (t == QuantType::TERN2_G128) s = f16r(s);
        for (int64_t i = 0; i < len; ++i) {
          const float want = std::fabs(v[i]) > delta ? (v[i] < 0 ? -s : s) : 0.0f;
          ASSERT_EQ(d[size_t(n * K + s0 + i)], want) << i;
        }
      }
  }
}

TEST(PackedRules, NearestLevelForIntegerTypes) {
  // Every dequantized value is the nearest representable level of its block (given the block's
  // stored scale), up to the clamp at the ends of the range.
  for (QuantType t : {QuantType::Q8_G32, QuantType::Q4_G32, QuantType::Q4_G128, QuantType::Q4Z_G32, QuantType::Q4Z_G128,
                      QuantType::SEQ2_G128, QuantType::SEQ2_PC}) {
    SCOPED_TRACE(tname(t));
    const int64_t N = 3, K = 256;
    const auto w = randn(size_t(N * K), 21);
    const auto p = pack(t, w, N, K);
    const auto d = unpack(t, p, N, K);
    const auto& ti = detail::type_impl(t);
    std::vector<uint8_t> codes(K);
    std::vector<float> sc(K);
    for (int64_t n = 0; n < N; ++n) {
      ti.decode(p.data() + n * packed_row_bytes(t, K), K, codes.data(), 4, sc.data());
      for (int64_t k = 0; k < K; ++k) {
        const float step = std::fabs(sc[size_t(k / quant_type(t).block_size)]) *
                           (t == QuantType::SEQ2_G128 || t == QuantType::SEQ2_PC ? 2.0f : 1.0f);
        const float err = std::fabs(d[size_t(n * K + k)] - w[size_t(n * K + k)]);
        const int c = codes[size_t(k)];
        const bool at_end = c == 0 || c == ti.max_code || (t == QuantType::Q8_G32 && (c == 1 || c == 255));
        if (!at_end) {
          ASSERT_LE(err, 0.5f * step * (1 + 1e-5f)) << "n=" << n << " k=" << k;
        }
      }
    }
  }
}

TEST(PackedRules, F16IsIeeeHalfRoundedToNearestEven) {
  const int64_t N = 2, K = 32;
  auto w = randn(size_t(N * K), 5);
  w[0] = 1.0f + std::ldexp(1.0f, -11);      // a tie: rounds to even (1.0)
  w[1] = 1.0f + 3 * std::ldexp(1.0f, -11);  // a tie: rounds to even (1 + 2^-9)
  w[2] = 70000.0f;                          // beyond the largest half: inf
  const auto p = pack(QuantType::F16, w, N, K);
  ASSERT_EQ(p.size(), size_t(N * K * 2));
  for (int64_t i = 0; i < N * K; ++i) {
    uint16_t h;
    std::memcpy(&h, p.data() + 2 * i, 2);
    EXPECT_EQ(h, kernels::f32_to_f16(w[size_t(i)])) << i;
  }
  const auto d = unpack(QuantType::F16, p, N, K);
  EXPECT_EQ(d[0], 1.0f);
  EXPECT_EQ(d[1], 1.0f + std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isinf(d[2]));
}

TEST(PackedRules, Fp8MatchesTheE4M3Codec) {
  const int64_t N = 2, K = 64;
  const auto w = randn(size_t(N * K), 3);
  const auto p = pack(QuantType::FP8_PC, w, N, K);
  for (int64_t n = 0; n < N; ++n) {
    float amax = 0.0f;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(w[size_t(n * K + k)]));
    const float s = amax / 448.0f;
    const uint8_t* row = p.data() + n * (K + 4);
    float stored;
    std::memcpy(&stored, row, 4);
    EXPECT_EQ(stored, s);
    for (int64_t k = 0; k < K; ++k) EXPECT_EQ(row[4 + k], kernels::f32_to_e4m3(w[size_t(n * K + k)] * (1.0f / s)));
  }
}

// The integer decoder used by the scalar and GEMM kernels agrees with the reference dequantizer.
TEST(PackedCodec, DecodeCodesMatchesDequantize) {
  for (QuantType t : all_types()) {
    if (t == QuantType::FP8_PC || t == QuantType::F16) continue;
    SCOPED_TRACE(tname(t));
    const int64_t K = 2 * 256, N = 3;
    const auto w = randn(size_t(N * K), 77);
    const auto p = pack(t, w, N, K);
    const auto d = unpack(t, p, N, K);
    const auto& ti = detail::type_impl(t);
    const int64_t bs = quant_type(t).block_size;
    // interleaved like the GEMM tiles: quad stride 12 bytes
    std::vector<uint8_t> codes(size_t(K / 4 * 12));
    std::vector<float> sc(size_t(K / bs));
    for (int64_t n = 0; n < N; ++n) {
      ti.decode(p.data() + n * packed_row_bytes(t, K), K, codes.data(), 12, sc.data());
      for (int64_t k = 0; k < K; ++k) {
        const int c = codes[size_t(k / 4 * 12 + k % 4)];
        ASSERT_LE(c, ti.max_code);
        ASSERT_EQ(float(c - ti.code_off) * sc[size_t(k / bs)], d[size_t(n * K + k)]) << "n=" << n << " k=" << k;
      }
    }
  }
}

// ============================================================================================
// Kernels
// ============================================================================================
struct Problem {
  QuantType t;
  int64_t N, K, M;
  std::vector<uint8_t> W;
  std::vector<float> X, Wd;  // activations, dequantized weights
};
Problem make_problem(QuantType t, int64_t N, int64_t K, int64_t M, uint32_t seed) {
  Problem p{t, N, K, M, {}, randn(size_t(M * K), seed + 1), {}};
  // Weights with per-row magnitude variation; activations with a few outlier channels.
  auto w = randn(size_t(N * K), seed, 0.05f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w[size_t(n * K + k)] *= 1.0f + float(n % 5);
  for (int64_t m = 0; m < M; ++m) p.X[size_t(m * K + (m * 7) % K)] *= 20.0f;
  p.W = pack(t, w, N, K);
  p.Wd = unpack(t, p.W, N, K);
  return p;
}

// |y - fp32 reference| bound for the int8 activation path: each activation is off by at most
// half its block's step d_x = max|x_block| / 127, so |error| <= sum_k |w_k| * d_x(k) / 2, plus
// fp32 rounding of the sums.
struct Bounds {
  std::vector<double> ref, quant_bound, mag;
};
Bounds reference(const Problem& p) {
  Bounds b;
  const int64_t bs = quant_type(p.t).block_size;
  const bool int8_act = p.t != QuantType::FP8_PC && p.t != QuantType::F16;
  b.ref.resize(size_t(p.M * p.N));
  b.quant_bound.resize(b.ref.size());
  b.mag.resize(b.ref.size());
  for (int64_t m = 0; m < p.M; ++m) {
    const float* x = &p.X[size_t(m * p.K)];
    std::vector<double> dx(size_t(p.K / bs));
    for (int64_t blk = 0; blk < p.K / bs; ++blk) {
      float a = 0.0f;
      for (int64_t i = 0; i < bs; ++i) a = std::max(a, std::fabs(x[blk * bs + i]));
      dx[size_t(blk)] = a / 127.0;
    }
    for (int64_t n = 0; n < p.N; ++n) {
      const float* w = &p.Wd[size_t(n * p.K)];
      double r = 0, q = 0, g = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        r += double(w[k]) * x[k];
        g += std::fabs(double(w[k]) * x[k]);
        if (int8_act) q += std::fabs(double(w[k])) * dx[size_t(k / bs)] * 0.5;
      }
      b.ref[size_t(m * p.N + n)] = r, b.quant_bound[size_t(m * p.N + n)] = q, b.mag[size_t(m * p.N + n)] = g + q;
    }
  }
  return b;
}

std::vector<float> run(const IsaKernels& k, const Problem& p, bool gemv_entry = false) {
  std::vector<float> y(size_t(p.M * p.N), NAN);
  if (p.M == 1 && gemv_entry)
    k.gemv(p.W.data(), p.N, p.K, p.X.data(), y.data());
  else
    k.gemm(p.W.data(), p.N, p.K, p.X.data(), p.M, y.data());
  return y;
}

// Kernels with the same int8 activations differ only in how fp32 partial sums are grouped; no
// kernel adds more than K/16 + 8 terms in sequence, each addition rounding by <= 2^-24 relative
// to the running magnitude, bounded by mag = sum |w x| (+ the activation quantization slack).
double order_tol(int64_t K) { return double(K / 16 + 8) * std::ldexp(1.0, -24); }

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const Bounds& b, double rel,
                  const std::string& what) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = rel * b.mag[i] + 1e-6;
    ASSERT_LE(std::fabs(double(got[i]) - want[i]), tol) << what << " at " << i << ": " << got[i] << " vs " << want[i];
  }
}

std::vector<int64_t> test_ks(QuantType t) {
  const int64_t bs = quant_type(t).block_size;
  if (bs == 256) return {256, 768, 1280};
  if (bs == 16) return {16, 48, 176, 512};
  if (bs == 32) return {32, 96, 224, 512};
  return {128, 384, 640, 1024};
}

// The scalar kernels against fp32 math on dequantized weights (bound from the activation
// quantization), for GEMV and GEMM shapes with odd N and M.
TEST(PackedKernels, ScalarMatchesFp32WithinActivationQuantBound) {
  for (QuantType t : all_types()) {
    SCOPED_TRACE(tname(t));
    for (int64_t K : test_ks(t))
      for (auto [N, M] : {std::pair<int64_t, int64_t>{37, 1}, {5, 3}, {19, 9}}) {
        const Problem p = make_problem(t, N, K, M, uint32_t(K + N + M));
        const Bounds b = reference(p);
        const auto y = run(quant_type(t).kernels[int(Isa::Scalar)], p);
        for (size_t i = 0; i < y.size(); ++i) {
          const double tol = b.quant_bound[i] * (1 + 1e-6) + 1e-5 * b.mag[i] + 1e-6;
          ASSERT_LE(std::fabs(y[i] - b.ref[i]), tol) << "K=" << K << " N=" << N << " M=" << M << " i=" << i;
        }
      }
  }
}

// Each ISA (GEMV, small-M and tiled GEMM paths, dot) against the scalar kernel: the integer parts
// are exact, so they differ only by fp32 summation order.
void check_isa(const char* isa, IsaKernels (*kernels)(QuantType), bool small) {
  for (QuantType t : all_types()) {
    SCOPED_TRACE(std::string(isa) + " " + tname(t));
    const IsaKernels k = kernels(t);
    ASSERT_NE(k.gemm, nullptr);
    const auto ks = test_ks(t);
    for (size_t ki = 0; ki < (small ? size_t(2) : ks.size()); ++ki) {
      const int64_t K = ks[ki];
      const std::vector<std::pair<int64_t, int64_t>> shapes =
          small
              ? std::vector<std::pair<int64_t, int64_t>>{{37, 1}, {35, 11}}
              : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {37, 1}, {64, 1}, {5, 3}, {33, 8}, {70, 13}, {16, 21}};
      for (auto [N, M] : shapes) {
        const std::string what = "K=" + std::to_string(K) + " N=" + std::to_string(N) + " M=" + std::to_string(M);
        const Problem p = make_problem(t, N, K, M, uint32_t(3 * K + N + 5 * M));
        const Bounds b = reference(p);
        const auto want = run(quant_type(t).kernels[int(Isa::Scalar)], p);
        const double rel = order_tol(K);
        // The AMX fp8 GEMM rounds activations to bf16 (<= 2^-8 relative each; checked exactly in
        // Fp8AmxGemmMatchesBf16Reference).
        const bool bf16_act =
            t == QuantType::FP8_PC && M >= 8 && std::string(isa) == "avx512" && detail::amx_enabled();
        expect_close(run(k, p), want, b, rel + (bf16_act ? std::ldexp(1.0, -8) : 0.0), what + " gemm");
        if (M == 1) {
          expect_close(run(k, p, true), want, b, rel, what + " gemv");
          const float d = k.dot(p.W.data(), p.X.data(), K);
          ASSERT_NEAR(d, want[0], rel * b.mag[0] + 1e-6) << what << " dot";
        }
      }
    }
  }
}

IsaKernels avx2_table(QuantType t) { return quant_type(t).kernels[int(Isa::Avx2)]; }
IsaKernels avx512_table(QuantType t) { return quant_type(t).kernels[int(Isa::Avx512)]; }

TEST(PackedKernels, Avx2MatchesScalar) {
  if (!isa_available(Isa::Avx2)) GTEST_SKIP() << "CPU has no AVX2";
  check_isa("avx2", avx2_table, false);
}

TEST(PackedKernels, Avx512MatchesScalar) {
  if (!isa_available(Isa::Avx512)) GTEST_SKIP() << "CPU has no AVX-512 (F/BW/VL/VNNI); see Avx512EmulatedMatchesScalar";
  check_isa("avx512", avx512_table, false);
}

// The AVX-512 kernel source run through SIMDe's portable intrinsics (when installed): covers the
// AVX-512 code on machines without it.
TEST(PackedKernels, Avx512EmulatedMatchesScalar) {
  if (!test::emu512_available()) GTEST_SKIP() << "SIMDe headers not found at build time";
  check_isa("avx512-emulated", test::emu512_kernels, true);
}

// Where the CPU has AMX, Isa::Avx512's GEMMs run on it (above); this checks the AVX-512 tiles they
// replace, with AMX switched off for the test.
TEST(PackedKernels, Avx512WithoutAmxMatchesScalar) {
  if (!detail::amx_available()) GTEST_SKIP() << "CPU has no AMX: Avx512MatchesScalar covers the AVX-512 tiles";
  const bool before = detail::set_amx_enabled(false);
  check_isa("avx512-no-amx", avx512_table, false);
  detail::set_amx_enabled(before);
}

// The AMX fp8_pc GEMM against double math on the exact e4m3 weights and the activations rounded to
// bf16 (nearest even); below 8 rows the fp32 GEMV path is used, exactly.
float bf16_round(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

TEST(PackedKernels, Fp8AmxGemmMatchesBf16Reference) {
  EXPECT_EQ(bf16_round(1.0f + std::ldexp(1.0f, -8)), 1.0f);
  EXPECT_EQ(bf16_round(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));
  if (!detail::amx_enabled()) GTEST_SKIP() << "AMX unavailable or switched off";
  const GemmFn fn = quant_type(QuantType::FP8_PC).kernels[int(Isa::Avx512)].gemm;
  // K = 16 and 48 are not multiples of AMX's 32-value bf16 step; M = 40 spans two 32-row steps.
  for (auto [K, N, M] : {std::tuple<int64_t, int64_t, int64_t>{16, 37, 8}, {48, 64, 13}, {512, 70, 40}, {96, 5, 3}}) {
    Problem p = make_problem(QuantType::FP8_PC, N, K, M, uint32_t(K + N));
    p.X[0] = 1.0f + std::ldexp(1.0f, -8);      // a tie: rounds to even (1.0)
    p.X[1] = 1.0f + 3 * std::ldexp(1.0f, -8);  // a tie: rounds to even (1 + 2^-6)
    Problem r = p;
    if (M >= 8)
      for (float& x : r.X) x = bf16_round(x);
    const Bounds b = reference(r);
    std::vector<float> y(size_t(M * N), NAN);
    fn(p.W.data(), N, K, p.X.data(), M, y.data());
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_LE(std::fabs(y[i] - b.ref[i]), order_tol(K) * b.mag[i] + 1e-6) << "K=" << K << " N=" << N << " M=" << M
                                                                           << " i=" << i;
  }
}

// fp8_pc GEMV over every finite e4m3 code (subnormals and both zeros included) and activations from
// 1e-30 to 1e20: each ISA against double math on the exact weights. The AVX2 GEMV holds weights as
// fp32 * 2^-120 (subnormal fp32 for e4m3 subnormals) and activations * 2^60 (* 1 past 2^60).
TEST(PackedKernels, Fp8GemvCoversEveryE4m3Code) {
  const int64_t N = 3, K = 256 + 16;  // the last 16 columns take the 16-wide tail
  std::vector<uint8_t> W(size_t(N * (K + 4)));
  const float scales[N] = {1.0f / 448.0f, 3.5f, 1e-3f};
  for (int64_t n = 0; n < N; ++n) {
    uint8_t* row = W.data() + n * (K + 4);
    std::memcpy(row, &scales[n], 4);
    for (int64_t k = 0; k < K; ++k) {
      uint8_t c = uint8_t((k * (2 * n + 1) + 17 * n) & 0xFF);
      if ((c & 0x7F) == 0x7F) c = uint8_t(c & 0x80);  // the NaN codes become +-0
      row[4 + k] = c;
    }
  }
  const std::vector<float> Wd = unpack(QuantType::FP8_PC, W, N, K);
  int subnormal = 0;
  for (int64_t k = 0; k < K; ++k) subnormal += (W[size_t(4 + k)] & 0x78) == 0 && (W[size_t(4 + k)] & 7) != 0;
  EXPECT_GE(subnormal, 14);
  for (const float big : {1e6f, 1e20f})  // 1e20 > 2^60: the AVX2 GEMV keeps such activations unscaled
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (!isa_available(isa)) continue;
    SCOPED_TRACE(std::to_string(int(isa)) + " big " + std::to_string(big));
    std::vector<float> x = randn(size_t(K), 11);
    x[3] = 1e-30f, x[40] = -1e-25f, x[77] = big, x[100] = -3e5f, x[260] = 1e-20f;
    std::vector<float> y(size_t(N), NAN);
    quant_type(QuantType::FP8_PC).kernels[int(isa)].gemv(W.data(), N, K, x.data(), y.data());
    for (int64_t n = 0; n < N; ++n) {
      double r = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        r += double(Wd[size_t(n * K + k)]) * x[size_t(k)];
        mag += std::fabs(double(Wd[size_t(n * K + k)]) * x[size_t(k)]);
      }
      EXPECT_LE(std::fabs(y[size_t(n)] - r), order_tol(K) * mag) << "row " << n;
    }
  }
}

TEST(PackedKernels, PublicEntryAndThreadCountDoNotChangeResults) {
  const Problem p = make_problem(QuantType::SHERRY125_G128, 300, 512, 1, 4);
  const Problem g = make_problem(QuantType::Q4Z_G32, 100, 256, 24, 6);
  std::vector<float> y1(300), y2(300), z1(2400), z2(2400);
  const int before = num_threads();
  EXPECT_EQ(before, 2);
  set_num_threads(1);
  gemm(p.t, p.W.data(), p.N, p.K, p.X.data(), 1, y1.data());
  gemm(g.t, g.W.data(), g.N, g.K, g.X.data(), g.M, z1.data());
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  gemm(p.t, p.W.data(), p.N, p.K, p.X.data(), 1, y2.data());
  gemm(g.t, g.W.data(), g.N, g.K, g.X.data(), g.M, z2.data());
  set_num_threads(before);
  EXPECT_EQ(y1, y2);
  EXPECT_EQ(z1, z2);
  std::vector<float> y3(300);
  gemv(p.t, p.W.data(), p.N, p.K, p.X.data(), y3.data());
  EXPECT_EQ(y1, y3);
  EXPECT_EQ(dot(p.t, p.W.data(), p.X.data(), p.K), y1[0]);
  EXPECT_THROW(set_num_threads(0), as::Error);
}

TEST(PackedKernels, ReadBandwidthProbe) {
  const double gbs = measure_read_bandwidth_gbs(size_t(32) << 20, 1);
  EXPECT_GT(gbs, 0.1);
  EXPECT_LT(gbs, 10000.0);
}

}  // namespace
}  // namespace as::packed
