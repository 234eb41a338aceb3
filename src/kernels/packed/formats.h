// Byte layouts of the packed weight formats. Each weight matrix W[N, K] (N output channels, K input
// features, row-major as in PyTorch) is stored row by row; a row never shares bytes with another:
//
//   row = [row header] block[0] block[1] ... block[K/B - 1]
//
// B is the type's block size (weights per block). The row header exists only for per-channel
// ("_pc") types: one little-endian fp32 scale for the whole row. All multi-byte fields are
// little-endian; fp16 is IEEE binary16. Rows are not padded, so blocks may sit at any address:
// code reads them with memcpy (or unaligned vector loads), never by dereferencing a Block*.
//
// Element numbering below is within the block: element e of block b is weight k = b*B + e.
// "value" is the dequantized fp32 weight.
//
//   type             B    bytes  bpw     value
//   q8_g32           32   34     8.5     qs[e] * d                           (== GGUF Q8_0)
//   q4_g32           32   18     4.5     (q[e] - 8) * d                      (== GGUF Q4_0)
//   q4_g128          128  66     4.125   (q[e] - 8) * d
//   q4z_g32          32   20     5.0     (q[e] - z) * d
//   q4z_g128         128  68     4.25    (q[e] - z) * d
//   fp8_pc           16   16     8+hdr   e4m3(q[e]) * row_scale
//   seq2_g128        128  34     2.125   (c[e] - 1.5) * d      c in 0..3
//   seq2_pc          128  32     2+hdr   (c[e] - 1.5) * row_scale
//   tern2_g128       128  34     2.125   (c[e] - 1) * d        c in 0..2
//   tern2_pc         128  32     2+hdr   (c[e] - 1) * row_scale
//   tern167_pc       256  52     1.625+h (t[e] - 1) * row_scale  t in 0..2 (base-3 packed)
//   sherry125_g128   128  22     1.375   u[e] * d              u in {-1,0,1}, 3:4 sparse
//   sherry125_pc     128  20     1.25+h  u[e] * row_scale
//   f16              16   32     16      h[e]                  IEEE half (== GGUF F16)
//
// "+hdr": plus 32 bits per row (the fp32 row scale), i.e. + 32/K bpw.
#pragma once
#include <cstdint>

namespace as::packed {

// Per-channel types start every row with this header.
struct RowHeader {
  float scale;
};
static_assert(sizeof(RowHeader) == 4);

// ---- q8_g32: int8 symmetric, group 32, fp16 scale. Byte-identical to GGUF Q8_0. ----
// value[e] = qs[e] * fp16(d).
struct BlockQ8G32 {
  uint16_t d;     // fp16 scale
  int8_t qs[32];  // qs[e] in [-127, 127]
};
static_assert(sizeof(BlockQ8G32) == 34);

// ---- q4 nibble sub-block (shared by q4_g32 / q4_g128 / q4z_*) ----
// 32 weights in 16 bytes: byte j (0..15) holds element j in its low nibble and element j+16 in its
// high nibble (the GGUF Q4_0 order). A 128-group block is four such sub-blocks back to back:
// element e lives in sub-block e/32.

// ---- q4_g32: int4 symmetric, group 32. Byte-identical to GGUF Q4_0. ----
// value[e] = (q[e] - 8) * fp16(d), q in 0..15. GPTQ/AWQ symmetric results (zero point 8) load
// into this layout exactly.
struct BlockQ4G32 {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4G32) == 18);

// ---- q4_g128: as q4_g32 with 128 weights per scale (four nibble sub-blocks). ----
struct BlockQ4G128 {
  uint16_t d;
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ4G128) == 66);

// ---- q4z_g32 / q4z_g128: int4 asymmetric with an explicit integer zero point per group. ----
// value[e] = (q[e] - z) * fp16(d), q and z in 0..15 (GPTQ/AWQ asymmetric: scale + zero per group).
// `reserved` is written as 0 and ignored on read.
struct BlockQ4ZG32 {
  uint16_t d;
  uint8_t z;
  uint8_t reserved;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4ZG32) == 20);

struct BlockQ4ZG128 {
  uint16_t d;
  uint8_t z;
  uint8_t reserved;
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ4ZG128) == 68);

// ---- fp8_pc: OCP E4M3FN weights with one fp32 scale per output channel (RowHeader). ----
// value[e] = e4m3_to_f32(q[e]) * row_scale. The 16-weight block only fixes the K granularity.
// The NaN codes 0x7F / 0xFF are never written; the SIMD kernels would read them as +-480.
struct BlockFp8 {
  uint8_t q[16];
};
static_assert(sizeof(BlockFp8) == 16);

// ---- 2-bit code plane for 128 weights (seq2_*, tern2_*) ----
// Byte m (0..31), bit pair n (bits 2n..2n+1, n = 0..3) holds the code of element 32n + m
// (the GGUF TQ2_0 order within 128 weights, low bits first).
//   seq2:  value = (c - 1.5) * s, c in 0..3 -> levels {-1.5, -0.5, 0.5, 1.5} * s. (AngelSlim's SEQ
//          2-bit quantizer writes its levels as {-0.75, -0.25, 0.25, 0.75} * s_seq, so s = s_seq / 2.)
//   tern2: value = (c - 1) * s,   c in 0..2 -> {-1, 0, +1} * s; code 3 is never written.
struct Block2bG128 {
  uint16_t d;  // fp16 group scale s
  uint8_t qs[32];
};
static_assert(sizeof(Block2bG128) == 34);

struct Block2b {  // per-channel variant: the scale is the row header
  uint8_t qs[32];
};
static_assert(sizeof(Block2b) == 32);

// ---- tern167_pc: ternary, base-3 packed, 256 weights in 52 bytes (1.625 bpw) ----
// Trits t = w/s + 1 in {0, 1, 2}. A byte holds up to 5 trits, most significant first:
//   v = t0*81 + t1*27 + t2*9 + t3*3 + t4 (0..242), stored as ceil(v * 256 / 243).
// Trit n of byte b decodes as ((uint8_t)(b * 3^n) * 3) >> 8. Bytes 48..51 hold 4 trits each
// (v = (t0*27 + t1*9 + t2*3 + t3) * 3, then the same scaling), decoded for n = 0..3.
// Element numbering (chosen so that 16-bit SIMD lanes decode into natural order):
//   bytes  0..31, trit n: element      16*(2n + (j&1)) + (j>>1)   with j = byte       (0..159)
//   bytes 32..47, trit n: element 160 + 8*(2n + (j&1)) + (j>>1)   with j = byte - 32  (160..239)
//   bytes 48..51, trit n: element 240 + 4n + j                    with j = byte - 48  (240..255)
struct BlockTern167 {
  uint8_t qs[52];
};
static_assert(sizeof(BlockTern167) == 52);

// ---- sherry125: 3:4 sparse ternary (Sherry), 5 bits per group of 4 weights ----
// Group g (0..31) covers elements 4g .. 4g+3 (lane p = element 4g + p). Exactly one lane is 0,
// the other three are +-1. Code = 4-bit slot + 1 flip bit (the STQ1_0 code of llama.cpp #22836):
//   slot = (zero_lane << 2) | tail, with the pattern normalized so that its first non-zero lane is
//   +1; tail bit 0 = 1 if the 2nd non-zero lane is negative, tail bit 1 = 1 if the 3rd is;
//   flip = 1 if the first non-zero lane is really -1 (all three signs flipped).
// Placement (differs from STQ1_0, which interleaves nibbles by even/odd group):
//   qs[i] (i 0..15): low nibble = slot of group i, high nibble = slot of group i + 16
//   sg[0..3] as a little-endian u32: bit g = flip of group g
// value = u * s, s = fp16 d (g128) or the row scale (pc).
struct BlockSherryG128 {
  uint16_t d;
  uint8_t qs[16];
  uint8_t sg[4];
};
static_assert(sizeof(BlockSherryG128) == 22);

struct BlockSherry {
  uint8_t qs[16];
  uint8_t sg[4];
};
static_assert(sizeof(BlockSherry) == 20);

// ---- f16: IEEE binary16 weights, no scale (GGUF F16 rows, used in place). ----
// value[e] = half_to_float(h[e]); the 16-weight block only fixes the K granularity.
struct BlockF16 {
  uint16_t h[16];
};
static_assert(sizeof(BlockF16) == 32);

}  // namespace as::packed
