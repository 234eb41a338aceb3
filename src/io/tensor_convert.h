// Conversions of on-disk tensors (TensorView) to float32, and non-finite scans. Torch-free.
// Every DType is convertible (integers and BOOL become their float value; I64/U64/F64 may round).
// Sources may be unaligned (views into a safetensors mmap); loads go through memcpy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "io/safetensors.h"

namespace as {

// Converts n elements of `dtype` at `src` to float. `context` names the tensor in errors.
void convert_to_float(DType dtype, const uint8_t* src, size_t n, float* dst, const std::string& context);

// Whole-tensor conversions. The buffer overload requires `dst` to hold t.numel() floats.
// Throws as::Error naming the tensor when the view is inconsistent (nbytes != numel * size).
std::vector<float> to_float(const TensorView& t);
void to_float(const TensorView& t, float* dst);

// Encodes floats as `dtype` (F32, F16, BF16, F8_E4M3, F8_E5M2, F64 only; round to nearest even,
// FP8 saturating). Throws naming `context` for other dtypes.
std::vector<uint8_t> from_float(const float* src, size_t n, DType dtype, const std::string& context);

// Number of NaN / +-Inf values. Integer dtypes have none (returns 0).
size_t count_nonfinite(const float* x, size_t n);
size_t count_nonfinite(DType dtype, const uint8_t* src, size_t n);
size_t count_nonfinite(const TensorView& t);

}  // namespace as
