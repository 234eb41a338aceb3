#include "io/tensor_convert.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/half.h"

namespace as {

namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void convert_int(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src + i * sizeof(T)));
}

void check_view(const TensorView& t) {
  const int64_t numel = t.numel();
  if (numel < 0 || static_cast<uint64_t>(numel) * dtype_size(t.dtype) != t.nbytes)
    throw Error("tensor \"" + t.name + "\": " + std::to_string(t.nbytes) + " bytes do not match " +
                std::to_string(numel) + " elements of " + dtype_name(t.dtype));
  if (t.nbytes > 0 && t.data == nullptr) throw Error("tensor \"" + t.name + "\": null data");
}

}  // namespace

void convert_to_float(DType dtype, const uint8_t* src, size_t n, float* dst, const std::string& context) {
  using namespace as::kernels;
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(dst, src, n * 4);
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::F8_E4M3:
      for (size_t i = 0; i < n; ++i) dst[i] = e4m3_to_f32(src[i]);
      return;
    case DType::F8_E5M2:
      for (size_t i = 0; i < n; ++i) dst[i] = e5m2_to_f32(src[i]);
      return;
    case DType::F64: convert_int<double>(src, n, dst); return;
    case DType::I8: convert_int<int8_t>(src, n, dst); return;
    case DType::U8: convert_int<uint8_t>(src, n, dst); return;
    case DType::I16: convert_int<int16_t>(src, n, dst); return;
    case DType::U16: convert_int<uint16_t>(src, n, dst); return;
    case DType::I32: convert_int<int32_t>(src, n, dst); return;
    case DType::U32: convert_int<uint32_t>(src, n, dst); return;
    case DType::I64: convert_int<int64_t>(src, n, dst); return;
    case DType::U64: convert_int<uint64_t>(src, n, dst); return;
    case DType::BOOL:
      for (size_t i = 0; i < n; ++i) dst[i] = src[i] ? 1.0f : 0.0f;
      return;
  }
  throw Error(context + ": cannot convert dtype " + std::to_string(static_cast<int>(dtype)) + " to float");
}

std::vector<float> to_float(const TensorView& t) {
  check_view(t);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  convert_to_float(t.dtype, t.data, out.size(), out.data(), "tensor \"" + t.name + "\"");
  return out;
}

void to_float(const TensorView& t, float* dst) {
  check_view(t);
  convert_to_float(t.dtype, t.data, static_cast<size_t>(t.numel()), dst, "tensor \"" + t.name + "\"");
}

std::vector<uint8_t> from_float(const float* src, size_t n, DType dtype, const std::string& context) {
  using namespace as::kernels;
  std::vector<uint8_t> out(n * dtype_size(dtype));
  uint8_t* o = out.data();
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(o, src, n * 4);
      return out;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(src[i]);
        std::memcpy(o + 2 * i, &h, 2);
      }
      return out;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(o + 2 * i, &h, 2);
      }
      return out;
    case DType::F8_E4M3:
      for (size_t i = 0; i < n; ++i) o[i] = f32_to_e4m3(src[i]);
      return out;
    case DType::F8_E5M2:
      for (size_t i = 0; i < n; ++i) o[i] = f32_to_e5m2(src[i]);
      return out;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        const double d = src[i];
        std::memcpy(o + 8 * i, &d, 8);
      }
      return out;
    default:
      throw Error(context + ": cannot encode floats as " + dtype_name(dtype) +
                  " (supported: F32, F16, BF16, F8_E4M3, F8_E5M2, F64)");
  }
}

size_t count_nonfinite(const float* x, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; ++i) c += !std::isfinite(x[i]);
  return c;
}

size_t count_nonfinite(DType dtype, const uint8_t* src, size_t n) {
  size_t c = 0;
  switch (dtype) {
    case DType::F32:
      for (size_t i = 0; i < n; ++i) c += (load<uint32_t>(src + 4 * i) & 0x7f800000u) == 0x7f800000u;
      return c;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) c += (load<uint16_t>(src + 2 * i) & 0x7c00u) == 0x7c00u;
      return c;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) c += (load<uint16_t>(src + 2 * i) & 0x7f80u) == 0x7f80u;
      return c;
    case DType::F8_E4M3:  // only NaN (0x7F / 0xFF); no infinities
      for (size_t i = 0; i < n; ++i) c += (src[i] & 0x7fu) == 0x7fu;
      return c;
    case DType::F8_E5M2:  // exponent all ones: inf (0x7C) or NaN
      for (size_t i = 0; i < n; ++i) c += (src[i] & 0x7cu) == 0x7cu;
      return c;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) c += !std::isfinite(load<double>(src + 8 * i));
      return c;
    default:
      return 0;
  }
}

size_t count_nonfinite(const TensorView& t) {
  check_view(t);
  return count_nonfinite(t.dtype, t.data, static_cast<size_t>(t.numel()));
}

}  // namespace as
