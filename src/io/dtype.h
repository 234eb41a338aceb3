// Element types of tensors on disk (safetensors / GGUF payloads). Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace as {

enum class DType : uint8_t { F32, F16, BF16, F8_E4M3, F8_E5M2, I8, U8, I16, U16, I32, U32, I64, U64, F64, BOOL };

// Bytes per element.
size_t dtype_size(DType t);
// safetensors spelling: "F32", "BF16", "F8_E4M3", ...
const char* dtype_name(DType t);
// Parses a safetensors dtype string; throws as::Error naming `context` (file / tensor) and listing
// the accepted names when unknown.
DType dtype_from_name(const std::string& name, const std::string& context);
// True for F32, F16, BF16, F8_E4M3, F8_E5M2, F64.
bool dtype_is_float(DType t);

}  // namespace as
