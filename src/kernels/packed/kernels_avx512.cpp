// AVX-512 (F, BW, VL, VNNI) instantiation of simd_kernels.inc: vpdpbusd / vpdpwssd dot products,
// 512-bit kernels for the 1-2 bit types and for the GEMM tiles.
#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/packed/formats.h"
#include "kernels/packed/internal.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers seed some intrinsics with self-initialized "undefined" vectors, which
// -Wuninitialized reports at every inlined use (fixed in GCC 13); the headers are correct.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define AS_SIMD_NS avx512
#define AS_SIMD_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define AS_SIMD_VNNI 1
#define AS_SIMD_ZMM 1
#include "kernels/packed/simd_kernels.inc"

namespace as::packed::detail {
IsaKernels avx512_kernels(QuantType t) { return avx512::kernels_for(t); }
GemmFn avx512_rows8(QuantType t) { return avx512::rows8_for(t); }
GemmFn avx512_rows32(QuantType t) { return avx512::rows32_for(t); }
}  // namespace as::packed::detail

#else

namespace as::packed::detail {
IsaKernels avx512_kernels(QuantType t) { return scalar_kernels(t); }  // never selected off x86-64
GemmFn avx512_rows8(QuantType) { return nullptr; }
GemmFn avx512_rows32(QuantType) { return nullptr; }
}  // namespace as::packed::detail

#endif
