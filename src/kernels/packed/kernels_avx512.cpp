// AVX-512 (F, BW, VL, VNNI) instantiation of simd_kernels.inc: vpdpbusd / vpdpwssd dot products,
// 512-bit kernels for the 1-2 bit types and for the GEMM tiles, and the AMX GEMMs (simd_amx.inc)
// that replace those tiles on CPUs with AMX.
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
#define AS_SIMD_FN \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8,amx-bf16")))
#define AS_SIMD_VNNI 1
#define AS_SIMD_ZMM 1
#define AS_SIMD_AMX 1
#include "kernels/packed/simd_kernels.inc"

namespace as::packed::detail {
IsaKernels avx512_kernels(QuantType t) { return avx512::kernels_for(t); }
void avx512_amx_gemm(QuantType t, const uint8_t* W, bool interleaved, int64_t N, int64_t K, const float* X, int64_t M,
                     float* Y) {
  avx512::amx_gemm(t, W, interleaved, N, K, X, M, Y);
}
GemmFn avx512_rows8(QuantType t) { return avx512::rows8_for(t); }
GemmFn avx512_rows32(QuantType t) { return avx512::rows32_for(t); }
}  // namespace as::packed::detail

#else

namespace as::packed::detail {
IsaKernels avx512_kernels(QuantType t) { return scalar_kernels(t); }  // never selected off x86-64
GemmFn avx512_rows8(QuantType) { return nullptr; }
GemmFn avx512_rows32(QuantType) { return nullptr; }
void avx512_amx_gemm(QuantType, const uint8_t*, bool, int64_t, int64_t, const float*, int64_t, float*) {}
}  // namespace as::packed::detail

#endif
