// ggml block quantization formats, byte-exact with ggml's reference (non-imatrix) quantizers
// (`quantize_row_*_ref`) and its dequantizers. Torch-free.
//
// Layouts (all little-endian, fp16 scales stored as IEEE half bits):
//   Q8_0  32 elems / 34 B : d, qs[32]                        y = qs*d
//   Q4_0  32 elems / 18 B : d, qs[16] (lo nibble j, hi j+16) y = (q-8)*d
//   Q2_K 256 elems / 84 B : scales[16] (lo 4b scale, hi 4b min), qs[64], d, dmin
//   Q4_K 256 elems /144 B : d, dmin, scales[12] (6-bit scale/min pairs), qs[128]
//   Q6_K 256 elems /210 B : ql[128], qh[64], scales[16] (int8), d
//   TQ1_0 256 elems / 54 B: qs[48] (5 trits/byte, base 3), qh[4] (4 trits/byte), d
//   TQ2_0 256 elems / 66 B: qs[64] (2-bit codes 0,1,2 -> -1,0,+1), d
//   STQ1_0 256 elems / 42 B: qs[32] (4-bit slots), sign[8], d   (experimental; see below)
//
// Rounding follows ggml exactly: nearest_int() (round half to even via the 1.5*2^23 trick) in the
// K-quants, roundf/lroundf (half away from zero) in Q8_0 and TQ*, truncation after +8.5 in Q4_0,
// fp32->fp16 round-to-nearest-even. This translation unit must be compiled without floating-point
// contraction (FMA) for the K-quant searches to reproduce ggml's bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace as::gguf {

constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
constexpr int kQK_K = 256;
constexpr int kKScaleSize = 12;

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block must be 84 bytes");

struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes");

struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes");

struct BlockTQ1_0 {
  uint8_t qs[(kQK_K - 4 * kQK_K / 64) / 5];
  uint8_t qh[kQK_K / 64];
  uint16_t d;
};
static_assert(sizeof(BlockTQ1_0) == 54, "TQ1_0 block must be 54 bytes");

struct BlockTQ2_0 {
  uint8_t qs[kQK_K / 4];
  uint16_t d;
};
static_assert(sizeof(BlockTQ2_0) == 66, "TQ2_0 block must be 66 bytes");

// STQ1_0 (llama.cpp pull request #22836, not merged; EXPERIMENTAL): 3:4 sparse ternary, the GGUF
// packing of AngelSlim's 1.25-bit Sherry models. 64 groups of 4 consecutive weights (group g = weights
// 4g..4g+3 of the block); in each group one lane is 0 and three are +-d. Code per group: 4-bit slot
// = (zero_lane << 2) | tail (the pattern normalized so its first non-zero lane is +1; tail bit 0 / 1
// = the 2nd / 3rd non-zero lane is -1) in qs[g / 2] (low nibble for even g, high for odd g), and a
// sign bit (the first non-zero lane is really -1: all three flipped) at sign[g / 8] bit g % 8.
// d = fp16(max |x| of the block). The quantizer zeroes the smallest |x| of each group (the first
// on ties) and keeps the sign of the others (x < 0 -> -1, else +1).
struct BlockSTQ1_0 {
  uint8_t qs[kQK_K / 8];
  uint8_t sign[kQK_K / 32];
  uint16_t d;
};
static_assert(sizeof(BlockSTQ1_0) == 42, "STQ1_0 block must be 42 bytes");

// ggml's rounding helpers.
// Round to nearest, ties to even, for |f| <= 4194303 (adds 1.5*2^23 and reads the mantissa).
int nearest_int(float f);
// Symmetric signed quantizer used by Q6_K/Q3_K: levels L[i] in [0, 2*nmax), returns the scale.
// rmse_type 0: plain; 1..4: weighted least squares refinement over 18 candidate scales.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);
// Asymmetric (scale, min) quantizer used by Q2_K/Q4_K/Q5_K: L[i] in [0, nmax], *the_min = -min >= 0.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);
// Unpacks the 6-bit (scale, min) pair j (0..7) of a Q4_K/Q5_K `scales[12]` array.
void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m);

// Row codecs: k elements (a multiple of the block size), nb = k / block blocks.
void quantize_row_q8_0_ref(const float* x, BlockQ8_0* y, int64_t k);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k);
void quantize_row_q4_0_ref(const float* x, BlockQ4_0* y, int64_t k);
void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k);
void quantize_row_q2_K_ref(const float* x, BlockQ2_K* y, int64_t k);
void dequantize_row_q2_K(const BlockQ2_K* x, float* y, int64_t k);
void quantize_row_q4_K_ref(const float* x, BlockQ4_K* y, int64_t k);
void dequantize_row_q4_K(const BlockQ4_K* x, float* y, int64_t k);
void quantize_row_q6_K_ref(const float* x, BlockQ6_K* y, int64_t k);
void dequantize_row_q6_K(const BlockQ6_K* x, float* y, int64_t k);
void quantize_row_tq1_0_ref(const float* x, BlockTQ1_0* y, int64_t k);
void dequantize_row_tq1_0(const BlockTQ1_0* x, float* y, int64_t k);
void quantize_row_tq2_0_ref(const float* x, BlockTQ2_0* y, int64_t k);
void dequantize_row_tq2_0(const BlockTQ2_0* x, float* y, int64_t k);
void quantize_row_stq1_0_ref(const float* x, BlockSTQ1_0* y, int64_t k);
void dequantize_row_stq1_0(const BlockSTQ1_0* x, float* y, int64_t k);
// The four lanes (-1, 0, +1) of STQ1_0 code (sign << 4) | slot.
void stq1_0_lanes(int code, int* u);

}  // namespace as::gguf
