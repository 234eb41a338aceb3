// Internal plumbing shared by the packed-format codecs and the per-ISA kernels. Not installed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/packed/packed.h"

namespace as::packed::detail {

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------
template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
inline void store_as(void* p, const T& v) {
  std::memcpy(p, &v, sizeof(T));
}
float fp16_load(const uint8_t* p);  // fp16 at p -> fp32

// A non-owning callable reference (no allocation, unlike std::function).
template <class Sig>
class FnRef;
template <class R, class... A>
class FnRef<R(A...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FnRef>>>
  FnRef(F&& f)  // NOLINT(google-explicit-constructor)
      : obj_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, A... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...);
        }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

// Runs fn(task) for every task in [0, n_tasks) on the pool (the calling thread helps). Tasks are
// handed out dynamically. Nested calls from inside a task run inline.
void parallel_for(int64_t n_tasks, FnRef<void(int64_t)> fn);

// Splits [0, n) into chunks of `grain` (rounded to a multiple of `align`) and runs
// fn(begin, end) for each chunk in parallel.
void parallel_ranges(int64_t n, int64_t grain, int64_t align, FnRef<void(int64_t, int64_t)> fn);

// ---------------------------------------------------------------------------------------------
// Activations quantized to int8, per block of `blk` values:
//   d = max|x| / 127, q = clamp(rne(x * (127 / max|x|)), -127, 127), bsum = sum(q).
// The same scalar code serves every ISA, so every kernel sees bit-identical activations.
// ---------------------------------------------------------------------------------------------
struct ActQ8 {
  int64_t M = 0, K = 0, blk = 0, nblk = 0;
  std::vector<int8_t> q;      // [M][K]
  std::vector<float> d;       // [M][nblk]
  std::vector<int32_t> bsum;  // [M][nblk]
  const int8_t* row(int64_t m) const { return q.data() + m * K; }
  const float* drow(int64_t m) const { return d.data() + m * nblk; }
  const int32_t* brow(int64_t m) const { return bsum.data() + m * nblk; }
};
void quantize_act_row(const float* x, int64_t K, int64_t blk, int8_t* q, float* d, int32_t* bsum);
// Quantizes M rows (in parallel over rows when M is large).
void quantize_activations(const float* X, int64_t M, int64_t K, int64_t blk, ActQ8& a);

// ---------------------------------------------------------------------------------------------
// Integer decode used by the scalar reference kernel and the tiled GEMM.
// Every integer type writes each weight as an unsigned code c = v + code_off where the weight is
// v * blk_scale[b] (v an integer, b = k / block_size). Codes are written four at a time ("quads"
// of consecutive k): quad q (k = 4q .. 4q+3) goes to dst + q * quad_stride, so the GEMM can
// interleave rows while decoding.
//   type        v                 code_off   blk_scale
//   q8_g32      qs                128        d
//   q4_g*       q - 8             8          d
//   q4z_g*      q - z             15         d
//   seq2_*      2c - 3            3          s / 2
//   tern2_*     c - 1             1          s
//   tern167_pc  t - 1             1          s
//   sherry125_* u                 1          s
// fp8_pc is not an integer type (decode_fp8 below).
// ---------------------------------------------------------------------------------------------
using DecodeCodesFn = void (*)(const uint8_t* row, int64_t K, uint8_t* dst, int64_t quad_stride, float* blk_scale);
struct TypeImpl {
  int code_off;          // 0 for fp8
  int max_code;          // largest code the decoder writes (bounds the int16 headroom)
  DecodeCodesFn decode;  // nullptr for fp8
};
const TypeImpl& type_impl(QuantType t);

// tern167_pc byte geometry (formats.h): the element (0..255) that trit n (0 = most significant) of
// byte `byte` (0..51) of a block holds, or -1 (the 4-trit bytes 48..51 have no trit 4); the stored
// byte of a base-3 value v (0..242), and back.
int tern167_element(int byte, int n);
uint8_t tern167_scaled(uint8_t v);
uint8_t tern167_value(uint8_t b);
// K 2-bit codes (0..3, K % 128 == 0) -> the 2-bit planes of seq2 / tern2 (32 bytes per 128, formats.h).
void code2_planes(const uint8_t* codes, int64_t K, uint8_t* qs);

// sherry125: the GEMM codes of the 32 group codes c = flip << 4 | slot, four bytes u + 1 (lane 0
// lowest), as TypeImpl::decode writes them.
const uint32_t* sherry_quad_table();
// fp8_pc: e4m3 values (unscaled) of one row; returns the row scale.
float decode_fp8_row(const uint8_t* row, int64_t K, float* out);
// The bf16 bits of every e4m3 byte's value (exact: e4m3 has <= 4 significant bits).
const uint16_t* e4m3_bf16_table();

// Row geometry shared by the kernels.
inline int64_t row_bytes_of(const QuantTypeTraits& tr, int64_t K) {
  return tr.row_header_bytes + (K / tr.block_size) * tr.block_bytes;
}

// ---------------------------------------------------------------------------------------------
// Kernel tables per ISA. Each returns the entry points for a type (all three are filled).
// ---------------------------------------------------------------------------------------------
IsaKernels scalar_kernels(QuantType t);
IsaKernels avx2_kernels(QuantType t);
IsaKernels avx512_kernels(QuantType t);
// rows8 GEMM per ISA (nullptr when the type has none).
GemmFn avx2_rows8(QuantType t);
GemmFn avx512_rows8(QuantType t);
// One decode-layout GEMM (rows8, rows32, t167d), after the layout's own shape checks: checks X and
// M >= 1 (the error names `what`), resolves `isa`, then runs AMX (Isa::Avx512, M >= 8, when
// enabled), else that ISA's layout kernel (avx2 / avx512; nullptr where it has none), else converts
// the matrix back to the row layout with `back` and runs that ISA's row kernel.
using FromLayoutFn = void (*)(QuantType t, const uint8_t* il, int64_t N, int64_t K, uint8_t* rows);
void gemm_layout(const char* what, QuantType t, const uint8_t* il, int64_t N, int64_t K, const float* X, int64_t M,
                 float* Y, Isa isa, GemmFn avx2, GemmFn avx512, FromLayoutFn back);
// AVX-512 VBMI (byte permutes with 64- and 128-entry tables) on top of Isa::Avx512.
bool cpu_has_vbmi();
// tern167_pc GEMM on its digit layout (packed.h), AVX-512 VBMI; nullptr when not compiled in.
GemmFn avx512vbmi_t167d(QuantType t);
// sherry125 GEMM on the rows32 layout with vpermb table lookups, AVX-512 VBMI; nullptr when not
// compiled in. Selected over avx512_rows32 where the CPU has VBMI.
GemmFn avx512vbmi_rows32(QuantType t);
// AMX (tile registers, tdpbsud / tdpbf16ps) on top of Isa::Avx512: the CPU has AMX-TILE, -INT8 and
// -BF16 and the OS granted this process the tile state. When enabled, Isa::Avx512's GEMMs with
// M >= 8 run on AMX (every type, both layouts). Enabled by default when available, unless the
// environment sets ANGELSLIM_AMX=0; set_amx_enabled (tests, benchmarks) switches it for the process
// and returns the previous setting (it cannot enable AMX where it is unavailable).
bool amx_available();
bool amx_enabled();
bool set_amx_enabled(bool on);
// The AMX GEMM of any type on its row layout (interleaved = false) or decode layout; M >= 1.
void avx512_amx_gemm(QuantType t, const uint8_t* W, bool interleaved, int64_t N, int64_t K, const float* X, int64_t M,
                     float* Y);
// rows32 GEMM per ISA (nullptr when the type has none).
GemmFn avx2_rows32(QuantType t);
GemmFn avx512_rows32(QuantType t);
// Row n of a rows8 matrix decoded like TypeImpl::decode (codes q, offset 8; fp16 block scales).
void decode_rows8_row(QuantType t, const uint8_t* rows8, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                      float* blk_scale);
// The same for a rows32 matrix (sherry125), and for whichever interleaved layout t has.
void decode_rows32_row(QuantType t, const uint8_t* rows32, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                       float* blk_scale);
void decode_interleaved_row(QuantType t, const uint8_t* W, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                            float* blk_scale);

// Thread-local scratch that only grows.
template <class T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace as::packed::detail
