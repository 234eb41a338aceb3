// AVX2 + FMA + F16C instantiation of simd_kernels.inc (vpmaddubsw integer dot products).
#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/packed/formats.h"
#include "kernels/packed/internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AS_SIMD_NS avx2
#define AS_SIMD_FN __attribute__((target("avx2,fma,f16c")))
#define AS_SIMD_VNNI 0
#define AS_SIMD_ZMM 0
#include "kernels/packed/simd_kernels.inc"

namespace as::packed::detail {
IsaKernels avx2_kernels(QuantType t) { return avx2::kernels_for(t); }
GemmFn avx2_rows8(QuantType t) { return avx2::rows8_for(t); }
GemmFn avx2_rows32(QuantType t) { return avx2::rows32_for(t); }
}  // namespace as::packed::detail

#else

namespace as::packed::detail {
IsaKernels avx2_kernels(QuantType t) { return scalar_kernels(t); }  // never selected off x86-64
GemmFn avx2_rows8(QuantType) { return nullptr; }
GemmFn avx2_rows32(QuantType) { return nullptr; }
}  // namespace as::packed::detail

#endif
