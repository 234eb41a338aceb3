// The 32-row transposed ("rows32") layout of sherry125: a permutation of the
// row layout's bytes that lets the table-lookup GEMV read one byte of each of
// 32 rows with one vector load (see packed.h). Conversion both ways, the row
// decoder the tiled GEMM uses, and the layout-generic public entry points
// (rows8 or rows32, whichever the type has).
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/packed/internal.h"

namespace as::packed {
namespace {

// Geometry of a rows32 type: per-channel (fp32 row header, 20-byte blocks) or
// g128 (fp16 block scale + 20 bytes).
struct R32Geom {
  bool pc;
  int64_t nb;  // blocks per row
  int64_t row_bytes() const { return pc ? 4 + nb * 20 : nb * 22; }
  int64_t head() const { return pc ? 128 : 0; }            // group header: 32 fp32 row scales
  int64_t block() const { return pc ? 640 : 64 + 640; }    // group-block: [32 fp16 d] + 20 x 32 bytes
  int64_t group() const { return head() + nb * block(); }  // == 32 * row_bytes()
};

R32Geom r32_geom(QuantType t, int64_t K) {
  switch (t) {
    case QuantType::SHERRY125_PC:
      return {true, K / 128};
    case QuantType::SHERRY125_G128:
      return {false, K / 128};
    default:
      break;
  }
  throw as::Error(std::string("packed rows32: type ") + quant_type(t).name +
                  " has no 32-row transposed layout (supported: sherry125_pc, "
                  "sherry125_g128)");
}

void check_rows32(QuantType t, const char* what, int64_t N, int64_t K, const void* a, const void* b) {
  r32_geom(t, K);
  as::check(N >= 32 && N % 32 == 0 && K > 0 && K % 128 == 0,
            std::string("packed ") + what + ": type " + quant_type(t).name +
                " needs N % 32 == 0 and K % 128 == 0 (N=" + std::to_string(N) + ", K=" + std::to_string(K) + ")");
  as::check(a != nullptr && b != nullptr, std::string("packed ") + what + ": null pointer");
}

// Offset of row r's block byte v (qs[0..15], then sg[0..3]) within the 640
// bytes of a group-block (after its fp16 scales for g128): qs bytes in 64-byte
// chunks pairing vectors 2i and 2i + 1 by halves of 16 rows, sg bytes as
// 32-byte vectors (packed.h).
inline int64_t r32_byte(int v, int r) {
  return v < 16 ? 64 * (v / 2) + 32 * (r / 16) + 16 * (v % 2) + r % 16 : 512 + 32 * (v - 16) + r;
}

// Walks the permutation: row r's block bytes go to r32_byte(v, r) of
// group-block b; its scale to 4r of the group header (pc) or 2r of the
// group-block (g128).
template <bool ToRows32>
void permute_rows32(const R32Geom& g, const uint8_t* src, int64_t N, uint8_t* dst) {
  const int64_t rb = g.row_bytes();
  for (int64_t gi = 0; gi < N / 32; ++gi) {
    const int64_t gbase = gi * g.group();
    for (int r = 0; r < 32; ++r) {
      const int64_t row = (gi * 32 + r) * rb;
      auto move = [&](int64_t r32_off, int64_t row_off, size_t n) {
        if (ToRows32)
          std::memcpy(dst + gbase + r32_off, src + row + row_off, n);
        else
          std::memcpy(dst + row + row_off, src + gbase + r32_off, n);
      };
      if (g.pc) move(4 * r, 0, 4);
      for (int64_t b = 0; b < g.nb; ++b) {
        const int64_t gb = g.head() + b * g.block(), rbk = g.pc ? 4 + b * 20 : b * 22;
        if (!g.pc) move(gb + 2 * r, rbk, 2);
        const int64_t vec0 = gb + (g.pc ? 0 : 64), byte0 = rbk + (g.pc ? 0 : 2);
        for (int v = 0; v < 20; ++v) move(vec0 + r32_byte(v, r), byte0 + v, 1);
      }
    }
  }
}

}  // namespace

bool rows32_supported(QuantType t) { return t == QuantType::SHERRY125_PC || t == QuantType::SHERRY125_G128; }

void to_rows32(QuantType t, const uint8_t* rows, int64_t N, int64_t K, uint8_t* out) {
  check_rows32(t, "to_rows32", N, K, rows, out);
  permute_rows32<true>(r32_geom(t, K), rows, N, out);
}

void from_rows32(QuantType t, const uint8_t* r32, int64_t N, int64_t K, uint8_t* out) {
  check_rows32(t, "from_rows32", N, K, r32, out);
  permute_rows32<false>(r32_geom(t, K), r32, N, out);
}

namespace detail {

void decode_rows32_row(QuantType t, const uint8_t* r32, int64_t n, int64_t K, uint8_t* dst, int64_t quad_stride,
                       float* blk_scale) {
  const R32Geom g = r32_geom(t, K);
  thread_local std::vector<uint8_t> row;
  uint8_t* p = scratch(row, size_t(g.row_bytes()));
  const uint8_t* base = r32 + (n / 32) * g.group();
  const int64_t r = n % 32;
  if (g.pc) std::memcpy(p, base + 4 * r, 4);
  for (int64_t b = 0; b < g.nb; ++b) {
    const uint8_t* gb = base + g.head() + b * g.block();
    uint8_t* out = p + (g.pc ? 4 + b * 20 : b * 22);
    if (!g.pc) std::memcpy(out, gb + 2 * r, 2), out += 2, gb += 64;
    for (int v = 0; v < 20; ++v) out[v] = gb[r32_byte(v, int(r))];
  }
  type_impl(t).decode(p, K, dst, quad_stride, blk_scale);
}

}  // namespace detail

void gemm_rows32(QuantType t, const uint8_t* il, int64_t N, int64_t K, const float* X, int64_t M, float* Y, Isa isa) {
  check_rows32(t, "gemm_rows32", N, K, il, Y);
  detail::gemm_layout("gemm_rows32", t, il, N, K, X, M, Y, isa, detail::avx2_rows32(t),
                      detail::cpu_has_vbmi() ? detail::avx512vbmi_rows32(t) : detail::avx512_rows32(t),
                      from_rows32);
}

}  // namespace as::packed
