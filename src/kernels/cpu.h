// The SIMD level the torch-free row kernels (attention, rowops) run at on this CPU. The packed
// kernels choose their own (packed.h), under the same environment cap.
#pragma once
#include <string>

namespace as::kernels {

bool cpu_has_avx2();    // AVX2 + FMA + F16C
bool cpu_has_avx512();  // the above and AVX-512 F / BW / VL
// "avx512", "avx2" or "scalar": the widest this CPU runs, capped by ANGELSLIM_PACKED_ISA=scalar|avx2
// (A/B runs of a narrower CPU's code paths). Chosen once per process.
const std::string& row_kernel_isa();

}  // namespace as::kernels
