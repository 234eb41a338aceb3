// Which tensors a compressed-tensors quantized Linear stores (shared by the writer, validator and
// reader). For module <m> with weight [N, K]:
//   pack-quantized : <m>.weight_packed I32 [N, ceil(K/pf)], <m>.weight_shape I64 [2] = {N, K}
//   int-quantized / naive (int weights)   : <m>.weight I8 [N, K]
//   float-quantized / naive (float weights): <m>.weight F8_E4M3 [N, K]
//   <m>.weight_scale            float (BF16/F16/F32) [weight_scale_shape]
//   <m>.weight_zero_point       asymmetric only: packed I32 [ceil(N/pf), G] (pack-quantized,
//                               group/channel), else I8 [weight_scale_shape]
//   <m>.weight_g_idx            I32 [K], actorder "group" only
//   <m>.input_scale             float [1], static input quantization only
//   <m>.input_zero_point        I8 [1], static asymmetric input quantization only
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/compressed_tensors/ct_scheme.h"
#include "io/dtype.h"

namespace as::ct {

// Parameter names (the part after "<module>.") that only quantized modules carry.
const std::vector<std::string>& quant_param_names();
bool is_quant_param(const std::string& param);

// Scale / zero-point dtypes accepted on read.
bool is_scale_dtype(DType t);  // F32, BF16, F16

struct ExpectedTensor {
  std::string param;          // e.g. "weight_packed"
  std::vector<DType> dtypes;  // accepted dtypes; the first is what the writer emits
  std::vector<int64_t> shape;
  bool scalar_ok = false;     // [] accepted in place of [1] (older per-tensor checkpoints)
};

// Tensors a module quantized with group `g` in `format` must carry, for a weight [N, K]
// (scale dtypes listed as {scale_dtype, others}). Throws as::Error for unsupported combinations.
std::vector<ExpectedTensor> expected_tensors(const ConfigGroup& g, const std::string& format, int64_t n, int64_t k,
                                             DType scale_dtype = DType::BF16);

// Whether the weights of `format` are bit-packed int32.
inline bool is_packed_format(const std::string& format) { return format == kFormatPackQuantized; }

// Inventory of a checkpoint's tensor names grouped by module ("a.b.c.weight" -> module "a.b.c",
// param "weight"). Names without a dot belong to module "".
struct Inventory {
  std::map<std::string, std::set<std::string>> params;  // module -> param names
  std::set<std::string> prefixes;                       // every dotted prefix of every tensor name
};
Inventory build_inventory(const std::vector<std::string>& tensor_names);

// Natural ordering ("layers.2" < "layers.10") used to lay tensors out model-order in shards.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace as::ct
