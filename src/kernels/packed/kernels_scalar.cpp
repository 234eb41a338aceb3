// Scalar kernels: the portable fallback and the oracle the SIMD kernels are tested against.
// They use the same int8 activation quantization as the SIMD kernels, so the integer part of every
// block dot product is exact and the ISAs differ only in the order of fp32 additions.
#include <algorithm>
#include <cmath>

#include "kernels/half.h"
#include "kernels/packed/internal.h"

namespace as::packed::detail {

void quantize_act_row(const float* x, int64_t K, int64_t blk, int8_t* q, float* d, int32_t* bsum) {
  for (int64_t b = 0; b < K / blk; ++b) {
    const float* xb = x + b * blk;
    float amax = 0.0f;
    for (int64_t i = 0; i < blk; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    int32_t s = 0;
    for (int64_t i = 0; i < blk; ++i) {
      const float v = std::clamp(std::nearbyint(xb[i] * id), -127.0f, 127.0f);
      q[b * blk + i] = int8_t(v);
      s += int32_t(v);
    }
    bsum[b] = s;
  }
}

namespace {

thread_local std::vector<uint8_t> tl_codes;
thread_local std::vector<float> tl_scales;
thread_local ActQ8 tl_act;

// y[n0..n1) for one activation row.
void gemv_rows_int(QuantType t, const uint8_t* W, int64_t K, int64_t n0, int64_t n1, const int8_t* xq, const float* dx,
                   float* y) {
  const QuantTypeTraits& tr = quant_type(t);
  const TypeImpl& ti = type_impl(t);
  const int64_t rb = row_bytes_of(tr, K), bs = tr.block_size, nb = K / bs;
  uint8_t* codes = scratch(tl_codes, size_t(K));
  float* sc = scratch(tl_scales, size_t(nb));
  for (int64_t n = n0; n < n1; ++n) {
    ti.decode(W + n * rb, K, codes, 4, sc);
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t idot = 0;
      for (int64_t i = b * bs; i < (b + 1) * bs; ++i) idot += (int32_t(codes[i]) - ti.code_off) * int32_t(xq[i]);
      acc += (sc[b] * dx[b]) * float(idot);
    }
    y[n] = acc;
  }
}

thread_local std::vector<float> tl_wf;
void gemv_rows_fp8(const uint8_t* W, int64_t K, int64_t n0, int64_t n1, const float* x, float* y) {
  const int64_t rb = row_bytes_of(quant_type(QuantType::FP8_PC), K);
  float* w = scratch(tl_wf, size_t(K));
  for (int64_t n = n0; n < n1; ++n) {
    const float s = decode_fp8_row(W + n * rb, K, w);
    double acc = 0.0;  // the oracle for the SIMD fp32 sums: keep its own rounding negligible
    for (int64_t k = 0; k < K; ++k) acc += double(w[k]) * double(x[k]);
    y[n] = float(acc * double(s));
  }
}

void gemv_rows_f16(const uint8_t* W, int64_t K, int64_t n0, int64_t n1, const float* x, float* y) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* p = W + n * 2 * K;
    double acc = 0.0;
    for (int64_t k = 0; k < K; ++k) acc += double(kernels::f16_to_f32(load_as<uint16_t>(p + 2 * k))) * double(x[k]);
    y[n] = float(acc);
  }
}

template <QuantType T>
void gemv(const uint8_t* W, int64_t N, int64_t K, const float* x, float* y) {
  if constexpr (T == QuantType::FP8_PC) {
    parallel_ranges(N, 64, 1, [&](int64_t n0, int64_t n1) { gemv_rows_fp8(W, K, n0, n1, x, y); });
  } else if constexpr (T == QuantType::F16) {
    parallel_ranges(N, 64, 1, [&](int64_t n0, int64_t n1) { gemv_rows_f16(W, K, n0, n1, x, y); });
  } else {
    const int64_t bs = quant_type(T).block_size;
    ActQ8& a = tl_act;
    quantize_activations(x, 1, K, bs, a);
    parallel_ranges(N, 32, 1, [&](int64_t n0, int64_t n1) { gemv_rows_int(T, W, K, n0, n1, a.row(0), a.drow(0), y); });
  }
}

template <QuantType T>
void gemm(const uint8_t* W, int64_t N, int64_t K, const float* X, int64_t M, float* Y) {
  for (int64_t m = 0; m < M; ++m) gemv<T>(W, N, K, X + m * K, Y + m * N);
}

template <QuantType T>
float dot(const uint8_t* row, const float* x, int64_t K) {
  float y = 0.0f;
  gemv<T>(row, 1, K, x, &y);
  return y;
}

template <QuantType T>
IsaKernels make() {
  return {dot<T>, gemv<T>, gemm<T>};
}

}  // namespace

void quantize_activations(const float* X, int64_t M, int64_t K, int64_t blk, ActQ8& a) {
  a.M = M, a.K = K, a.blk = blk, a.nblk = K / blk;
  a.q.resize(size_t(M * K));
  a.d.resize(size_t(M * a.nblk));
  a.bsum.resize(size_t(M * a.nblk));
  auto one = [&](int64_t m) {
    quantize_act_row(X + m * K, K, blk, a.q.data() + m * K, a.d.data() + m * a.nblk, a.bsum.data() + m * a.nblk);
  };
  if (M * K < (int64_t(1) << 16)) {
    for (int64_t m = 0; m < M; ++m) one(m);
  } else {
    parallel_for(M, one);
  }
}

IsaKernels scalar_kernels(QuantType t) {
  switch (t) {
    case QuantType::Q8_G32:
      return make<QuantType::Q8_G32>();
    case QuantType::Q4_G32:
      return make<QuantType::Q4_G32>();
    case QuantType::Q4_G128:
      return make<QuantType::Q4_G128>();
    case QuantType::Q4Z_G32:
      return make<QuantType::Q4Z_G32>();
    case QuantType::Q4Z_G128:
      return make<QuantType::Q4Z_G128>();
    case QuantType::FP8_PC:
      return make<QuantType::FP8_PC>();
    case QuantType::SEQ2_G128:
      return make<QuantType::SEQ2_G128>();
    case QuantType::SEQ2_PC:
      return make<QuantType::SEQ2_PC>();
    case QuantType::TERN2_G128:
      return make<QuantType::TERN2_G128>();
    case QuantType::TERN2_PC:
      return make<QuantType::TERN2_PC>();
    case QuantType::TERN167_PC:
      return make<QuantType::TERN167_PC>();
    case QuantType::SHERRY125_G128:
      return make<QuantType::SHERRY125_G128>();
    case QuantType::SHERRY125_PC:
      return make<QuantType::SHERRY125_PC>();
    case QuantType::F16:
      return make<QuantType::F16>();
  }
  return {};
}

}  // namespace as::packed::detail
