// Packed low-bit weight formats and their CPU matmul kernels (torch-free, raw pointers).
//
// One traits row per QuantType (see formats.h for the byte layouts): block geometry, the reference
// quantizer / dequantizer, and dot / GEMV / GEMM entry points for each ISA (scalar, AVX2,
// AVX-512). The public functions below validate their arguments (throwing as::Error that names
// the type and the shape) and then dispatch; the traits' function pointers do no validation.
//
// Kernels: activations are quantized once per row to int8 in blocks of the weight type's block
// size (scale = max|x| / 127, round to nearest even) and multiplied with integer dot products
// (AVX2 vpmaddubsw, AVX-512 VNNI vpdpbusd); fp8_pc and f16 instead convert the weights and run
// fp32 FMAs on the fp32 activations. M == 1 (decode) uses fused decode+dot GEMV kernels; large M uses
// a tiled GEMM that decodes each tile of weight rows once. Output rows are split over a small
// thread pool (2 threads unless set_num_threads says otherwise). On CPUs with AMX, Isa::Avx512's
// GEMMs with M >= 8 run on AMX tiles (simd_amx.inc): the same int8 activations and exact integer
// sums for the integer types; for fp8_pc bf16 tiles, i.e. activations rounded to bf16 there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace as::packed {

enum class QuantType : uint8_t {
  Q8_G32,
  Q4_G32,
  Q4_G128,
  Q4Z_G32,
  Q4Z_G128,
  FP8_PC,
  SEQ2_G128,
  SEQ2_PC,
  TERN2_G128,
  TERN2_PC,
  TERN167_PC,
  SHERRY125_G128,
  SHERRY125_PC,
  F16,
};
constexpr int kNumQuantTypes = 14;

enum class Isa : uint8_t { Scalar = 0, Avx2 = 1, Avx512 = 2, Best = 3 };
constexpr int kNumIsas = 3;  // Scalar, Avx2, Avx512 (Best resolves to one of them)

// One packed row (K weights) -> y = sum_k w[k] * x[k].
using DotFn = float (*)(const uint8_t* row, const float* x, int64_t K);
// y[N] = W[N, K] . x[K].
using GemvFn = void (*)(const uint8_t* W, int64_t N, int64_t K, const float* x, float* y);
// Y[M, N] = X[M, K] . W[N, K]^T (row-major X and Y).
using GemmFn = void (*)(const uint8_t* W, int64_t N, int64_t K, const float* X, int64_t M, float* Y);
// Reference codecs for one row of K weights.
using QuantizeRowFn = void (*)(const float* w, int64_t K, uint8_t* out);
using DequantizeRowFn = void (*)(const uint8_t* row, int64_t K, float* out);

struct IsaKernels {
  DotFn dot = nullptr;
  GemvFn gemv = nullptr;
  GemmFn gemm = nullptr;
};

struct QuantTypeTraits {
  QuantType type;
  const char* name;         // e.g. "tern2_g128"
  const char* description;  // one line
  int block_size;           // weights per block; K must be a multiple of it
  int block_bytes;          // bytes per block
  int row_header_bytes;     // 4 (fp32 row scale) for per-channel types, else 0
  double bits_per_weight;   // 8 * block_bytes / block_size (the row header is not included)
  QuantizeRowFn quantize_row;
  DequantizeRowFn dequantize_row;
  IsaKernels kernels[kNumIsas];  // indexed by Isa::Scalar / Avx2 / Avx512
};

// ---- type table ----
const QuantTypeTraits& quant_type(QuantType t);
const std::vector<QuantTypeTraits>& quant_types();  // every row, in enum order
// Throws as::Error listing the known names.
QuantType quant_type_from_name(std::string_view name);
std::string quant_type_names();  // "q8_g32, q4_g32, ..."

// Bytes of one packed row / a whole N x K matrix. Throws if K is not a multiple of the block size.
size_t packed_row_bytes(QuantType t, int64_t K);
size_t packed_bytes(QuantType t, int64_t N, int64_t K);
// Effective bits per weight of a row of length K (row header included).
double bits_per_weight(QuantType t, int64_t K);

// ---- reference codecs (whole matrix, row by row) ----
void quantize_rows(QuantType t, const float* W, int64_t N, int64_t K, uint8_t* out);
void dequantize_rows(QuantType t, const uint8_t* packed, int64_t N, int64_t K, float* out);

// ---- matmul ----
// Y[M, N] = X[M, K] . W^T with W the packed N x K matrix. M == 1 is GEMV.
void gemm(QuantType t, const uint8_t* packed, int64_t N, int64_t K, const float* X, int64_t M, float* Y,
          Isa isa = Isa::Best);
void gemv(QuantType t, const uint8_t* packed, int64_t N, int64_t K, const float* x, float* y, Isa isa = Isa::Best);
float dot(QuantType t, const uint8_t* row, const float* x, int64_t K, Isa isa = Isa::Best);

// ---- 8-row interleaved layout ("rows8") of the int4 types, for decode ----
// A permutation of the row layout's 4-byte words (same size): rows are taken in groups of 8 and stored
// block by block; group-block (g, b) holds the 8 rows' fp16 scales (16 bytes), then for each
// 32-weight sub-block s four 32-byte vectors U[i] whose bytes 4r..4r+3 carry row r's weights
// k = 32s + 4i + t (low nibble) and k = 32s + 16 + 4i + t (high nibble), t = 0..3. One vector
// load then serves 8 rows, so the GEMV keeps 8 output rows in the lanes of one register and
// needs no horizontal sums. Supported: q4_g32, q4_g128 (N % 8 == 0). llama.cpp does the same at
// load for Q4_0 (its Q4_0x8 repacking).
bool rows8_supported(QuantType t);
void to_rows8(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out);
void from_rows8(QuantType t, const uint8_t* rows8, int64_t N, int64_t K, uint8_t* out);
// Y[M, N] = X[M, K] . W^T with W in the rows8 layout (same results as gemm on the row layout up
// to the order of fp32 additions; the scalar ISA converts back and runs the scalar reference).
void gemm_rows8(QuantType t, const uint8_t* rows8, int64_t N, int64_t K, const float* X, int64_t M, float* Y,
                Isa isa = Isa::Best);

// ---- 32-row transposed layout ("rows32") of sherry125, for the table-lookup decode GEMV ----
// A permutation of the row layout's bytes (same size): rows are taken in groups of 32. A group
// starts with the 32 fp32 row scales (sherry125_pc), then holds its blocks in order; group-block b
// is [the 32 rows' fp16 scales (sherry125_g128 only, 64 bytes)] then 640 bytes holding byte v of
// row r's block b (formats.h: v 0..15 = qs, 16..19 = sg) at
//   v < 16:  64 * (v / 2) + 32 * (r / 16) + 16 * (v % 2) + r % 16
//   v >= 16: 512 + 32 * (v - 16) + r.
// So 32 bytes hold the slot nibbles of two consecutive 4-weight groups (and of those + 16) for 16
// rows: the GEMV looks up each group's 16 possible dot products with its 4 activations (a table
// built once per call, T-MAC style) for 16-32 rows per byte shuffle. Needs N % 32 == 0.
bool rows32_supported(QuantType t);
void to_rows32(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out);
void from_rows32(QuantType t, const uint8_t* rows32, int64_t N, int64_t K, uint8_t* out);
// Y[M, N] = X[M, K] . W^T with W in the rows32 layout (the scalar ISA converts back).
void gemm_rows32(QuantType t, const uint8_t* rows32, int64_t N, int64_t K, const float* X, int64_t M, float* Y,
                 Isa isa = Isa::Best);

// ---- tern167_pc's digit layout ("t167d"), for the AVX-512 VBMI decode GEMV ----
// The row layout with every base-3 byte holding v = t0*81 + t1*27 + t2*9 + t3*3 + t4 itself instead
// of its scaled form ceil(v * 256 / 243) (same size; the row scale stays first). The kernel takes t0
// from two compares and t1..t4 from 81-entry tables of v - 81*t0 (vpermi2b). Used by the runtime
// only when the CPU has AVX512_VBMI; gemm_interleaved on other ISAs converts back per call.

// ---- whichever decode layout a type has (rows8: q4_g32/q4_g128, rows32: sherry125, t167d) ----
// Rows per group of the layout: 8, 32, 1 (tern167_pc, a per-row re-encoding, reported only when the
// best ISA is AVX-512 with VBMI), or 0 when the type has none (or none that pays here).
int interleave_rows(QuantType t);
void to_interleaved(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out);
void from_interleaved(QuantType t, const uint8_t* il, int64_t N, int64_t K, uint8_t* out);
// Y[M, N] = X[M, K] . W^T with W in the type's decode layout (where an ISA has no kernel for it, the
// matrix is converted back and that ISA's row kernel runs).
void gemm_interleaved(QuantType t, const uint8_t* il, int64_t N, int64_t K, const float* X, int64_t M, float* Y,
                      Isa isa = Isa::Best);

// ---- running a type as another (an exact re-encoding at load) ----
// tern167_pc's base-3 bytes (1.625 bpw) cost more to decode than reading 2 bits per weight, except
// with the AVX-512 VBMI digit kernel (t167d above): on CPUs without it the lean runtime re-encodes
// tern167_pc rows as tern2_pc (the same trits and row scale, so the same values; 23% more bytes read
// per token, and the faster 2-bit kernels). Every other type runs as itself.
// run_type: the type t's weights run as on `isa` (t itself, or TERN2_PC for TERN167_PC there).
// recode_target: the type t can be re-encoded into exactly (t itself when none).
QuantType run_type(QuantType t, Isa isa = Isa::Best);
QuantType recode_target(QuantType t);
// N rows of `from` -> N rows of recode_target(from) (throws for any other pair, or a K the types
// cannot hold); dst holds packed_bytes(to, N, K).
void recode_rows(QuantType from, QuantType to, const uint8_t* src, int64_t N, int64_t K, uint8_t* dst);

// ---- ISA ----
bool isa_available(Isa isa);  // Best and Scalar are always available
Isa best_isa();               // the widest available (env ANGELSLIM_PACKED_ISA=scalar|avx2 caps it, and attention's)
// Whether Isa::Avx512's GEMMs with M >= 8 run on AMX tiles in this process (the CPU has AMX, the OS
// granted it, and ANGELSLIM_AMX=0 did not switch it off).
bool amx_gemm_enabled();
Isa resolve_isa(Isa isa);     // Best -> best_isa(); throws if `isa` is not available
const char* isa_name(Isa isa);
Isa isa_from_name(std::string_view name);  // "scalar", "avx2", "avx512", "best"

// ---- threads ----
void set_num_threads(int n);  // >= 1; default 2
int num_threads();

// Read bandwidth of main memory in GB/s (1e9 bytes/s): num_threads() threads stream a buffer of
// `bytes` (default 256 MiB, far above any LLC here); best of `reps` passes.
double measure_read_bandwidth_gbs(size_t bytes = size_t(256) << 20, int reps = 3);
// The probe's read loop on caller memory: sums `bytes` bytes as little-endian uint64 words (a
// trailing partial word is zero-padded) with num_threads() threads. Lets a benchmark time a pure
// read of exactly the bytes a kernel reads, under the same conditions.
uint64_t stream_read_sum(const void* data, size_t bytes);

}  // namespace as::packed
