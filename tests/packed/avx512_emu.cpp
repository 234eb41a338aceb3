// Compiles src/kernels/packed/simd_kernels.inc in its AVX-512 configuration against SIMDe's
// portable implementations of the x86 intrinsics (no target attributes, no native AVX-512), so the
// AVX-512 code paths run, slowly, on any x86-64 machine. Built only when SIMDe's headers exist.
#include "packed/emu_kernels.h"

#if __has_include(<simde/x86/avx512.h>)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

#include <algorithm>
#include <cstring>
#include <utility>

#ifndef _MM_FROUND_NO_EXC
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#endif
typedef simde__mmask16 __mmask16;
typedef simde__mmask64 __mmask64;

// Intrinsics missing from older SIMDe releases.
#ifndef _mm512_cvtepi32_ps
static inline simde__m512 emu_mm512_cvtepi32_ps(simde__m512i a) {
  int32_t in[16];
  float out[16];
  simde_mm512_storeu_si512(in, a);
  for (int i = 0; i < 16; ++i) out[i] = float(in[i]);
  return simde_mm512_loadu_ps(out);
}
#define _mm512_cvtepi32_ps emu_mm512_cvtepi32_ps
#endif

// Masked byte load (missing from SIMDe): lanes outside k read as zero, and are not read at all.
#ifndef _mm512_maskz_loadu_epi8
static inline simde__m512i emu_mm512_maskz_loadu_epi8(simde__mmask64 k, const void* p) {
  uint8_t b[64] = {};
  for (int i = 0; i < 64; ++i)
    if ((k >> i) & 1) b[i] = static_cast<const uint8_t*>(p)[i];
  return simde_mm512_loadu_si512(b);
}
#define _mm512_maskz_loadu_epi8 emu_mm512_maskz_loadu_epi8
#endif

// 16 bytes zero-extended to 16 int32 (vpmovzxbd; missing from SIMDe).
#ifndef _mm512_cvtepu8_epi32
static inline simde__m512i emu_mm512_cvtepu8_epi32(simde__m128i a) {
  uint8_t in[16];
  int32_t out[16];
  simde_mm_storeu_si128(in, a);
  for (int i = 0; i < 16; ++i) out[i] = in[i];
  return simde_mm512_loadu_si512(out);
}
#define _mm512_cvtepu8_epi32 emu_mm512_cvtepu8_epi32
#endif

// 16 fp16 -> fp32 (missing from SIMDe): two F16C halves.
#ifndef _mm512_cvtph_ps
static inline simde__m512 emu_mm512_cvtph_ps(simde__m256i h) {
  return simde_mm512_insertf32x8(simde_mm512_castps256_ps512(simde_mm256_cvtph_ps(simde_mm256_castsi256_si128(h))),
                                 simde_mm256_cvtph_ps(simde_mm256_extracti128_si256(h, 1)), 1);
}
#define _mm512_cvtph_ps emu_mm512_cvtph_ps
#endif

#include "kernels/packed/formats.h"
#include "kernels/packed/internal.h"

#define AS_SIMD_NS emu512
#define AS_SIMD_FN
#define AS_SIMD_VNNI 1
#define AS_SIMD_ZMM 1
#define AS_SIMD_VBMI 1
#include "kernels/packed/simd_kernels.inc"

namespace as::packed::test {
bool emu512_available() { return true; }
IsaKernels emu512_kernels(QuantType t) { return detail::emu512::kernels_for(t); }
GemmFn emu512_rows8(QuantType t) { return detail::emu512::rows8_for(t); }
GemmFn emu512_rows32(QuantType t) { return detail::emu512::rows32_for(t); }
GemmFn emu512_t167d(QuantType t) { return detail::emu512::t167d_for(t); }
}  // namespace as::packed::test

#else

namespace as::packed::test {
bool emu512_available() { return false; }
IsaKernels emu512_kernels(QuantType) { return {}; }
GemmFn emu512_rows8(QuantType) { return nullptr; }
GemmFn emu512_rows32(QuantType) { return nullptr; }
GemmFn emu512_t167d(QuantType) { return nullptr; }
}  // namespace as::packed::test

#endif
