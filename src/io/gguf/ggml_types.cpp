#include "io/gguf/ggml_types.h"

#include <cctype>
#include <cstring>

#include "common/error.h"
#include "io/gguf/quants.h"
#include "kernels/half.h"

namespace as::gguf {

namespace {

// Adapters from the typed row codecs to the byte-buffer signatures. Buffers need not be aligned to
// the block struct: misaligned ones go through a local block.
template <typename B, int QK, void (*Q)(const float*, B*, int64_t)>
void quantize_blocks(const float* src, void* dst, int64_t n) {
  if (reinterpret_cast<uintptr_t>(dst) % alignof(B) == 0) {
    Q(src, static_cast<B*>(dst), n);
    return;
  }
  auto* out = static_cast<uint8_t*>(dst);
  B tmp;
  for (int64_t i = 0; i < n / QK; ++i) {
    Q(src + i * QK, &tmp, QK);
    std::memcpy(out + i * sizeof(B), &tmp, sizeof(B));
  }
}

template <typename B, int QK, void (*D)(const B*, float*, int64_t)>
void dequantize_blocks(const void* src, float* dst, int64_t n) {
  if (reinterpret_cast<uintptr_t>(src) % alignof(B) == 0) {
    D(static_cast<const B*>(src), dst, n);
    return;
  }
  const auto* in = static_cast<const uint8_t*>(src);
  B tmp;
  for (int64_t i = 0; i < n / QK; ++i) {
    std::memcpy(&tmp, in + i * sizeof(B), sizeof(B));
    D(&tmp, dst + i * QK, QK);
  }
}

void quantize_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }
void dequantize_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

template <uint16_t (*Enc)(float)>
void quantize_half(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = Enc(src[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
}

template <float (*Dec)(uint16_t)>
void dequantize_half(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, 2);
    dst[i] = Dec(h);
  }
}

template <typename T>
void dequantize_plain(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, in + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}

using T = GGMLType;
constexpr int64_t K = kQK_K;

// The one table: id, name, block size, bytes per block, codecs.
const TypeTraits kTypes[] = {
    {T::F32, "f32", 1, 4, quantize_f32, dequantize_f32},
    {T::F16, "f16", 1, 2, quantize_half<as::kernels::f32_to_f16>, dequantize_half<as::kernels::f16_to_f32>},
    {T::Q4_0, "q4_0", 32, 18, quantize_blocks<BlockQ4_0, 32, quantize_row_q4_0_ref>,
     dequantize_blocks<BlockQ4_0, 32, dequantize_row_q4_0>},
    {T::Q4_1, "q4_1", 32, 20, nullptr, nullptr},
    {T::Q5_0, "q5_0", 32, 22, nullptr, nullptr},
    {T::Q5_1, "q5_1", 32, 24, nullptr, nullptr},
    {T::Q8_0, "q8_0", 32, 34, quantize_blocks<BlockQ8_0, 32, quantize_row_q8_0_ref>,
     dequantize_blocks<BlockQ8_0, 32, dequantize_row_q8_0>},
    {T::Q8_1, "q8_1", 32, 36, nullptr, nullptr},
    {T::Q2_K, "q2_K", K, 84, quantize_blocks<BlockQ2_K, kQK_K, quantize_row_q2_K_ref>,
     dequantize_blocks<BlockQ2_K, kQK_K, dequantize_row_q2_K>},
    {T::Q3_K, "q3_K", K, 110, nullptr, nullptr},
    {T::Q4_K, "q4_K", K, 144, quantize_blocks<BlockQ4_K, kQK_K, quantize_row_q4_K_ref>,
     dequantize_blocks<BlockQ4_K, kQK_K, dequantize_row_q4_K>},
    {T::Q5_K, "q5_K", K, 176, nullptr, nullptr},
    {T::Q6_K, "q6_K", K, 210, quantize_blocks<BlockQ6_K, kQK_K, quantize_row_q6_K_ref>,
     dequantize_blocks<BlockQ6_K, kQK_K, dequantize_row_q6_K>},
    {T::Q8_K, "q8_K", K, 292, nullptr, nullptr},
    {T::IQ2_XXS, "iq2_xxs", K, 66, nullptr, nullptr},
    {T::IQ2_XS, "iq2_xs", K, 74, nullptr, nullptr},
    {T::IQ3_XXS, "iq3_xxs", K, 98, nullptr, nullptr},
    {T::IQ1_S, "iq1_s", K, 50, nullptr, nullptr},
    {T::IQ4_NL, "iq4_nl", 32, 18, nullptr, nullptr},
    {T::IQ3_S, "iq3_s", K, 110, nullptr, nullptr},
    {T::IQ2_S, "iq2_s", K, 82, nullptr, nullptr},
    {T::IQ4_XS, "iq4_xs", K, 136, nullptr, nullptr},
    {T::I8, "i8", 1, 1, nullptr, dequantize_plain<int8_t>},
    {T::I16, "i16", 1, 2, nullptr, dequantize_plain<int16_t>},
    {T::I32, "i32", 1, 4, nullptr, dequantize_plain<int32_t>},
    {T::I64, "i64", 1, 8, nullptr, dequantize_plain<int64_t>},
    {T::F64, "f64", 1, 8, nullptr, dequantize_plain<double>},
    {T::IQ1_M, "iq1_m", K, 56, nullptr, nullptr},
    {T::BF16, "bf16", 1, 2, quantize_half<as::kernels::f32_to_bf16>, dequantize_half<as::kernels::bf16_to_f32>},
    {T::TQ1_0, "tq1_0", K, 54, quantize_blocks<BlockTQ1_0, kQK_K, quantize_row_tq1_0_ref>,
     dequantize_blocks<BlockTQ1_0, kQK_K, dequantize_row_tq1_0>},
    {T::TQ2_0, "tq2_0", K, 66, quantize_blocks<BlockTQ2_0, kQK_K, quantize_row_tq2_0_ref>,
     dequantize_blocks<BlockTQ2_0, kQK_K, dequantize_row_tq2_0>},
    {T::MXFP4, "mxfp4", 32, 17, nullptr, nullptr},
    {T::NVFP4, "nvfp4", 64, 36, nullptr, nullptr},
    {T::Q1_0, "q1_0", 128, 18, nullptr, nullptr},
    {T::Q2_0, "q2_0", 64, 18, nullptr, nullptr},
    {T::STQ1_0, "stq1_0", K, 42, quantize_blocks<BlockSTQ1_0, kQK_K, quantize_row_stq1_0_ref>,
     dequantize_blocks<BlockSTQ1_0, kQK_K, dequantize_row_stq1_0>},
};

std::string ctx_prefix(const std::string& context) { return context.empty() ? "" : context + ": "; }

}  // namespace

const TypeTraits* find_type(uint32_t id) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == id) return &t;
  return nullptr;
}

const TypeTraits& type_traits(GGMLType t) {
  const TypeTraits* p = find_type(static_cast<uint32_t>(t));
  if (!p) throw Error("unknown ggml type id " + std::to_string(static_cast<uint32_t>(t)));
  return *p;
}

const char* type_name(GGMLType t) { return type_traits(t).name; }

GGMLType type_from_name(const std::string& name) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string want = lower(name);
  std::string all;
  for (const auto& t : kTypes) {
    if (lower(t.name) == want) return t.type;
    all += all.empty() ? "" : ", ";
    all += t.name;
  }
  throw Error("unknown ggml type \"" + name + "\" (known: " + all + ")");
}

std::vector<GGMLType> all_types() {
  std::vector<GGMLType> out;
  for (const auto& t : kTypes) out.push_back(t.type);
  return out;
}

uint64_t row_size(GGMLType t, int64_t n, const std::string& context) {
  const TypeTraits& tr = type_traits(t);
  if (n < 0 || n % tr.block_size != 0)
    throw Error(ctx_prefix(context) + std::to_string(n) + " elements is not a multiple of the " + tr.name +
                " block size " + std::to_string(tr.block_size));
  return static_cast<uint64_t>(n / tr.block_size) * tr.type_size;
}

bool can_quantize(GGMLType t) { return type_traits(t).quantize != nullptr; }
bool can_dequantize(GGMLType t) { return type_traits(t).dequantize != nullptr; }

void quantize(GGMLType t, const float* src, void* dst, int64_t n, const std::string& context) {
  const TypeTraits& tr = type_traits(t);
  if (!tr.quantize) throw Error(ctx_prefix(context) + "quantization to " + tr.name + " is not implemented");
  row_size(t, n, context);
  if (n > 0) tr.quantize(src, dst, n);
}

std::vector<uint8_t> quantize(GGMLType t, const float* src, int64_t n, const std::string& context) {
  std::vector<uint8_t> out(row_size(t, n, context));
  quantize(t, src, out.data(), n, context);
  return out;
}

void dequantize(GGMLType t, const void* src, float* dst, int64_t n, const std::string& context) {
  const TypeTraits& tr = type_traits(t);
  if (!tr.dequantize) throw Error(ctx_prefix(context) + "dequantization of " + tr.name + " is not implemented");
  row_size(t, n, context);
  if (n > 0) tr.dequantize(src, dst, n);
}

}  // namespace as::gguf
