// Constants of the vectorized e^x (x <= 0) shared by the attention kernels of every width
// (attention.cpp: AVX2, attention_avx512.cpp: AVX-512). x is clamped to kMin (the result stays
// normal; below it flushes to 0), reduced as x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in a high
// part exact in float and a low correction), and e^r is the degree-6 Taylor polynomial evaluated by
// Horner from kPoly[0]: relative error ~2 ulp. The result is p * 2^n, with 2^n built in the exponent.
#pragma once

namespace as::kernels::detail::exp_neg {
inline constexpr float kMin = -87.3f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;
inline constexpr float kLn2Lo = 1.428606765330187045e-06f;
inline constexpr float kPoly[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
}  // namespace as::kernels::detail::exp_neg
