// Bit-exact tests of the FP8 (E4M3FN, E5M2) and BF16/FP16 codecs against the spec
// (OCP FP8 / IEEE), independent of the codec's own tables.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/fp8.h"
#include "kernels/half.h"

namespace {

using namespace as::kernels;

// Spec decoders written from the format tables (08_fp8.md), not from the codec.
double spec_e4m3(uint8_t v) {
  const int s = v >> 7, e = (v >> 3) & 0xF, m = v & 7;
  if (e == 15 && m == 7) return std::numeric_limits<double>::quiet_NaN();
  const double mag = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
  return s ? -mag : mag;
}
double spec_e5m2(uint8_t v) {
  const int s = v >> 7, e = (v >> 2) & 0x1F, m = v & 3;
  double mag;
  if (e == 31) mag = m == 0 ? std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::quiet_NaN();
  else mag = e == 0 ? std::ldexp(m / 4.0, -14) : std::ldexp(1.0 + m / 4.0, e - 15);
  return s ? -mag : mag;
}
bool sign_bit(float f) { return std::signbit(f); }

struct Codec {
  const char* name;
  uint8_t (*enc)(float);
  float (*dec)(uint8_t);
  double (*spec)(uint8_t);
  uint8_t max_code;  // positive max finite
  float max_val;
  float overflow_tie;  // midpoint between max and the next (unrepresentable) binade step
  bool has_inf;
};
const Codec kE4M3{"e4m3", f32_to_e4m3, e4m3_to_f32, spec_e4m3, 0x7E, 448.0f, 464.0f, false};
const Codec kE5M2{"e5m2", f32_to_e5m2, e5m2_to_f32, spec_e5m2, 0x7B, 57344.0f, 61440.0f, true};

void check_all_codes(const Codec& c) {
  for (int i = 0; i < 256; ++i) {
    const uint8_t v = uint8_t(i);
    const double want = c.spec(v);
    const float got = c.dec(v);
    SCOPED_TRACE(std::string(c.name) + " code " + std::to_string(i));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got));
      // NaN re-encodes to the canonical NaN (0x7F) with the sign kept
      EXPECT_EQ(c.enc(got), uint8_t((v & 0x80) | 0x7F));
      continue;
    }
    EXPECT_EQ(double(got), want);  // exact
    EXPECT_EQ(sign_bit(got), bool(v & 0x80));
    EXPECT_EQ(c.enc(got), v) << "re-encode";
  }
}

TEST(Fp8Codec, E4M3AllCodesDecodeAndRoundTrip) { check_all_codes(kE4M3); }
TEST(Fp8Codec, E5M2AllCodesDecodeAndRoundTrip) { check_all_codes(kE5M2); }

TEST(Fp8Codec, KnownValues) {
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x08), 0.015625f);     // min normal 2^-6
  EXPECT_EQ(e4m3_to_f32(0x01), 0.001953125f);  // min subnormal 2^-9
  EXPECT_EQ(e4m3_to_f32(0x07), 7.0f / 512.0f); // max subnormal
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0x77), 240.0f);
  EXPECT_EQ(e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_EQ(e5m2_to_f32(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(e5m2_to_f32(0x04), std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(e5m2_to_f32(0x7C)) && e5m2_to_f32(0x7C) > 0);
  EXPECT_TRUE(std::isinf(e5m2_to_f32(0xFC)) && e5m2_to_f32(0xFC) < 0);
  EXPECT_EQ(kFp8E4M3Max, 448.0f);
  EXPECT_EQ(kFp8E5M2Max, 57344.0f);
}

// Positive finite codes in increasing value order (0 first).
std::vector<uint8_t> finite_positive_codes(const Codec& c) {
  std::vector<uint8_t> v;
  for (int i = 0; i <= c.max_code; ++i) v.push_back(uint8_t(i));
  return v;
}

void check_midpoints(const Codec& c) {
  const auto codes = finite_positive_codes(c);
  for (size_t k = 0; k + 1 < codes.size(); ++k) {
    for (float sgn : {1.0f, -1.0f}) {
      const uint8_t lo = codes[k], hi = codes[k + 1];
      const float a = float(c.spec(lo)), b = float(c.spec(hi));
      ASSERT_LT(a, b);
      const float mid = (a + b) / 2.0f;  // exact: adjacent minifloats, fp32 has room
      ASSERT_EQ(double(mid), (double(a) + double(b)) / 2.0);
      const uint8_t even = (lo & 1) == 0 ? lo : hi;
      const uint8_t s = sgn < 0 ? 0x80 : 0x00;
      SCOPED_TRACE(std::string(c.name) + " between codes " + std::to_string(lo) + " and " +
                   std::to_string(hi));
      EXPECT_EQ(c.enc(sgn * mid), uint8_t(s | even)) << "tie rounds to even";
      EXPECT_EQ(c.enc(sgn * std::nextafter(mid, 2 * b)), uint8_t(s | hi)) << "just above";
      EXPECT_EQ(c.enc(sgn * std::nextafter(mid, 0.0f)), uint8_t(s | lo)) << "just below";
      EXPECT_EQ(c.enc(sgn * std::nextafter(a, 2 * b)), uint8_t(s | lo));
      EXPECT_EQ(c.enc(sgn * std::nextafter(b, 0.0f)), uint8_t(s | hi));
    }
  }
}

TEST(Fp8Codec, E4M3MidpointsRoundToEven) { check_midpoints(kE4M3); }
TEST(Fp8Codec, E5M2MidpointsRoundToEven) { check_midpoints(kE5M2); }

void check_saturation(const Codec& c) {
  const uint8_t mx = c.max_code;
  for (float x : {c.max_val, std::nextafter(c.max_val, FLT_MAX), c.overflow_tie,
                  std::nextafter(c.overflow_tie, FLT_MAX), 2.0f * c.max_val, 1e30f, FLT_MAX}) {
    EXPECT_EQ(c.enc(x), mx) << c.name << " " << x;
    EXPECT_EQ(c.enc(-x), uint8_t(0x80 | mx)) << c.name << " " << -x;
  }
  const float inf = std::numeric_limits<float>::infinity();
  if (c.has_inf) {
    EXPECT_EQ(c.enc(inf), 0x7C);
    EXPECT_EQ(c.enc(-inf), 0xFC);
  } else {
    EXPECT_EQ(c.enc(inf), 0x7E);
    EXPECT_EQ(c.enc(-inf), 0xFE);
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(c.enc(nan), 0x7F);
  EXPECT_EQ(c.enc(-nan), 0xFF);
  // a signalling-pattern NaN too
  uint32_t sn = 0x7F800001u;
  float snan;
  std::memcpy(&snan, &sn, 4);
  EXPECT_EQ(c.enc(snan), 0x7F);
}

TEST(Fp8Codec, E4M3Saturates) { check_saturation(kE4M3); }
TEST(Fp8Codec, E5M2Saturates) { check_saturation(kE5M2); }

TEST(Fp8Codec, SubnormalsAndZero) {
  EXPECT_EQ(f32_to_e4m3(0.0f), 0x00);
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_e5m2(0.0f), 0x00);
  EXPECT_EQ(f32_to_e5m2(-0.0f), 0x80);
  // fp32 subnormal inputs underflow to signed zero
  EXPECT_EQ(f32_to_e4m3(1e-40f), 0x00);
  EXPECT_EQ(f32_to_e4m3(-1e-40f), 0x80);
  EXPECT_EQ(f32_to_e5m2(FLT_MIN), 0x00);
  // every subnormal step of E4M3 (m * 2^-9)
  for (int m = 1; m < 8; ++m) {
    EXPECT_EQ(f32_to_e4m3(std::ldexp(float(m), -9)), uint8_t(m));
    EXPECT_EQ(f32_to_e4m3(-std::ldexp(float(m), -9)), uint8_t(0x80 | m));
  }
  for (int m = 1; m < 4; ++m) EXPECT_EQ(f32_to_e5m2(std::ldexp(float(m), -16)), uint8_t(m));
  // half the smallest subnormal is a tie with zero -> 0; just above -> smallest subnormal
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(std::ldexp(1.0f, -10), 1.0f)), 0x01);
  EXPECT_EQ(f32_to_e5m2(std::ldexp(1.0f, -17)), 0x00);
  EXPECT_EQ(f32_to_e5m2(std::nextafter(std::ldexp(1.0f, -17), 1.0f)), 0x01);
  // 1.5 * 2^-9 is a tie between 0x01 and 0x02 -> even 0x02; 2.5 * 2^-9 -> 0x02
  EXPECT_EQ(f32_to_e4m3(1.5f * std::ldexp(1.0f, -9)), 0x02);
  EXPECT_EQ(f32_to_e4m3(2.5f * std::ldexp(1.0f, -9)), 0x02);
  // the largest subnormal rounds up into the min normal when above the midpoint
  EXPECT_EQ(f32_to_e4m3(7.5f * std::ldexp(1.0f, -9)), 0x08);
}

// The 08_fp8.md test-vector table. The project encoder saturates finite out-of-range values (and
// +-inf for E4M3) instead of producing NaN/inf, so the table's NaN/inf rows become +-max here.
TEST(Fp8Codec, SpecTestVectors) {
  struct Row {
    float x;
    uint8_t e4m3, e5m2;
  };
  const float inf = std::numeric_limits<float>::infinity();
  const Row rows[] = {
      {0.0f, 0x00, 0x00},
      {-0.0f, 0x80, 0x80},
      {1.0f, 0x38, 0x3C},
      {-2.0f, 0xC0, 0xC0},
      {448.0f, 0x7E, 0x5F},
      {464.0f, 0x7E, 0x5F},
      {470.0f, 0x7E /* PyTorch: 0x7F NaN */, 0x5F},
      {500.0f, 0x7E /* NaN */, 0x60},
      {57344.0f, 0x7E /* NaN */, 0x7B},
      {std::ldexp(1.0f, -9), 0x01, 0x18},
      {std::ldexp(1.0f, -16), 0x00, 0x01},
      {std::ldexp(1.0f, -10), 0x00, 0x14},
      {61439.0f, 0x7E /* NaN */, 0x7B},
      {61440.0f, 0x7E /* NaN */, 0x7B /* PyTorch: 0x7C inf */},
      {inf, 0x7E /* NaN */, 0x7C},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(f32_to_e4m3(r.x), r.e4m3) << r.x;
    EXPECT_EQ(f32_to_e5m2(r.x), r.e5m2) << r.x;
  }
  EXPECT_EQ(f32_to_e4m3(std::numeric_limits<float>::quiet_NaN()), 0x7F);
  EXPECT_EQ(f32_to_e5m2(std::numeric_limits<float>::quiet_NaN()), 0x7F);
}

// Brute force: the encoder picks the nearest finite code (ties to the even code), saturating.
void check_against_nearest(const Codec& c) {
  std::vector<std::pair<double, uint8_t>> grid;
  for (int i = 0; i <= c.max_code; ++i) grid.push_back({c.spec(uint8_t(i)), uint8_t(i)});
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> ex(c.has_inf ? -20 : -12, c.has_inf ? 17 : 10);
  for (int t = 0; t < 200000; ++t) {
    const float x = std::ldexp(mant(rng), ex(rng));
    uint8_t want = c.max_code;
    if (x < c.max_val) {
      double best = INFINITY;
      for (const auto& [v, code] : grid) {
        const double d = std::fabs(double(x) - v);
        if (d < best || (d == best && (code & 1) == 0)) {
          best = d;
          want = code;
        }
      }
    }
    ASSERT_EQ(c.enc(x), want) << c.name << " x=" << x;
    ASSERT_EQ(c.enc(-x), uint8_t(0x80 | want)) << c.name << " x=" << -x;
  }
}

TEST(Fp8Codec, E4M3MatchesNearestCodeSearch) { check_against_nearest(kE4M3); }
TEST(Fp8Codec, E5M2MatchesNearestCodeSearch) { check_against_nearest(kE5M2); }

TEST(Fp8Codec, RowHelpers) {
  const float x[5] = {1.0f, -3.0f, 0.5f, 1000.0f, 0.0f};
  uint8_t q[5];
  float y[5];
  quantize_e4m3_row(x, q, 5, 2.0f);    // q = e4m3(x * inv_scale), scale 0.5
  dequantize_e4m3_row(q, y, 5, 0.5f);  // y = decode(q) * scale
  EXPECT_EQ(q[0], f32_to_e4m3(2.0f));
  EXPECT_EQ(q[3], 0x7E);  // 2000 saturates at 448
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 224.0f);
  EXPECT_EQ(y[4], 0.0f);
}

// ---- BF16 / FP16 ----

// Reference RNE via distances in double.
uint16_t ref_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint16_t lo = uint16_t(u >> 16);
  const uint16_t hi = uint16_t(lo + 1);  // next magnitude (may become inf)
  const double dx = double(x);
  const double dlo = double(bf16_to_f32(lo)), dhi = double(bf16_to_f32(hi));
  if ((u & 0xFFFFu) == 0) return lo;
  const double a = std::fabs(dx - dlo), b = std::fabs(dhi - dx);
  if (std::isinf(dhi)) {
    // overflow threshold: halfway between max and 2^128 (treat 2^128 as the next value)
    const double next = std::ldexp(1.0, 128) * (dx < 0 ? -1 : 1);
    const double b2 = std::fabs(next - dx);
    if (a < b2 || (a == b2 && (lo & 1) == 0)) return lo;
    return hi;
  }
  if (a < b || (a == b && (lo & 1) == 0)) return lo;
  return hi;
}

TEST(Bf16Codec, RneBoundaries) {
  // 1 + 2^-8 is the midpoint of 1.0 (0x3F80, even) and 1 + 2^-7 (0x3F81)
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  EXPECT_EQ(f32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3F81);
  // 1 + 3*2^-8 is the midpoint of 0x3F81 (odd) and 0x3F82 -> 0x3F82
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  EXPECT_EQ(f32_to_bf16(std::nextafter(1.0f + 3 * std::ldexp(1.0f, -8), 0.0f)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(-1.0f - std::ldexp(1.0f, -8)), 0xBF80);
  // carry into the exponent: just below 2.0 rounds to 2.0
  EXPECT_EQ(f32_to_bf16(std::nextafter(2.0f, 0.0f)), 0x4000);
  // overflow: max bf16 0x7F7F; at/above the midpoint to 2^128 -> inf
  EXPECT_EQ(f32_to_bf16(bf16_to_f32(0x7F7F)), 0x7F7F);
  EXPECT_EQ(f32_to_bf16(FLT_MAX), 0x7F80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  // NaN stays NaN (quiet), sign kept
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()) & 0x7FC0, 0x7FC0);
  uint32_t sn = 0x7F800001u;  // NaN whose payload lives only in the low bits
  float snan;
  std::memcpy(&snan, &sn, 4);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(snan))));
  EXPECT_TRUE(f32_to_bf16(-std::numeric_limits<float>::quiet_NaN()) & 0x8000);
  // subnormals
  EXPECT_EQ(f32_to_bf16(1e-45f), 0x0000);  // smallest fp32 subnormal rounds to 0
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
}

TEST(Bf16Codec, AllBf16RoundTripAndRandomRne) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), uint16_t(h));
  }
  std::mt19937 rng(7);
  for (int t = 0; t < 300000; ++t) {
    const uint32_t u = rng();
    float x;
    std::memcpy(&x, &u, 4);
    if (std::isnan(x) || std::isinf(x)) continue;
    ASSERT_EQ(f32_to_bf16(x), ref_bf16(x)) << std::hex << u;
  }
}

TEST(Fp16Codec, AllHalfRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), uint16_t(h)) << h;
  }
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie with the overflow -> inf
  EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie -> even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);          // tie with 0 -> 0
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);          // 1.5 ulp -> even 2
}

}  // namespace
