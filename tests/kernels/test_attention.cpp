// attend() and attend_block() (every implementation this CPU runs) against the scalar reference
// attend_ref, plus properties that hold for any correct attention: one key returns its value row,
// equal scores average the values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/attention.h"
#include "kernels/half.h"

using namespace as::kernels;

namespace {

struct Case {
  std::vector<float> q, out, ref, scratch;
  std::vector<float> K32, V32;
  std::vector<uint16_t> K16, V16;
};

AttnArgs args_for(Case& c, KvType kv, int64_t T, int64_t hd, int64_t stride, float* out) {
  AttnArgs a;
  a.q = c.q.data();
  a.kv = kv;
  a.K = kv == KvType::F32 ? static_cast<const void*>(c.K32.data()) : c.K16.data();
  a.V = kv == KvType::F32 ? static_cast<const void*>(c.V32.data()) : c.V16.data();
  a.T = T, a.hd = hd, a.stride = stride;
  a.scale = float(1.0 / std::sqrt(double(hd)));
  a.scratch = c.scratch.data();
  a.out = out;
  return a;
}

Case make(int64_t T, int64_t hd, int64_t stride, uint32_t seed, float qmag) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Case c;
  c.q.resize(size_t(hd));
  for (auto& v : c.q) v = qmag * n(g);
  c.K32.resize(size_t(T * stride));
  c.V32.resize(size_t(T * stride));
  for (auto& v : c.K32) v = n(g);
  for (auto& v : c.V32) v = n(g);
  for (float v : c.K32) c.K16.push_back(f32_to_f16(v));
  for (float v : c.V32) c.V16.push_back(f32_to_f16(v));
  c.out.assign(size_t(hd), 0.0f);
  c.ref.assign(size_t(hd), 0.0f);
  c.scratch.assign(size_t(T), 0.0f);
  return c;
}

}  // namespace

// Every implementation this CPU runs (and the dispatched one) against the scalar reference: head
// dims below, at and above one vector, not multiples of 8 or 16 (100, 136), and above the 128-dim
// output chunk; key counts around the 4-key and 16-key steps; padded rows.
TEST(Attention, EveryIsaMatchesScalarReference) {
  uint32_t seed = 1;
  std::vector<std::string> isas = attend_isas();
  isas.push_back("dispatched");
  for (const std::string& isa : isas)
    for (KvType kv : {KvType::F32, KvType::F16})
      for (int64_t hd : {4, 8, 20, 64, 96, 100, 128, 136, 256})
        for (int64_t T : {1, 2, 3, 5, 8, 17, 31, 100, 513})
          for (int64_t extra : {0, 24}) {
            const int64_t stride = hd + extra;
            Case c = make(T, hd, stride, seed++, 2.0f);
            attend_ref(args_for(c, kv, T, hd, stride, c.ref.data()));
            if (isa == "dispatched") attend(args_for(c, kv, T, hd, stride, c.out.data()));
            else attend_with(isa, args_for(c, kv, T, hd, stride, c.out.data()));
            float maxdiff = 0;
            for (int64_t i = 0; i < hd; ++i) maxdiff = std::max(maxdiff, std::abs(c.out[size_t(i)] - c.ref[size_t(i)]));
            ASSERT_LT(maxdiff, 2e-5f) << kv_type_name(kv) << " hd=" << hd << " T=" << T << " stride=" << stride
                                      << " isa=" << isa << " (dispatched: " << attend_isa() << ")";
          }
  EXPECT_EQ(attend_isas().front(), "scalar");
  EXPECT_EQ(attend_isas().back(), attend_isa());
}

// Blocks of nq causal queries (prefill): query i sees T0 + i keys; every implementation against
// attend_ref run per query. Query and output rows padded (strides > hd).
TEST(Attention, BlockOfQueriesMatchesReferencePerQuery) {
  uint32_t seed = 100;
  std::vector<std::string> isas = attend_isas();
  isas.push_back("dispatched");
  for (const std::string& isa : isas)
    for (KvType kv : {KvType::F32, KvType::F16})
      for (int64_t hd : {8, 20, 64, 100, 136})
        for (int64_t T0 : {1, 2, 7, 40})
          for (int64_t nq : {1, 3, 4, 5, 8, 9, 13, 32}) {
            const int64_t stride = hd + 8, qs = hd + 3, os = hd + 5, T = T0 + nq - 1;
            Case c = make(T, hd, stride, seed++, 2.0f);
            std::mt19937 g(seed);
            std::normal_distribution<float> n(0.0f, 2.0f);
            std::vector<float> Q(size_t(nq * qs)), O(size_t(nq * os), NAN), R(static_cast<size_t>(hd));
            for (auto& v : Q) v = n(g);
            AttnArgs a = args_for(c, kv, T0, hd, stride, nullptr);
            if (isa == "dispatched") attend_block(a, nq, Q.data(), qs, O.data(), os);
            else attend_block_with(isa, a, nq, Q.data(), qs, O.data(), os);
            for (int64_t i = 0; i < nq; ++i) {
              AttnArgs r = args_for(c, kv, T0 + i, hd, stride, R.data());
              r.q = Q.data() + i * qs;
              attend_ref(r);
              for (int64_t d = 0; d < hd; ++d)
                ASSERT_NEAR(O[size_t(i * os + d)], R[size_t(d)], 2e-5f)
                    << isa << " " << kv_type_name(kv) << " hd=" << hd << " T0=" << T0 << " nq=" << nq << " i=" << i;
            }
          }
}

TEST(Attention, UnknownIsaIsNamed) {
  Case c = make(3, 8, 8, 5, 1.0f);
  try {
    attend_with("avx1024", args_for(c, KvType::F32, 3, 8, 8, c.out.data()));
    FAIL() << "expected an error";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx1024"), std::string::npos) << e.what();
  }
}

TEST(Attention, OneKeyReturnsItsValueRow) {
  for (KvType kv : {KvType::F32, KvType::F16}) {
    Case c = make(1, 96, 96, 7, 3.0f);
    attend(args_for(c, kv, 1, 96, 96, c.out.data()));
    for (int64_t i = 0; i < 96; ++i) {
      const float v = kv == KvType::F32 ? c.V32[size_t(i)] : f16_to_f32(c.V16[size_t(i)]);
      EXPECT_NEAR(c.out[size_t(i)], v, 1e-6f);
    }
  }
}

TEST(Attention, EqualScoresAverageTheValues) {
  const int64_t T = 37, hd = 64;
  Case c = make(T, hd, hd, 11, 0.0f);  // q = 0: every score is 0
  attend(args_for(c, KvType::F32, T, hd, hd, c.out.data()));
  for (int64_t i = 0; i < hd; ++i) {
    double mean = 0;
    for (int64_t j = 0; j < T; ++j) mean += c.V32[size_t(j * hd + i)];
    EXPECT_NEAR(c.out[size_t(i)], mean / T, 1e-5);
  }
}

TEST(Attention, LargeScoreGapsDoNotOverflow) {
  // Scores spread over hundreds of units: the max-subtracted softmax must stay finite and pick the
  // best key.
  const int64_t T = 20, hd = 16;
  Case c = make(T, hd, hd, 3, 0.0f);
  for (int64_t i = 0; i < hd; ++i) c.q[size_t(i)] = 50.0f;
  for (int64_t i = 0; i < hd; ++i) c.K32[size_t(5 * hd + i)] = 10.0f;  // key 5 dominates
  attend(args_for(c, KvType::F32, T, hd, hd, c.out.data()));
  for (int64_t i = 0; i < hd; ++i) {
    ASSERT_TRUE(std::isfinite(c.out[size_t(i)]));
    EXPECT_NEAR(c.out[size_t(i)], c.V32[size_t(5 * hd + i)], 1e-5f);
  }
}

TEST(Attention, KvStoreRoundsToHalfAndNamesBadTypes) {
  const float src[3] = {1.0f, 0.1f, -65504.0f};
  uint16_t h[3];
  kv_store(KvType::F16, src, 3, h);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h[i], f32_to_f16(src[i]));
  // The vector path (whole groups of 8) and the scalar tail agree with the scalar rule on random
  // values, ties (odd mantissas cut at bit 13), subnormal halves, overflow to inf and zeros.
  std::vector<float> v(45);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (auto& x : v) x = nd(rng);
  const float special[] = {0.0f, -0.0f, 65504.0f, 65520.0f, -1e6f, 1e-6f, -3e-7f, 6.1e-5f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f};
  std::copy(std::begin(special), std::end(special), v.begin() + 3);
  std::vector<uint16_t> hv(v.size());
  kv_store(KvType::F16, v.data(), int64_t(v.size()), hv.data());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(hv[i], f32_to_f16(v[i])) << "i=" << i << " x=" << v[i];
  float f[3];
  kv_store(KvType::F32, src, 3, f);
  EXPECT_EQ(f[1], 0.1f);
  EXPECT_EQ(kv_type_from_name("f16"), KvType::F16);
  try {
    kv_type_from_name("q8");
    FAIL() << "no error";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'q8'"), std::string::npos);
  }
}
