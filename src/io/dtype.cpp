#include "io/dtype.h"

#include "common/error.h"

namespace as {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
// Same order as the enum.
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4},         {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},           {DType::I16, "I16", 2},         {DType::U16, "U16", 2},
    {DType::I32, "I32", 4},         {DType::U32, "U32", 4},         {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},         {DType::F64, "F64", 8},         {DType::BOOL, "BOOL", 1},
};
constexpr size_t kNumDTypes = sizeof(kDTypes) / sizeof(kDTypes[0]);

const DTypeInfo& info(DType t) {
  const auto i = static_cast<size_t>(t);
  if (i >= kNumDTypes) throw Error("invalid DType value " + std::to_string(i));
  return kDTypes[i];
}
}  // namespace

size_t dtype_size(DType t) { return info(t).size; }

const char* dtype_name(DType t) { return info(t).name; }

DType dtype_from_name(const std::string& name, const std::string& context) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.type;
  std::string accepted;
  for (const auto& d : kDTypes) {
    if (!accepted.empty()) accepted += ", ";
    accepted += d.name;
  }
  throw Error(context + ": unknown dtype \"" + name + "\" (accepted: " + accepted + ")");
}

bool dtype_is_float(DType t) {
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16:
    case DType::F8_E4M3: case DType::F8_E5M2: case DType::F64:
      return true;
    default:
      return false;
  }
}

}  // namespace as
