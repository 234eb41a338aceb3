#include "kernels/cpu.h"

#include <cstdlib>

namespace as::kernels {

#if defined(__x86_64__)
bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
  return yes;
}
bool cpu_has_avx512() {
  static const bool yes = cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return yes;
}
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
#endif

const std::string& row_kernel_isa() {
  static const std::string best = [] {
    const char* e = std::getenv("ANGELSLIM_PACKED_ISA");
    const std::string cap = e ? e : "";
    if (!cpu_has_avx2() || cap == "scalar") return std::string("scalar");
    if (!cpu_has_avx512() || cap == "avx2") return std::string("avx2");
    return std::string("avx512");
  }();
  return best;
}

}  // namespace as::kernels
