// Public entry points: argument validation, ISA detection and dispatch, the bandwidth probe.
#include "kernels/packed/packed.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "kernels/packed/internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace as::packed {
namespace {

// ---- ISA detection (cpuid + the OS's saved register state) ----
struct CpuFeatures {
  bool avx2 = false, avx512 = false, vbmi = false, amx = false;
};

bool request_amx_permission() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave) return f;
  unsigned xlo, xhi;
  __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool os_avx = (xlo & 0x6u) == 0x6u;       // SSE + AVX state
  const bool os_avx512 = (xlo & 0xE6u) == 0xE6u;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  const bool vnni = c & (1u << 11);
  f.avx2 = os_avx && avx2 && fma && f16c;
  f.avx512 = f.avx2 && os_avx512 && avx512f && avx512bw && avx512vl && vnni;
  f.vbmi = f.avx512 && (c & (1u << 1));  // AVX512_VBMI (vpermb / vpermi2b)
  // AMX-BF16, AMX-TILE, AMX-INT8 (edx bits 22, 24, 25), then the OS: the tile data state must be
  // requested per process (Linux >= 5.16) and enabled in XCR0 (bits 17, 18).
  const bool amx_cpu = f.avx512 && (d & (1u << 22)) && (d & (1u << 24)) && (d & (1u << 25));
  if (amx_cpu && request_amx_permission()) {
    __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    f.amx = (xlo & 0x60000u) == 0x60000u;
  }
#endif
  return f;
}

const CpuFeatures& cpu() {
  static const CpuFeatures f = detect();
  return f;
}

const QuantTypeTraits& checked_traits(QuantType t) {
  const int i = int(t);
  as::check(i >= 0 && i < kNumQuantTypes, "packed: unknown quant type id " + std::to_string(i));
  return quant_types()[size_t(i)];
}

std::string shape_str(int64_t N, int64_t K) { return "N=" + std::to_string(N) + ", K=" + std::to_string(K); }

void check_k(const QuantTypeTraits& tr, int64_t K, const char* what, const std::string& shape) {
  as::check(K > 0 && K % tr.block_size == 0, std::string("packed ") + what + ": type " + tr.name +
                                                 " needs K to be a positive multiple of " +
                                                 std::to_string(tr.block_size) + " (" + shape + ")");
}

// Hot path (every GEMV): builds the message only when something is wrong.
void check_matmul(const QuantTypeTraits& tr, const char* what, const uint8_t* W, int64_t N, int64_t K, const float* X,
                  int64_t M, const float* Y) {
  if (K > 0 && K % tr.block_size == 0 && N >= 1 && M >= 1 && W && X && Y) return;
  const std::string shape = "M=" + std::to_string(M) + ", " + shape_str(N, K);
  check_k(tr, K, what, shape);
  as::check(N >= 1 && M >= 1,
            std::string("packed ") + what + ": type " + tr.name + " needs N >= 1 and M >= 1 (" + shape + ")");
  throw as::Error(std::string("packed ") + what + ": type " + tr.name + " got a null pointer (" + shape + ")");
}

}  // namespace

const QuantTypeTraits& quant_type(QuantType t) { return checked_traits(t); }

std::string quant_type_names() {
  std::string s;
  for (const auto& tr : quant_types()) s += (s.empty() ? "" : ", ") + std::string(tr.name);
  return s;
}

QuantType quant_type_from_name(std::string_view name) {
  for (const auto& tr : quant_types())
    if (name == tr.name) return tr.type;
  throw as::Error("packed: unknown quant type '" + std::string(name) + "' (known: " + quant_type_names() + ")");
}

size_t packed_row_bytes(QuantType t, int64_t K) {
  const QuantTypeTraits& tr = checked_traits(t);
  check_k(tr, K, "packed_row_bytes", "K=" + std::to_string(K));
  return size_t(detail::row_bytes_of(tr, K));
}

size_t packed_bytes(QuantType t, int64_t N, int64_t K) {
  as::check(N >= 0, "packed_bytes: negative N (" + shape_str(N, K) + ")");
  return size_t(N) * packed_row_bytes(t, K);
}

double bits_per_weight(QuantType t, int64_t K) { return 8.0 * double(packed_row_bytes(t, K)) / double(K); }

void quantize_rows(QuantType t, const float* W, int64_t N, int64_t K, uint8_t* out) {
  const QuantTypeTraits& tr = checked_traits(t);
  check_k(tr, K, "quantize_rows", shape_str(N, K));
  as::check(N >= 0 && (N == 0 || (W && out)), std::string("packed quantize_rows: type ") + tr.name +
                                                  " got a null pointer or negative N (" + shape_str(N, K) + ")");
  const int64_t rb = detail::row_bytes_of(tr, K);
  detail::parallel_ranges(N, 16, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) tr.quantize_row(W + n * K, K, out + n * rb);
  });
}

void dequantize_rows(QuantType t, const uint8_t* packed, int64_t N, int64_t K, float* out) {
  const QuantTypeTraits& tr = checked_traits(t);
  check_k(tr, K, "dequantize_rows", shape_str(N, K));
  as::check(N >= 0 && (N == 0 || (packed && out)), std::string("packed dequantize_rows: type ") + tr.name +
                                                       " got a null pointer or negative N (" + shape_str(N, K) + ")");
  const int64_t rb = detail::row_bytes_of(tr, K);
  detail::parallel_ranges(N, 64, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) tr.dequantize_row(packed + n * rb, K, out + n * K);
  });
}

bool detail::cpu_has_vbmi() { return cpu().vbmi; }
bool detail::amx_available() { return cpu().amx; }

namespace {
std::atomic<bool>& amx_switch() {
  static std::atomic<bool> on{[] {
    const char* e = std::getenv("ANGELSLIM_AMX");
    return cpu().amx && !(e && std::string_view(e) == "0");
  }()};
  return on;
}
}  // namespace

bool detail::amx_enabled() { return amx_switch().load(std::memory_order_relaxed); }
bool detail::set_amx_enabled(bool on) { return amx_switch().exchange(on && cpu().amx); }
bool amx_gemm_enabled() { return detail::amx_enabled(); }

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
    case Isa::Best:
      return true;
    case Isa::Avx2:
      return cpu().avx2;
    case Isa::Avx512:
      return cpu().avx512;
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    Isa b = cpu().avx512 ? Isa::Avx512 : cpu().avx2 ? Isa::Avx2 : Isa::Scalar;
    // ANGELSLIM_PACKED_ISA=scalar|avx2|avx512 caps the choice (for comparisons and debugging).
    if (const char* e = std::getenv("ANGELSLIM_PACKED_ISA")) {
      const Isa cap = isa_from_name(e);
      if (cap != Isa::Best && int(cap) < int(b)) b = cap;
    }
    return b;
  }();
  return best;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    case Isa::Best:
      return "best";
  }
  return "?";
}

Isa isa_from_name(std::string_view name) {
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Best})
    if (name == isa_name(i)) return i;
  throw as::Error("packed: unknown ISA '" + std::string(name) + "' (known: scalar, avx2, avx512, best)");
}

Isa resolve_isa(Isa isa) {
  if (isa == Isa::Best) return best_isa();
  as::check(int(isa) < kNumIsas, "packed: bad ISA id " + std::to_string(int(isa)));
  as::check(isa_available(isa), std::string("packed: ISA ") + isa_name(isa) + " is not supported by this CPU");
  return isa;
}

void gemm(QuantType t, const uint8_t* packed, int64_t N, int64_t K, const float* X, int64_t M, float* Y, Isa isa) {
  const QuantTypeTraits& tr = checked_traits(t);
  check_matmul(tr, "gemm", packed, N, K, X, M, Y);
  const IsaKernels& k = tr.kernels[int(resolve_isa(isa))];
  if (M == 1)
    k.gemv(packed, N, K, X, Y);
  else
    k.gemm(packed, N, K, X, M, Y);
}

void gemv(QuantType t, const uint8_t* packed, int64_t N, int64_t K, const float* x, float* y, Isa isa) {
  const QuantTypeTraits& tr = checked_traits(t);
  check_matmul(tr, "gemv", packed, N, K, x, 1, y);
  tr.kernels[int(resolve_isa(isa))].gemv(packed, N, K, x, y);
}

float dot(QuantType t, const uint8_t* row, const float* x, int64_t K, Isa isa) {
  const QuantTypeTraits& tr = checked_traits(t);
  float y = 0.0f;
  check_matmul(tr, "dot", row, 1, K, x, 1, &y);
  return tr.kernels[int(resolve_isa(isa))].dot(row, x, K);
}

// ---- read bandwidth ----
namespace {

uint64_t sum_scalar(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint64_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i* v = reinterpret_cast<const __m256i*>(p + i);
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(v));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(v + 1));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(v + 2));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(v + 3));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t t[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t), s);
  return t[0] + t[1] + t[2] + t[3] + sum_scalar(p + i, n - i);
}
#endif

uint64_t sum_words(const uint64_t* p, size_t n) {
#if defined(__x86_64__)
  if (isa_available(Isa::Avx2)) return sum_avx2(p, n);
#endif
  return sum_scalar(p, n);
}

}  // namespace

uint64_t stream_read_sum(const void* data, size_t bytes) {
  as::check(data != nullptr || bytes == 0, "stream_read_sum: null buffer");
  const size_t words = bytes / 8;
  const uint64_t* p = static_cast<const uint64_t*>(data);
  std::atomic<uint64_t> total{0};
  // 64 KiB chunks handed out dynamically (like the kernels' row chunks).
  const size_t chunk = 8192;
  detail::parallel_for(int64_t((words + chunk - 1) / chunk), [&](int64_t c) {
    const size_t b = size_t(c) * chunk;
    total.fetch_add(sum_words(p + b, std::min(chunk, words - b)), std::memory_order_relaxed);
  });
  uint64_t tail = 0;
  std::memcpy(&tail, static_cast<const uint8_t*>(data) + words * 8, bytes % 8);
  return total.load() + tail;
}

double measure_read_bandwidth_gbs(size_t bytes, int reps) {
  as::check(bytes >= (size_t(1) << 20) && reps >= 1, "measure_read_bandwidth_gbs: needs >= 1 MiB and reps >= 1");
  const size_t n = bytes / 64 * 8;  // uint64 words, whole cache lines
  struct Free {
    void operator()(uint64_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint64_t, Free> buf(static_cast<uint64_t*>(std::aligned_alloc(64, n * 8)));
  as::check(buf != nullptr, "measure_read_bandwidth_gbs: out of memory");
  uint64_t* p = buf.get();
  // Make the pages real (touched from the pool's threads).
  detail::parallel_ranges(int64_t(n), 1 << 16, 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = uint64_t(i);
  });
  uint64_t sink = 0;
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    sink += stream_read_sum(p, n * 8);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(n * 8) / sec / 1e9);
  }
  return sink == 0x5eed ? best + 1e-12 : best;  // keeps the sums alive
}

}  // namespace as::packed
