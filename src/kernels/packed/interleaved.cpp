// The decode layouts the lean runtime moves linears into at load, behind one set of entry points:
// rows8 (q4, rows8.cpp), rows32 (sherry125, rows32.cpp) and tern167's digit layout (here); and the
// exact re-encoding of tern167_pc as tern2_pc on CPUs without the digit kernel (here).
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/internal.h"

namespace as::packed {
namespace {

// tern167's digit layout: the row layout with every base-3 byte b (the scaled ceil(v * 256 / 243))
// replaced by v itself, i.e. t0*81 + t1*27 + t2*9 + t3*3 + t4 (detail::tern167_value inverts the
// scaling for every byte the quantizer writes).

void check_t167d(const char* what, int64_t N, int64_t K, const void* a, const void* b) {
  as::check(N >= 1 && K > 0 && K % 256 == 0, std::string("packed ") + what + ": tern167_pc needs K % 256 == 0 (N=" +
                                                  std::to_string(N) + ", K=" + std::to_string(K) + ")");
  as::check(a != nullptr && b != nullptr, std::string("packed ") + what + ": null pointer");
}

template <uint8_t (*Map)(uint8_t)>
void map_t167_row(const uint8_t* src, int64_t K, uint8_t* dst) {
  std::memcpy(dst, src, 4);  // the fp32 row scale
  for (int64_t i = 4; i < 4 + K / 256 * 52; ++i) dst[i] = Map(src[i]);
}

void map_t167(bool to_digits, const uint8_t* src, int64_t N, int64_t K, uint8_t* dst) {
  // (N, K are validated by the callers.)
  const int64_t rb = int64_t(packed_row_bytes(QuantType::TERN167_PC, K));
  for (int64_t n = 0; n < N; ++n)
    if (to_digits) map_t167_row<detail::tern167_value>(src + n * rb, K, dst + n * rb);
    else map_t167_row<detail::tern167_scaled>(src + n * rb, K, dst + n * rb);
}

bool t167d_kernel_available() { return isa_available(Isa::Avx512) && detail::cpu_has_vbmi(); }

}  // namespace

int interleave_rows(QuantType t) {
  if (rows8_supported(t)) return 8;
  if (rows32_supported(t)) return 32;
  // The digit layout only pays with the VBMI kernel; elsewhere tern167 stays in the row layout.
  if (t == QuantType::TERN167_PC && best_isa() == Isa::Avx512 && t167d_kernel_available()) return 1;
  return 0;
}

void to_interleaved(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out) {
  if (t == QuantType::TERN167_PC) {
    check_t167d("to_interleaved", N, K, rows, out);
    return map_t167(true, rows, N, K, out);
  }
  if (rows32_supported(t)) return to_rows32(t, rows, N, K, out);
  to_rows8(t, rows, N, K, out);  // throws for types with no interleaved layout
}

void from_interleaved(QuantType t, const uint8_t* il, int64_t N, int64_t K, uint8_t* out) {
  if (t == QuantType::TERN167_PC) {
    check_t167d("from_interleaved", N, K, il, out);
    return map_t167(false, il, N, K, out);
  }
  if (rows32_supported(t)) return from_rows32(t, il, N, K, out);
  from_rows8(t, il, N, K, out);
}

void gemm_interleaved(QuantType t, const uint8_t* il, int64_t N, int64_t K, const float* X, int64_t M, float* Y,
                      Isa isa) {
  if (rows32_supported(t)) return gemm_rows32(t, il, N, K, X, M, Y, isa);
  if (t != QuantType::TERN167_PC) return gemm_rows8(t, il, N, K, X, M, Y, isa);
  check_t167d("gemm_interleaved", N, K, il, Y);
  detail::gemm_layout("gemm_interleaved", t, il, N, K, X, M, Y, isa, nullptr,
                      t167d_kernel_available() ? detail::avx512vbmi_t167d(t) : nullptr,
                      [](QuantType, const uint8_t* d, int64_t n, int64_t k, uint8_t* rows) { map_t167(false, d, n, k, rows); });
}

// ---- tern167_pc run as tern2_pc ----
QuantType recode_target(QuantType t) { return t == QuantType::TERN167_PC ? QuantType::TERN2_PC : t; }

QuantType run_type(QuantType t, Isa isa) {
  if (t != QuantType::TERN167_PC) return t;
  const Isa i = resolve_isa(isa);
  // The scalar reference is a test oracle, not a speed path: it runs every type as itself.
  if (i == Isa::Scalar || (i == Isa::Avx512 && t167d_kernel_available())) return t;
  return QuantType::TERN2_PC;
}

void recode_rows(QuantType from, QuantType to, const uint8_t* src, int64_t N, int64_t K, uint8_t* dst) {
  as::check(from == QuantType::TERN167_PC && to == QuantType::TERN2_PC,
            std::string("packed recode_rows: no exact re-encoding from ") + quant_type(from).name + " to " +
                quant_type(to).name);
  check_t167d("recode_rows", N, K, src, dst);
  // The decoder's trits t (0..2, in element order with a quad stride of 4) are tern2 codes c = t
  // (value (c - 1) * s), and the fp32 row scale heads both rows.
  const size_t rb_in = packed_row_bytes(from, K), rb_out = packed_row_bytes(to, K);
  const detail::TypeImpl& in = detail::type_impl(from);
  detail::parallel_ranges(N, 16, 1, [&](int64_t n0, int64_t n1) {
    std::vector<uint8_t> codes(static_cast<size_t>(K));
    std::vector<float> scale(static_cast<size_t>(K / 256));
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* r = src + size_t(n) * rb_in;
      uint8_t* o = dst + size_t(n) * rb_out;
      in.decode(r, K, codes.data(), 4, scale.data());
      std::memcpy(o, r, 4);
      detail::code2_planes(codes.data(), K, o + 4);
    }
  });
}

namespace detail {

void gemm_layout(const char* what, QuantType t, const uint8_t* il, int64_t N, int64_t K, const float* X, int64_t M,
                 float* Y, Isa isa_in, GemmFn avx2, GemmFn avx512, FromLayoutFn back) {
  as::check(X != nullptr && M >= 1, std::string("packed ") + what + ": needs M >= 1 activation rows");
  const Isa isa = resolve_isa(isa_in);
  if (isa == Isa::Avx512 && M >= 8 && amx_enabled()) return avx512_amx_gemm(t, il, true, N, K, X, M, Y);
  const GemmFn fn = isa == Isa::Avx512 ? avx512 : isa == Isa::Avx2 ? avx2 : nullptr;
  if (fn) return fn(il, N, K, X, M, Y);
  std::vector<uint8_t> rows(packed_bytes(t, N, K));
  back(t, il, N, K, rows.data());
  gemm(t, rows.data(), N, K, X, M, Y, isa);
}

void decode_interleaved_row(QuantType t, const uint8_t* W, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                            float* blk_scale) {
  if (rows32_supported(t)) return decode_rows32_row(t, W, n, K, dst, quad_stride, blk_scale);
  if (t == QuantType::TERN167_PC) {
    thread_local std::vector<uint8_t> row;
    const int64_t rb = int64_t(packed_row_bytes(t, K));
    uint8_t* p = scratch(row, size_t(rb));
    map_t167_row<detail::tern167_scaled>(W + n * rb, K, p);
    return type_impl(t).decode(p, K, dst, quad_stride, blk_scale);
  }
  decode_rows8_row(t, W, n, K, dst, quad_stride, blk_scale);
}

}  // namespace detail
}  // namespace as::packed
