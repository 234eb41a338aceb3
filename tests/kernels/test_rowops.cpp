// rmsnorm() and silu_mul() (every implementation this CPU runs) against their scalar references,
// the references against double-precision math, and the edges: tails that are not a multiple of
// the vector width, in-place calls, large |g| in the SwiGLU, non-finite inputs, bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/rowops.h"

using namespace as::kernels;

namespace {

std::vector<float> randn(int64_t n, uint32_t seed, float scale) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = scale * d(g);
  return v;
}

double silu_d(double g) { return g / (1.0 + std::exp(-g)); }

}  // namespace

TEST(RowOps, RmsnormReferenceMatchesDoubleMath) {
  for (int64_t n : {1, 7, 96, 1536}) {
    const auto x = randn(n, uint32_t(n), 3.0f), w = randn(n, uint32_t(n + 1), 1.0f);
    std::vector<float> y(static_cast<size_t>(n));
    rmsnorm_ref(x.data(), w.data(), n, 1e-5f, y.data());
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double r = 1.0 / std::sqrt(ss / double(n) + double(1e-5f));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(y[size_t(i)], double(x[size_t(i)]) * r * w[size_t(i)], 1e-6 * std::fabs(x[size_t(i)] * r * w[size_t(i)]) + 1e-30)
          << "n=" << n << " i=" << i;
  }
}

TEST(RowOps, EveryIsaMatchesReference) {
  for (const std::string& isa : rowops_isas()) {
    SCOPED_TRACE(isa);
    for (int64_t n : {1, 8, 15, 16, 17, 96, 100, 1536, 4103}) {
      const auto x = randn(n, uint32_t(3 * n), 2.0f), w = randn(n, uint32_t(3 * n + 1), 1.0f);
      std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      rmsnorm_ref(x.data(), w.data(), n, 1e-6f, want.data());
      rmsnorm_with(isa, x.data(), w.data(), n, 1e-6f, got.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[size_t(i)], want[size_t(i)], 4e-7 * std::fabs(want[size_t(i)]) + 1e-30) << "rmsnorm n=" << n << " i=" << i;
      // In place gives the same.
      std::vector<float> inplace = x;
      rmsnorm_with(isa, inplace.data(), w.data(), n, 1e-6f, inplace.data());
      ASSERT_EQ(inplace, got) << "rmsnorm in place, n=" << n;

      // SwiGLU with gate values from -100 to 100 (e^-g far outside float for the largest).
      auto g = randn(n, uint32_t(5 * n), 4.0f);
      if (n >= 4) g[0] = 100.0f, g[1] = -100.0f, g[2] = 0.0f, g[3] = -0.0f;
      const auto u = randn(n, uint32_t(5 * n + 1), 1.0f);
      silu_mul_ref(g.data(), u.data(), n, want.data());
      silu_mul_with(isa, g.data(), u.data(), n, got.data());
      for (int64_t i = 0; i < n; ++i) {
        const double exact = silu_d(g[size_t(i)]) * u[size_t(i)];
        ASSERT_NEAR(want[size_t(i)], exact, 1e-6 * std::fabs(exact) + 1e-30) << "silu_mul_ref n=" << n << " i=" << i;
        ASSERT_NEAR(got[size_t(i)], exact, 1e-6 * std::fabs(exact) + 1e-30) << "silu_mul n=" << n << " i=" << i;
      }
      std::vector<float> gi = g;
      silu_mul_with(isa, gi.data(), u.data(), n, gi.data());
      ASSERT_EQ(gi, got) << "silu_mul in place, n=" << n;
    }
  }
}

TEST(RowOps, DispatchedMatchesLastIsa) {
  const std::string best = rowops_isas().back();
  const auto x = randn(1000, 9, 1.0f), w = randn(1000, 10, 1.0f), u = randn(1000, 11, 1.0f);
  std::vector<float> a(1000), b(1000);
  rmsnorm(x.data(), w.data(), 1000, 1e-5f, a.data());
  rmsnorm_with(best, x.data(), w.data(), 1000, 1e-5f, b.data());
  EXPECT_EQ(a, b);
  silu_mul(x.data(), u.data(), 1000, a.data());
  silu_mul_with(best, x.data(), u.data(), 1000, b.data());
  EXPECT_EQ(a, b);
}

TEST(RowOps, NonFiniteInputsStayNonFinite) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::string& isa : rowops_isas()) {
    SCOPED_TRACE(isa);
    std::vector<float> g(16, 1.0f), u(16, 1.0f), y(16);
    g[1] = nan, g[2] = inf, g[3] = -inf, g[9] = nan;
    silu_mul_with(isa, g.data(), u.data(), 16, y.data());
    EXPECT_TRUE(std::isnan(y[1]) && std::isnan(y[9]));
    EXPECT_EQ(y[2], inf);
    EXPECT_FALSE(std::isfinite(y[3]));
    EXPECT_NEAR(y[0], silu_d(1.0), 1e-6);
    std::vector<float> x(20, 1.0f), w(20, 1.0f), o(20);
    x[17] = nan;  // in the scalar tail of the vector version
    rmsnorm_with(isa, x.data(), w.data(), 20, 1e-6f, o.data());
    for (float v : o) EXPECT_TRUE(std::isnan(v));
  }
}

TEST(RowOps, BadArgumentsAreNamed) {
  std::vector<float> a(8, 1.0f), b(8);
  EXPECT_THROW(rmsnorm_with("scalar", a.data(), a.data(), 0, 1e-6f, b.data()), as::Error);
  EXPECT_THROW(silu_mul_with("scalar", a.data(), a.data(), -1, b.data()), as::Error);
  try {
    rmsnorm_with("sse9", a.data(), a.data(), 8, 1e-6f, b.data());
    FAIL() << "no error";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sse9"), std::string::npos);
  }
}
