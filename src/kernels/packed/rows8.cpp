// The 8-row interleaved ("rows8") layout of the int4 types: a permutation of the row layout's bytes
// that lets a decode GEMV produce 8 output rows per vector (see packed.h). Conversion both ways,
// the row decoder the tiled GEMM uses, and the validated public entry point.
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/internal.h"

namespace as::packed {
namespace {

// Group-block geometry of a rows8 type: G weights per block, BB bytes per row-block (fp16 + G/2).
struct R8Geom {
  int G, BB;
  int64_t GB() const { return int64_t(8) * BB; }  // bytes of one group-block
};
R8Geom r8_geom(QuantType t) {
  switch (t) {
    case QuantType::Q4_G32: return {32, 18};
    case QuantType::Q4_G128: return {128, 66};
    default: break;
  }
  throw as::Error(std::string("packed rows8: type ") + quant_type(t).name +
                  " has no 8-row interleaved layout (supported: q4_g32, q4_g128)");
}

// Row r's source bytes qs[16s + 4i .. +3] (weights 32s + 4i + t in the low nibbles, 32s + 16 + 4i + t in
// the high ones, Q4_0 order) land unchanged at this offset of the group-block: the layouts are a
// permutation of 4-byte words.
inline int64_t r8_word(int r, int s, int i) { return 16 + 128 * s + 32 * i + 4 * r; }

void check_rows8(QuantType t, const char* what, int64_t N, int64_t K, const void* a, const void* b) {
  const R8Geom g = r8_geom(t);
  as::check(N >= 8 && N % 8 == 0 && K > 0 && K % g.G == 0,
            std::string("packed ") + what + ": type " + quant_type(t).name + " needs N % 8 == 0 and K % " +
                std::to_string(g.G) + " == 0 (N=" + std::to_string(N) + ", K=" + std::to_string(K) + ")");
  as::check(a != nullptr && b != nullptr, std::string("packed ") + what + ": null pointer");
}

}  // namespace

bool rows8_supported(QuantType t) { return t == QuantType::Q4_G32 || t == QuantType::Q4_G128; }

namespace {
// Walks the permutation between the layouts: ToRows8 copies row-layout bytes into rows8, else back.
template <bool ToRows8>
void permute_rows8(QuantType t, const uint8_t* src, int64_t N, int64_t K, uint8_t* dst) {
  const R8Geom g = r8_geom(t);
  const int64_t nb = K / g.G, rb = nb * g.BB;
  for (int64_t gi = 0; gi < N / 8; ++gi)
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < 8; ++r) {
        const int64_t r8 = (gi * nb + b) * g.GB(), row = (gi * 8 + r) * rb + b * g.BB;
        auto move = [&](int64_t r8_off, int64_t row_off, size_t n) {
          if (ToRows8) std::memcpy(dst + r8 + r8_off, src + row + row_off, n);
          else std::memcpy(dst + row + row_off, src + r8 + r8_off, n);
        };
        move(2 * r, 0, 2);  // the fp16 scale
        for (int s = 0; s < g.G / 32; ++s)
          for (int i = 0; i < 4; ++i) move(r8_word(r, s, i), 2 + 16 * s + 4 * i, 4);
      }
}
}  // namespace

void to_rows8(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out) {
  check_rows8(t, "to_rows8", N, K, rows, out);
  permute_rows8<true>(t, rows, N, K, out);
}

void from_rows8(QuantType t, const uint8_t* r8, int64_t N, int64_t K, uint8_t* out) {
  check_rows8(t, "from_rows8", N, K, r8, out);
  permute_rows8<false>(t, r8, N, K, out);
}

namespace detail {

void decode_rows8_row(QuantType t, const uint8_t* r8, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                      float* blk_scale) {
  const R8Geom g = r8_geom(t);
  const int64_t nb = K / g.G, r = n % 8;
  const uint8_t* base = r8 + (n / 8) * nb * g.GB();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = base + b * g.GB();
    blk_scale[b] = fp16_load(p + 2 * r);
    for (int s = 0; s < g.G / 32; ++s)
      for (int i = 0; i < 4; ++i) {
        const uint32_t w = load_as<uint32_t>(p + r8_word(int(r), s, i));
        store_as<uint32_t>(dst + (b * g.G / 4 + 8 * s + i) * quad_stride, w & 0x0F0F0F0Fu);
        store_as<uint32_t>(dst + (b * g.G / 4 + 8 * s + i + 4) * quad_stride, (w >> 4) & 0x0F0F0F0Fu);
      }
  }
}

}  // namespace detail

void gemm_rows8(QuantType t, const uint8_t* r8, int64_t N, int64_t K, const float* X, int64_t M, float* Y, Isa isa) {
  check_rows8(t, "gemm_rows8", N, K, r8, Y);
  detail::gemm_layout("gemm_rows8", t, r8, N, K, X, M, Y, isa, detail::avx2_rows8(t), detail::avx512_rows8(t),
                      from_rows8);
}

}  // namespace as::packed
