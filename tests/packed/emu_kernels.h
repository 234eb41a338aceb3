// The AVX-512 kernel source compiled against a portable emulation of the intrinsics (SIMDe), so
// that its results can be checked on CPUs without AVX-512. Test-only.
#pragma once
#include "kernels/packed/packed.h"

namespace as::packed::test {
bool emu512_available();  // false when SIMDe was not found at build time
IsaKernels emu512_kernels(QuantType t);
GemmFn emu512_rows8(QuantType t);   // nullptr when unavailable
GemmFn emu512_rows32(QuantType t);  // nullptr when unavailable
GemmFn emu512_t167d(QuantType t);   // tern167 digit layout (VBMI); nullptr when unavailable
}  // namespace as::packed::test
