// ggml tensor element types as stored in GGUF files: ids, block geometry and codecs, in ONE table.
// Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace as::gguf {

// On-disk ggml_type ids (stable). Removed ids (4, 5, 31-33, 36-38) are absent on purpose.
enum class GGMLType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
  // EXPERIMENTAL, not in upstream ggml: Sherry's 1.25-bit packing from llama.cpp pull request #22836
  // (quants.h). The released Hy-MT 1.25-bit GGUFs tag it 42, which upstream has since given to Q2_0;
  // later revisions of the pull request use 43, as we do. Only builds of that branch load it.
  STQ1_0 = 43,
};

// Quantizes / dequantizes n elements (a multiple of block_size). Blocks need no alignment.
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);

struct TypeTraits {
  GGMLType type;
  const char* name;       // ggml spelling: "f32", "q4_0", "q4_K", "tq1_0", ...
  int64_t block_size;     // elements per block
  size_t type_size;       // bytes per block
  QuantizeFn quantize;    // byte-exact with ggml's reference quantizer; null when not implemented
  DequantizeFn dequantize;  // null when not implemented
};

// The traits of every known type id, or nullptr for unknown / removed ids.
const TypeTraits* find_type(uint32_t id);
// Throws as::Error for an unknown id.
const TypeTraits& type_traits(GGMLType t);
// Parses a ggml type name (case-insensitive: "q4_k", "Q4_K", "bf16"); throws listing the names.
GGMLType type_from_name(const std::string& name);
const char* type_name(GGMLType t);
// All known types in id order.
std::vector<GGMLType> all_types();

// Bytes of n elements (n must be a multiple of the block size; throws otherwise, naming `context`).
uint64_t row_size(GGMLType t, int64_t n, const std::string& context = "");

// Whole-buffer codecs; n must be a multiple of the block size. Throw as::Error naming `context` when
// the type has no codec.
std::vector<uint8_t> quantize(GGMLType t, const float* src, int64_t n, const std::string& context = "");
void quantize(GGMLType t, const float* src, void* dst, int64_t n, const std::string& context = "");
void dequantize(GGMLType t, const void* src, float* dst, int64_t n, const std::string& context = "");
bool can_quantize(GGMLType t);
bool can_dequantize(GGMLType t);

}  // namespace as::gguf
