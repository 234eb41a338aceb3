// AVX-512 VBMI instantiation of simd_kernels.inc: the AVX-512 kernels plus the ones that need byte
// permutes with 64- and 128-entry tables (vpermi2b: tern167's digit layout; vpermb: sherry125's
// rows32 lookups). Selected only on CPUs with AVX512_VBMI (Ice Lake and later, Zen 4), so that no
// other code path depends on it.
#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/packed/formats.h"
#include "kernels/packed/internal.h"

#if defined(__x86_64__)
// See kernels_avx512.cpp: GCC 12's AVX-512 headers trip -Wuninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define AS_SIMD_NS avx512vbmi
#define AS_SIMD_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))
#define AS_SIMD_VNNI 1
#define AS_SIMD_ZMM 1
#define AS_SIMD_VBMI 1
#include "kernels/packed/simd_kernels.inc"

namespace as::packed::detail {
GemmFn avx512vbmi_t167d(QuantType t) { return avx512vbmi::t167d_for(t); }
GemmFn avx512vbmi_rows32(QuantType t) { return avx512vbmi::rows32_for(t); }
}  // namespace as::packed::detail

#else

namespace as::packed::detail {
GemmFn avx512vbmi_t167d(QuantType) { return nullptr; }
GemmFn avx512vbmi_rows32(QuantType) { return nullptr; }
}  // namespace as::packed::detail

#endif
