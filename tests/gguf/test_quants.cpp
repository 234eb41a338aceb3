// Block codecs: geometry, byte-exactness against hashes of ggml's reference quantizers, error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "io/gguf/ggml_types.h"
#include "io/gguf/quants.h"
#include "kernels/half.h"

namespace {

using namespace as::gguf;

// Deterministic inputs shared with the generator that produced the golden hashes (an LCG; the
// values do not depend on the standard library's distributions).
struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 32);
  }
  float uni() { return static_cast<float>(next() >> 8) * (1.0f / 16777216.0f); }  // [0, 1)
};

constexpr int kN = 256 * 64;

// Case 0: uniform [-1, 1); 1: bell-shaped * 0.05 (weight-like); 2: all positive; 3: per-block
// patterns (zeros, constant, one outlier, tiny, huge, ternary, all negative, uniform).
std::vector<float> make_input(int c) {
  Lcg g{0x1234567ULL + static_cast<uint64_t>(c) * 1000003ULL};
  std::vector<float> x(kN);
  for (int i = 0; i < kN; ++i) {
    float v;
    if (c == 0) {
      v = 2 * g.uni() - 1;
    } else if (c == 1) {
      const float a = g.uni(), b = g.uni(), c2 = g.uni(), d = g.uni();
      v = (a + b + c2 + d - 2) * 0.05f;
    } else if (c == 2) {
      v = g.uni() * 3 + 0.5f;
    } else {
      const int blk = (i / 256) % 8;
      const float u = 2 * g.uni() - 1;
      switch (blk) {
        case 0: v = 0; break;
        case 1: v = 0.7f; break;
        case 2: v = (i % 256 == 17) ? 100.f : 0.01f * u; break;
        case 3: v = 1e-6f * u; break;
        case 4: v = 1e3f * u; break;
        case 5: v = static_cast<float>(static_cast<int>(g.uni() * 3) - 1) * 0.5f; break;
        case 6: v = -std::fabs(u) - 0.1f; break;
        default: v = u; break;
      }
    }
    x[i] = v;
  }
  return x;
}

uint64_t fnv1a(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  return h;
}

struct Golden {
  const char* type;
  int input;
  uint64_t quant_hash;    // FNV-1a of the quantized bytes
  uint64_t dequant_hash;  // FNV-1a of the dequantized floats
};

// Produced by ggml's quantize_row_*_ref / dequantize_row_* (ggml commit d99724f, compiled without
// FMA contraction) on make_input(c).
const Golden kGoldens[] = {
    {"q8_0", 0, 0xdbe38b29de0fe87bull, 0xc47a1853baccaa43ull},
    {"q8_0", 1, 0x5a5be66b251a2ef8ull, 0x786da6869f5b5ebeull},
    {"q8_0", 2, 0xed1c465299d70a73ull, 0xcff585f22558bf71ull},
    {"q8_0", 3, 0xbad139543b86aae6ull, 0x12a32e96da2b1986ull},
    {"q4_0", 0, 0x2f26c5de15f29fb2ull, 0xe98413feff551879ull},
    {"q4_0", 1, 0xec222119c086863bull, 0xce61e323c14482a4ull},
    {"q4_0", 2, 0x4611a666f8364903ull, 0x05dd68841f5606e3ull},
    {"q4_0", 3, 0x84b21093f96b19adull, 0x4ca99a4248d76747ull},
    {"q2_K", 0, 0x42c3277ace3565d8ull, 0x0e262023dbac381bull},
    {"q2_K", 1, 0x134a98e9641098a6ull, 0xfba4510f6c0b2460ull},
    {"q2_K", 2, 0xf7c282ddbcf01819ull, 0x5af12b9d2183407bull},
    {"q2_K", 3, 0x967cbc0342d1f224ull, 0x5c2470d08eff1221ull},
    {"q4_K", 0, 0x65c2a509d5cdac3aull, 0xace3d393fd8355fdull},
    {"q4_K", 1, 0xed3f3867d73fe77eull, 0x2eeefb54e76f5665ull},
    {"q4_K", 2, 0xf3a46f58ca217813ull, 0x8b683bc3913ab2f6ull},
    {"q4_K", 3, 0x34868ff194c3e348ull, 0x721294fc94fc139full},
    {"q6_K", 0, 0x8fcccb144cf51abbull, 0xe1544c0e0e148932ull},
    {"q6_K", 1, 0x62839b41229e1fdcull, 0x86c10ab4d3c16379ull},
    {"q6_K", 2, 0xed80ffbfa85805b9ull, 0x705ec05ae98e8ef4ull},
    {"q6_K", 3, 0x6d67fbe38bc4fe98ull, 0xc67ae7526b912a50ull},
    {"tq1_0", 0, 0xab98d1917dfdedc0ull, 0x06c094a7ee3d58d5ull},
    {"tq1_0", 1, 0x47e749bb6316674full, 0xa79cc10b3ce87b0bull},
    {"tq1_0", 2, 0x6105341589124662ull, 0x694853bacd09c339ull},
    {"tq1_0", 3, 0x674832523559def9ull, 0xf817e1b93c121198ull},
    {"tq2_0", 0, 0x090e429d9b97ae1cull, 0x06c094a7ee3d58d5ull},
    {"tq2_0", 1, 0xbf8e8aa92c383ccfull, 0xa79cc10b3ce87b0bull},
    {"tq2_0", 2, 0xbc5fc54190b3a6f8ull, 0x694853bacd09c339ull},
    {"tq2_0", 3, 0x4d41c00e5074ac08ull, 0xf817e1b93c121198ull},
};

TEST(GGMLTypes, TraitsTable) {
  struct Want {
    GGMLType t;
    uint32_t id;
    const char* name;
    int64_t block;
    size_t bytes;
    bool codec;
  };
  const Want want[] = {
      {GGMLType::F32, 0, "f32", 1, 4, true},        {GGMLType::F16, 1, "f16", 1, 2, true},
      {GGMLType::Q4_0, 2, "q4_0", 32, 18, true},    {GGMLType::Q4_1, 3, "q4_1", 32, 20, false},
      {GGMLType::Q5_0, 6, "q5_0", 32, 22, false},   {GGMLType::Q5_1, 7, "q5_1", 32, 24, false},
      {GGMLType::Q8_0, 8, "q8_0", 32, 34, true},    {GGMLType::Q8_1, 9, "q8_1", 32, 36, false},
      {GGMLType::Q2_K, 10, "q2_K", 256, 84, true},  {GGMLType::Q3_K, 11, "q3_K", 256, 110, false},
      {GGMLType::Q4_K, 12, "q4_K", 256, 144, true}, {GGMLType::Q5_K, 13, "q5_K", 256, 176, false},
      {GGMLType::Q6_K, 14, "q6_K", 256, 210, true}, {GGMLType::Q8_K, 15, "q8_K", 256, 292, false},
      {GGMLType::IQ2_XXS, 16, "iq2_xxs", 256, 66, false}, {GGMLType::IQ4_NL, 20, "iq4_nl", 32, 18, false},
      {GGMLType::IQ4_XS, 23, "iq4_xs", 256, 136, false},  {GGMLType::I8, 24, "i8", 1, 1, false},
      {GGMLType::I32, 26, "i32", 1, 4, false},      {GGMLType::F64, 28, "f64", 1, 8, false},
      {GGMLType::BF16, 30, "bf16", 1, 2, true},     {GGMLType::TQ1_0, 34, "tq1_0", 256, 54, true},
      {GGMLType::TQ2_0, 35, "tq2_0", 256, 66, true}, {GGMLType::MXFP4, 39, "mxfp4", 32, 17, false},
      {GGMLType::STQ1_0, 43, "stq1_0", 256, 42, true},
  };
  for (const auto& w : want) {
    const TypeTraits* tr = find_type(w.id);
    ASSERT_NE(tr, nullptr) << w.name;
    EXPECT_EQ(tr->type, w.t);
    EXPECT_STREQ(tr->name, w.name);
    EXPECT_EQ(tr->block_size, w.block) << w.name;
    EXPECT_EQ(tr->type_size, w.bytes) << w.name;
    EXPECT_EQ(tr->quantize != nullptr, w.codec) << w.name;
    if (w.codec) {
      EXPECT_NE(tr->dequantize, nullptr) << w.name;
    }
    EXPECT_EQ(type_from_name(w.name), w.t);
  }
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 44u, 1000u})
    EXPECT_EQ(find_type(removed), nullptr) << removed;
  // ids are unique
  auto types = all_types();
  for (size_t i = 0; i < types.size(); ++i)
    for (size_t j = i + 1; j < types.size(); ++j) EXPECT_NE(types[i], types[j]);
  EXPECT_EQ(type_from_name("Q4_K"), GGMLType::Q4_K);
  EXPECT_THROW(type_from_name("q9_9"), as::Error);
  EXPECT_THROW(type_traits(static_cast<GGMLType>(4)), as::Error);
  EXPECT_EQ(row_size(GGMLType::Q4_K, 512), 288u);
  EXPECT_EQ(row_size(GGMLType::F16, 3), 6u);
  EXPECT_THROW(row_size(GGMLType::Q8_0, 33), as::Error);
}

TEST(Quants, MatchesGgmlReferenceBytes) {
  for (const auto& g : kGoldens) {
    const GGMLType t = type_from_name(g.type);
    const auto x = make_input(g.input);
    const auto q = quantize(t, x.data(), kN);
    ASSERT_EQ(q.size(), row_size(t, kN));
    EXPECT_EQ(fnv1a(q.data(), q.size()), g.quant_hash) << g.type << " input " << g.input;
    std::vector<float> y(kN);
    dequantize(t, q.data(), y.data(), kN);
    EXPECT_EQ(fnv1a(y.data(), y.size() * 4), g.dequant_hash) << g.type << " input " << g.input;
  }
}

TEST(Quants, HalfConversionsMatchGgml) {
  // ggml's fp32->fp16 / fp32->bf16 over every 4099th fp32 bit pattern (same generator).
  uint64_t h16 = 1469598103934665603ULL, hb = h16;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 4099) {
    const float f = as::kernels::bits_f32(static_cast<uint32_t>(u));
    const uint16_t h = as::kernels::f32_to_f16(f), b = as::kernels::f32_to_bf16(f);
    for (int k = 0; k < 2; ++k) {
      h16 ^= (h >> (8 * k)) & 0xff;
      h16 *= 1099511628211ULL;
      hb ^= (b >> (8 * k)) & 0xff;
      hb *= 1099511628211ULL;
    }
  }
  EXPECT_EQ(h16, 0x154467f4e696328dull);
  EXPECT_EQ(hb, 0x00b521370a91767bull);
}

TEST(Quants, NearestIntTiesToEven) {
  EXPECT_EQ(nearest_int(2.5f), 2);
  EXPECT_EQ(nearest_int(3.5f), 4);
  EXPECT_EQ(nearest_int(-2.5f), -2);
  EXPECT_EQ(nearest_int(-3.5f), -4);
  EXPECT_EQ(nearest_int(0.49f), 0);
  EXPECT_EQ(nearest_int(-7.6f), -8);
  EXPECT_EQ(nearest_int(4194303.f), 4194303);
}

TEST(Quants, Q8_0HandComputed) {
  // Symmetric ramp: amax 16, d = 16/127 -> fp16 0x3008, id = 7.9375.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ8_0 b;
  quantize_row_q8_0_ref(x, &b, 32);
  EXPECT_EQ(b.d, 0x3008);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], -119);  // -15 * 7.9375 = -119.06
  EXPECT_EQ(b.qs[15], -8);   // -7.9375
  EXPECT_EQ(b.qs[16], 0);
  EXPECT_EQ(b.qs[31], 119);

  // Rounding is half away from zero (roundf), d = 1 exactly.
  float r[32] = {127, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f};
  quantize_row_q8_0_ref(r, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  const int8_t want[6] = {127, 3, -3, 1, -1, 1};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j], want[j]) << j;
  for (int j = 6; j < 32; ++j) EXPECT_EQ(b.qs[j], 0);
  float y[32];
  dequantize_row_q8_0(&b, y, 32);
  EXPECT_EQ(y[0], 127.f);
  EXPECT_EQ(y[1], 3.f);
  EXPECT_EQ(y[4], -1.f);

  // All zeros: d = 0, every quant 0.
  float z[32] = {};
  quantize_row_q8_0_ref(z, &b, 32);
  EXPECT_EQ(b.d, 0);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.qs[j], 0);
}

TEST(Quants, Q4_0HandComputed) {
  // Largest magnitude -8 (negative): d = -8 / -8 = 1, q = min(15, (int8)(x + 8.5)).
  float x[32] = {};
  x[0] = -8;
  x[1] = 7;
  x[2] = 7.9f;   // 16.4 -> clamped to 15
  x[4] = -0.5f;  // 8.0 -> 8
  x[5] = 0.5f;   // 9.0 -> 9
  x[6] = -3.2f;  // 5.3 -> 5
  x[16] = 1;     // 9.5 -> 9
  x[17] = -1;    // 7.5 -> 7
  BlockQ4_0 b;
  quantize_row_q4_0_ref(x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[0], 0x90);  // elements 0 (q 0) and 16 (q 9)
  EXPECT_EQ(b.qs[1], 0x7F);  // elements 1 (q 15) and 17 (q 7)
  EXPECT_EQ(b.qs[2], 0x8F);
  EXPECT_EQ(b.qs[3], 0x88);
  EXPECT_EQ(b.qs[4], 0x88);
  EXPECT_EQ(b.qs[5], 0x89);
  EXPECT_EQ(b.qs[6], 0x85);
  float y[32];
  dequantize_row_q4_0(&b, y, 32);
  EXPECT_EQ(y[0], -8.f);
  EXPECT_EQ(y[1], 7.f);
  EXPECT_EQ(y[2], 7.f);
  EXPECT_EQ(y[5], 1.f);
  EXPECT_EQ(y[6], -3.f);
  EXPECT_EQ(y[16], 1.f);
  EXPECT_EQ(y[17], -1.f);

  // Largest magnitude positive: d = -1 (fp16 0xBC00); +8 maps to code 0.
  float p[32] = {};
  p[0] = 8;
  p[1] = -3;
  quantize_row_q4_0_ref(p, &b, 32);
  EXPECT_EQ(b.d, 0xBC00);
  EXPECT_EQ(b.qs[0] & 0xF, 0);
  EXPECT_EQ(b.qs[1] & 0xF, 11);  // -3 * -1 + 8.5 = 11.5 -> 11
  dequantize_row_q4_0(&b, y, 32);
  EXPECT_EQ(y[0], 8.f);
  EXPECT_EQ(y[1], -3.f);
}

TEST(Quants, Q8_0ErrorBound) {
  for (int c = 0; c < 4; ++c) {
    const auto x = make_input(c);
    const auto q = quantize(GGMLType::Q8_0, x.data(), kN);
    std::vector<float> y(kN);
    dequantize(GGMLType::Q8_0, q.data(), y.data(), kN);
    for (int b = 0; b < kN / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
      BlockQ8_0 blk;
      std::memcpy(&blk, q.data() + 34 * b, 34);
      const float d_exact = amax / 127, d16 = as::kernels::f16_to_f32(blk.d);
      // round-to-nearest with the exact scale, plus the fp16 rounding of the scale
      const float bound = d_exact / 2 + 127 * std::fabs(d_exact - d16) + 1e-6f * amax;
      for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(x[32 * b + j] - y[32 * b + j]), bound) << c << " " << b;
    }
  }
}

TEST(Quants, Q4_0ErrorBound) {
  const auto x = make_input(0);
  const auto q = quantize(GGMLType::Q4_0, x.data(), kN);
  std::vector<float> y(kN);
  dequantize(GGMLType::Q4_0, q.data(), y.data(), kN);
  for (int b = 0; b < kN / 32; ++b) {
    BlockQ4_0 blk;
    std::memcpy(&blk, q.data() + 18 * b, 18);
    const float d = std::fabs(as::kernels::f16_to_f32(blk.d));
    // |x/d| <= 8 and codes cover -8..7: at most one step off at the clamped end, d/2 elsewhere.
    for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(x[32 * b + j] - y[32 * b + j]), d * 1.01f);
  }
}

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    s += double(x[i]) * x[i];
  }
  return std::sqrt(e / s);
}

TEST(Quants, RoundTripErrorBounds) {
  struct Bound {
    GGMLType t;
    double max_rel_rmse;  // on uniform and bell-shaped inputs
  };
  const Bound bounds[] = {{GGMLType::F32, 0.0},     {GGMLType::F16, 1e-3},   {GGMLType::BF16, 5e-3},
                          {GGMLType::Q8_0, 0.01},   {GGMLType::Q6_K, 0.02},  {GGMLType::Q4_0, 0.12},
                          {GGMLType::Q4_K, 0.08},   {GGMLType::Q2_K, 0.40},  {GGMLType::TQ2_0, 0.80},
                          {GGMLType::TQ1_0, 0.80}};
  for (int c = 0; c < 2; ++c) {
    const auto x = make_input(c);
    for (const auto& b : bounds) {
      const auto q = quantize(b.t, x.data(), kN);
      std::vector<float> y(kN), y2(kN);
      dequantize(b.t, q.data(), y.data(), kN);
      EXPECT_LE(rel_rmse(x, y), b.max_rel_rmse) << type_name(b.t) << " input " << c;
      // deterministic: same input, same bytes, same floats
      const auto q2 = quantize(b.t, x.data(), kN);
      EXPECT_EQ(q, q2) << type_name(b.t);
      dequantize(b.t, q2.data(), y2.data(), kN);
      EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), y.size() * 4)) << type_name(b.t);
    }
  }
  // Error ordering: more bits, less error.
  const auto x = make_input(1);
  auto err = [&](GGMLType t) {
    std::vector<float> y(kN);
    dequantize(t, quantize(t, x.data(), kN).data(), y.data(), kN);
    return rel_rmse(x, y);
  };
  EXPECT_LT(err(GGMLType::Q8_0), err(GGMLType::Q6_K));
  EXPECT_LT(err(GGMLType::Q6_K), err(GGMLType::Q4_K));
  EXPECT_LT(err(GGMLType::Q4_K), err(GGMLType::Q2_K));
}

TEST(Quants, TernaryExactOnTernaryInput) {
  Lcg g{99};
  std::vector<float> x(1024);
  for (auto& v : x) v = static_cast<float>(static_cast<int>(g.uni() * 3) - 1) * 0.375f;
  x[0] = 0.375f;  // make sure the block max is present
  for (GGMLType t : {GGMLType::TQ1_0, GGMLType::TQ2_0}) {
    std::vector<float> y(x.size());
    dequantize(t, quantize(t, x.data(), 1024).data(), y.data(), 1024);
    EXPECT_EQ(x, y) << type_name(t);
  }
}

// STQ1_0's decode table as printed in llama.cpp PR #22836 (ggml-common.h): the 2-bit lane codes
// (-1 -> 0, 0 -> 1, +1 -> 2) packed lane 3 high .. lane 0 low, for code (sign << 4) | slot.
TEST(Quants, Stq1_0CodebookMatchesThePullRequest) {
  const uint8_t want[32] = {0xA9, 0x89, 0x29, 0x09, 0xA6, 0x86, 0x26, 0x06, 0x9A, 0x92, 0x1A,
                            0x12, 0x6A, 0x62, 0x4A, 0x42, 0x01, 0x21, 0x81, 0xA1, 0x04, 0x24,
                            0x84, 0xA4, 0x10, 0x18, 0x90, 0x98, 0x40, 0x48, 0x60, 0x68};
  for (int code = 0; code < 32; ++code) {
    int u[4];
    stq1_0_lanes(code, u);
    int q = 0;
    for (int p = 0; p < 4; ++p) q |= (u[p] + 1) << (2 * p);
    EXPECT_EQ(q, want[code]) << "code " << code;
  }
}

// Two groups worked by hand; the other 62 groups are zero (their zero lane is lane 0, the rest +1
// since +0.0 counts as positive, times d).
TEST(Quants, Stq1_0HandComputed) {
  std::vector<float> x(256, 0.0f);
  const float g0[4] = {0.1f, -0.5f, 0.7f, -0.2f};  // zero lane 0; lanes 1-3 -,+,-: sign 1, tail 01
  const float g1[4] = {2.0f, 0.0f, -1.0f, 1.0f};   // zero lane 1; lanes 0,2,3 +,-,+: sign 0, tail 01
  std::copy(g0, g0 + 4, x.begin());
  std::copy(g1, g1 + 4, x.begin() + 4);
  const auto q = quantize(GGMLType::STQ1_0, x.data(), 256);
  ASSERT_EQ(q.size(), 42u);
  EXPECT_EQ(q[0], 0x51);       // group 0 slot 1 (low nibble), group 1 slot (1 << 2) | 1 = 5 (high)
  EXPECT_EQ(q[32], 0x01);      // sign bits of groups 0..7: only group 0 flipped
  EXPECT_EQ(q[40] | (q[41] << 8), as::kernels::f32_to_f16(2.0f));
  std::vector<float> y(256);
  dequantize(GGMLType::STQ1_0, q.data(), y.data(), 256);
  const float want[8] = {0, -2, 2, -2, 2, 0, -2, 2};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y[size_t(i)], want[i]) << i;
  for (int g = 2; g < 64; ++g) {
    EXPECT_EQ(y[size_t(4 * g)], 0.0f);
    EXPECT_EQ(y[size_t(4 * g + 1)], 2.0f);
  }
  // Ties keep the first smallest lane.
  const float tie[4] = {0.3f, -0.3f, 0.3f, 0.3f};
  std::copy(tie, tie + 4, x.begin());
  const auto q2 = quantize(GGMLType::STQ1_0, x.data(), 256);
  EXPECT_EQ(q2[0] & 15, 3);  // zero lane 0; lanes 1-3 -,+,+: sign 1, lanes 2 and 3 differ from lane 1
  EXPECT_EQ(q2[32] & 1, 1);
}

// 3:4 sparse ternary input with one magnitude per 256 weights (what a Sherry model with per-channel
// scales holds) round-trips exactly.
TEST(Quants, Stq1_0ExactOnSparseTernaryInput) {
  Lcg g{7};
  std::vector<float> x(1024);
  for (int64_t b = 0; b < 4; ++b) {
    const float d = 0.25f * float(b + 1);
    for (int grp = 0; grp < 64; ++grp) {
      const int zero = int(g.uni() * 4) % 4;
      for (int p = 0; p < 4; ++p)
        x[size_t(b * 256 + 4 * grp + p)] = p == zero ? 0.0f : (g.uni() < 0.5 ? -d : d);
    }
  }
  std::vector<float> y(x.size());
  dequantize(GGMLType::STQ1_0, quantize(GGMLType::STQ1_0, x.data(), 1024).data(), y.data(), 1024);
  EXPECT_EQ(x, y);
}

TEST(Quants, Q8_0IsIdempotent) {
  const auto x = make_input(1);
  const auto q = quantize(GGMLType::Q8_0, x.data(), kN);
  std::vector<float> y(kN);
  dequantize(GGMLType::Q8_0, q.data(), y.data(), kN);
  EXPECT_EQ(quantize(GGMLType::Q8_0, y.data(), kN), q);
}

TEST(Quants, UnalignedBuffers) {
  const auto x = make_input(0);
  for (GGMLType t : {GGMLType::Q8_0, GGMLType::Q4_0, GGMLType::Q2_K, GGMLType::Q4_K, GGMLType::Q6_K,
                     GGMLType::TQ1_0, GGMLType::TQ2_0, GGMLType::STQ1_0, GGMLType::F16, GGMLType::BF16}) {
    const auto want = quantize(t, x.data(), 1024);
    std::vector<uint8_t> buf(want.size() + 1);
    quantize(t, x.data(), buf.data() + 1, 1024);
    EXPECT_EQ(0, std::memcmp(buf.data() + 1, want.data(), want.size())) << type_name(t);
    std::vector<float> a(1024), b(1024);
    dequantize(t, want.data(), a.data(), 1024);
    dequantize(t, buf.data() + 1, b.data(), 1024);
    EXPECT_EQ(a, b) << type_name(t);
  }
}

TEST(Quants, HalfTypesExact) {
  std::vector<float> x = {1.0f, -2.5f, 0.0f, 65504.0f, 6.103515625e-05f};
  for (GGMLType t : {GGMLType::F16, GGMLType::BF16, GGMLType::F32}) {
    std::vector<float> in = x;
    if (t == GGMLType::BF16) in[3] = 65536.0f;
    std::vector<float> y(in.size());
    dequantize(t, quantize(t, in.data(), 5).data(), y.data(), 5);
    EXPECT_EQ(in, y) << type_name(t);
  }
}

TEST(Quants, MissingCodecNamesContext) {
  std::vector<float> x(256, 1.0f);
  try {
    quantize(GGMLType::Q5_K, x.data(), 256, "tensor 'blk.0.w'");
    FAIL();
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.w"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("q5_K"), std::string::npos);
  }
  std::vector<uint8_t> raw(176);
  EXPECT_THROW(dequantize(GGMLType::Q5_K, raw.data(), x.data(), 256), as::Error);
  EXPECT_THROW(quantize(GGMLType::Q8_0, x.data(), 31), as::Error);
  EXPECT_FALSE(can_quantize(GGMLType::I32));
  EXPECT_TRUE(can_dequantize(GGMLType::I32));
  std::vector<int32_t> ints = {-3, 7};
  std::vector<float> f(2);
  dequantize(GGMLType::I32, ints.data(), f.data(), 2);
  EXPECT_EQ(f, (std::vector<float>{-3, 7}));
}

TEST(Quants, KQuantHelpers) {
  // make_qkx2_quants on a constant non-negative group: min clamps to 0, single level.
  float x[16], w[16];
  uint8_t L[16], Laux[16];
  for (int i = 0; i < 16; ++i) {
    x[i] = static_cast<float>(i);
    w[i] = 1;
  }
  float the_min = -1;
  const float scale = make_qkx2_quants(16, 15, x, w, L, &the_min, Laux, -1.f, 0.1f, 20, false);
  EXPECT_NEAR(scale, 1.0f, 1e-5f);
  EXPECT_EQ(the_min, 0.0f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(L[i], i);

  int8_t Ls[16];
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i - 8) * 0.25f;  // -2 .. 1.75
  const float s = make_qx_quants(16, 32, x, Ls, 1, nullptr);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR((Ls[i] - 32) * s, x[i], std::fabs(s) / 2 + 1e-6f);

  uint8_t sc[12] = {0x41, 0x02, 0x03, 0x04, 0x85, 0x06, 0x07, 0x08, 0x9A, 0xBC, 0xDE, 0xF0};
  uint8_t d, m;
  get_scale_min_k4(0, sc, &d, &m);
  EXPECT_EQ(d, 0x01);
  EXPECT_EQ(m, 0x05);
  get_scale_min_k4(4, sc, &d, &m);
  EXPECT_EQ(d, static_cast<uint8_t>(0xA | (1 << 4)));      // low nibble of sc[8], top bits of sc[0]
  EXPECT_EQ(m, static_cast<uint8_t>(0x9 | (2 << 4)));      // high nibble of sc[8], top bits of sc[4]
}

}  // namespace
