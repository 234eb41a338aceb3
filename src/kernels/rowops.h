// Per-row elementwise ops of the lean runtime's layer loop (torch-free): RMSNorm and the SwiGLU
// product. Each has a scalar reference (the tests' oracle) and an AVX2+FMA version; the plain
// names dispatch to the widest this CPU runs (cpu.h, chosen once). They agree with the reference
// to float rounding (the tests bound the difference), not bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace as::kernels {

// out[i] = x[i] * r * w[i], r = 1 / sqrt(sum(x^2) / n + eps), the sum in double. out may be x.
void rmsnorm_ref(const float* x, const float* w, int64_t n, float eps, float* out);
// out[i] = silu(g[i]) * u[i], silu(g) = g / (1 + e^-g). out may be g or u.
void silu_mul_ref(const float* g, const float* u, int64_t n, float* out);

void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* out);
void silu_mul(const float* g, const float* u, int64_t n, float* out);

// The implementations this CPU runs ("scalar" first, the dispatched one last), and one of them by
// name (throws as::Error naming an unknown or unsupported one): for tests and benchmarks.
std::vector<std::string> rowops_isas();
void rmsnorm_with(const std::string& isa, const float* x, const float* w, int64_t n, float eps, float* out);
void silu_mul_with(const std::string& isa, const float* g, const float* u, int64_t n, float* out);

}  // namespace as::kernels
