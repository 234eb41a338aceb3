// Helpers shared by the packed-kernel tests: random data, packing, a tolerance check, and the check
// that a decode layout's GEMM matches the scalar row-layout reference on every ISA.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/packed/packed.h"

namespace as::packed::test {

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<uint8_t> pack(QuantType t, const std::vector<float>& w, int64_t N, int64_t K) {
  std::vector<uint8_t> p(packed_bytes(t, N, K));
  quantize_rows(t, w.data(), N, K, p.data());
  return p;
}

// |got - want| <= 2e-5 * max |want| + 1e-6 everywhere (fp32 summation order only).
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5f * scale + 1e-6f) << what << " at " << i;
}

// gemm_interleaved on `il` (rows converted to t's decode layout) with every available ISA, and the
// emulated AVX-512 kernel `emu` when given, against the scalar kernel on the row layout `rows`.
inline void expect_layout_gemm_matches(QuantType t, const std::vector<uint8_t>& rows, const std::vector<uint8_t>& il,
                                       int64_t N, int64_t K, const std::vector<float>& X, int64_t M,
                                       const std::string& what, GemmFn emu) {
  std::vector<float> want(size_t(M * N)), got(size_t(M * N));
  gemm(t, rows.data(), N, K, X.data(), M, want.data(), Isa::Scalar);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (!isa_available(isa)) continue;
    std::fill(got.begin(), got.end(), -1.0f);
    gemm_interleaved(t, il.data(), N, K, X.data(), M, got.data(), isa);
    expect_close(got, want, what + " " + isa_name(isa));
  }
  if (emu) {
    std::fill(got.begin(), got.end(), -1.0f);
    emu(il.data(), N, K, X.data(), M, got.data());
    expect_close(got, want, what + " avx512 (emulated)");
  }
}

}  // namespace as::packed::test
