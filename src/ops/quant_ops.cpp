#include "ops/quant_ops.h"

#include <ATen/Parallel.h>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/int_quant.h"

namespace as::ops {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel task for elementwise loops

// True when `s` broadcasts to x's shape without growing it.
bool broadcasts_to(const torch::Tensor& s, const torch::Tensor& x) {
  if (s.dim() > x.dim()) return s.numel() == 1;
  for (int64_t i = 1; i <= s.dim(); ++i)
    if (s.size(-i) != 1 && s.size(-i) != x.size(-i)) return false;
  return true;
}

void check_float(const torch::Tensor& x, const std::string& name) {
  check(x.defined(), name + ": tensor is undefined");
  check(torch::isFloatingType(x.scalar_type()),
        name + ": expected a floating-point tensor, got " + std::string(c10::toString(x.scalar_type())));
}

void check_2d(const torch::Tensor& x, const std::string& name) {
  check(x.dim() == 2, name + ": expected a 2-D tensor, got shape " + shape_str(x));
}

// fp32, CPU, contiguous view of x (copies only when needed).
torch::Tensor f32(const torch::Tensor& x) {
  return x.to(torch::kCPU, torch::kFloat32).contiguous();
}

void check_scale(const torch::Tensor& scale, const std::string& name) {
  check(scale.defined(), name + ": scale tensor is undefined");
  check_float(scale, name + " scale");
  torch::Tensor s = f32(scale);
  check(torch::isfinite(s).all().item<bool>() && (s > 0).all().item<bool>(),
        name + ": scales must be finite and > 0");
}

// Elementwise E4M3 encode of a contiguous fp32 tensor.
torch::Tensor encode_e4m3(const torch::Tensor& y) {
  torch::Tensor q = torch::empty(y.sizes(), torch::TensorOptions().dtype(torch::kUInt8));
  const float* src = y.data_ptr<float>();
  uint8_t* dst = q.data_ptr<uint8_t>();
  at::parallel_for(0, y.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = kernels::f32_to_e4m3(src[i]);
  });
  return q;
}

torch::Tensor decode_e4m3(const torch::Tensor& codes) {
  torch::Tensor c = codes.to(torch::kCPU).contiguous();
  torch::Tensor y = torch::empty(c.sizes(), torch::TensorOptions().dtype(torch::kFloat32));
  const uint8_t* src = c.data_ptr<uint8_t>();
  float* dst = y.data_ptr<float>();
  at::parallel_for(0, c.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = kernels::e4m3_to_f32(src[i]);
  });
  return y;
}

void check_codes_u8(const torch::Tensor& codes, const std::string& name) {
  check(codes.defined() && codes.scalar_type() == torch::kUInt8,
        name + ": FP8 codes must be a uint8 tensor");
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_block_scale(const torch::Tensor& w, const torch::Tensor& scale, int64_t br, int64_t bc,
                       const std::string& name) {
  check(br > 0 && bc > 0, name + ": block sizes must be positive, got " + std::to_string(br) +
                              "x" + std::to_string(bc));
  check_2d(w, name);
  check(scale.defined() && scale.dim() == 2 && scale.size(0) == ceil_div(w.size(0), br) &&
            scale.size(1) == ceil_div(w.size(1), bc),
        name + ": block scale shape " + (scale.defined() ? shape_str(scale) : std::string("[]")) +
            " does not match weight " + shape_str(w) + " with blocks " + std::to_string(br) + "x" +
            std::to_string(bc));
}

// Row-parallel helper over a contiguous [rows, cols] fp32 matrix.
template <typename F>
void for_rows(int64_t rows, int64_t cols, F&& f) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1));
  at::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) { f(b, e); });
}

}  // namespace

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void check_finite(const torch::Tensor& x, const std::string& name) {
  check(x.defined(), name + ": tensor is undefined");
  if (!torch::isFloatingType(x.scalar_type())) return;
  check(torch::isfinite(x).all().item<bool>(), name + ": contains NaN or infinite values");
}

// ---------------------------------------------------------------------------------------------
// FP8

torch::Tensor fp8_scale_per_tensor(const torch::Tensor& x, const std::string& name) {
  check_float(x, name);
  check_finite(x, name);
  const float amax = x.numel() ? x.abs().max().to(torch::kFloat32).item<float>() : 0.0f;
  return torch::full({1}, kernels::fp8_scale_from_amax(amax), torch::kFloat32);
}

torch::Tensor fp8_scale_per_channel(const torch::Tensor& w, const std::string& name) {
  check_float(w, name);
  check_2d(w, name);
  check_finite(w, name);
  torch::Tensor wf = f32(w);
  const int64_t rows = wf.size(0), cols = wf.size(1);
  torch::Tensor s = torch::empty({rows, 1}, torch::kFloat32);
  const float* src = wf.data_ptr<float>();
  float* dst = s.data_ptr<float>();
  for_rows(rows, cols, [&](int64_t b, int64_t e) {
    kernels::fp8_row_scales(src + b * cols, size_t(e - b), size_t(cols), dst + b);
  });
  return s;
}

torch::Tensor fp8_scale_per_token(const torch::Tensor& x, const std::string& name) {
  check_float(x, name);
  check(x.dim() >= 1, name + ": per-token scales need at least 1 dimension");
  const int64_t cols = x.size(-1);
  auto out_shape = x.sizes().vec();
  out_shape.back() = 1;
  if (x.numel() == 0) return torch::ones(out_shape, torch::kFloat32);
  return fp8_scale_per_channel(x.reshape({-1, cols}), name).reshape(out_shape);
}

torch::Tensor fp8_scale_block(const torch::Tensor& w, int64_t block_rows, int64_t block_cols,
                              const std::string& name) {
  check_float(w, name);
  check_2d(w, name);
  check(block_rows > 0 && block_cols > 0, name + ": block sizes must be positive");
  check_finite(w, name);
  torch::Tensor wf = f32(w);
  const int64_t rows = wf.size(0), cols = wf.size(1);
  torch::Tensor s = torch::empty({ceil_div(rows, block_rows), ceil_div(cols, block_cols)},
                                 torch::kFloat32);
  kernels::fp8_block_scales(wf.data_ptr<float>(), size_t(rows), size_t(cols), size_t(block_rows),
                            size_t(block_cols), s.data_ptr<float>());
  return s;
}

torch::Tensor fp8_scale_from_amax(const torch::Tensor& amax, const std::string& name) {
  check_float(amax, name);
  torch::Tensor a = f32(amax);
  check(torch::isfinite(a).all().item<bool>() && (a >= 0).all().item<bool>(),
        name + ": amax must be finite and >= 0");
  torch::Tensor s = torch::empty_like(a);
  const float* src = a.data_ptr<float>();
  float* dst = s.data_ptr<float>();
  for (int64_t i = 0; i < a.numel(); ++i) dst[i] = kernels::fp8_scale_from_amax(src[i]);
  return s;
}

Fp8Quantized quantize_fp8(const torch::Tensor& x, const torch::Tensor& scale,
                          const std::string& name) {
  check_float(x, name);
  check_scale(scale, name);
  check_finite(x, name);
  check(broadcasts_to(scale, x), name + ": scale shape " + shape_str(scale) +
                                     " does not broadcast to " + shape_str(x));
  torch::Tensor s = f32(scale);
  torch::Tensor y = (f32(x) / s).reshape(x.sizes());
  return {encode_e4m3(y.contiguous()).to(x.device()), s.to(x.device())};
}

Fp8Quantized quantize_fp8_block(const torch::Tensor& w, const torch::Tensor& scale,
                                int64_t block_rows, int64_t block_cols, const std::string& name) {
  check_float(w, name);
  check_block_scale(w, scale, block_rows, block_cols, name);
  check_scale(scale, name);
  check_finite(w, name);
  torch::Tensor wf = f32(w), s = f32(scale);
  const int64_t rows = wf.size(0), cols = wf.size(1);
  torch::Tensor q = torch::empty({rows, cols}, torch::kUInt8);
  const float* src = wf.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  uint8_t* dst = q.data_ptr<uint8_t>();
  // Parallel over whole row-blocks so each task sees complete block rows.
  const int64_t nbr = ceil_div(rows, block_rows);
  at::parallel_for(0, nbr, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t r0 = k * block_rows, r1 = std::min(rows, r0 + block_rows);
      kernels::fp8_quantize_blocks(src + r0 * cols, size_t(r1 - r0), size_t(cols),
                                   size_t(block_rows), size_t(block_cols), sp + k * s.size(1),
                                   dst + r0 * cols);
    }
  });
  return {q.to(w.device()), s.to(w.device())};
}

torch::Tensor dequantize_fp8(const torch::Tensor& codes, const torch::Tensor& scale,
                             torch::ScalarType dtype) {
  check_codes_u8(codes, "dequantize_fp8");
  check(scale.defined(), "dequantize_fp8: scale tensor is undefined");
  check(broadcasts_to(scale, codes), "dequantize_fp8: scale shape " + shape_str(scale) +
                                         " does not broadcast to " + shape_str(codes));
  torch::Tensor y = (decode_e4m3(codes) * f32(scale)).reshape(codes.sizes());
  return y.to(codes.device(), dtype);
}

torch::Tensor dequantize_fp8_block(const torch::Tensor& codes, const torch::Tensor& scale,
                                   int64_t block_rows, int64_t block_cols, torch::ScalarType dtype) {
  check_codes_u8(codes, "dequantize_fp8_block");
  check_block_scale(codes, scale, block_rows, block_cols, "dequantize_fp8_block");
  torch::Tensor c = codes.to(torch::kCPU).contiguous(), s = f32(scale);
  const int64_t rows = c.size(0), cols = c.size(1);
  torch::Tensor w = torch::empty({rows, cols}, torch::kFloat32);
  kernels::fp8_dequantize_blocks(c.data_ptr<uint8_t>(), size_t(rows), size_t(cols),
                                 size_t(block_rows), size_t(block_cols), s.data_ptr<float>(),
                                 w.data_ptr<float>());
  return w.to(codes.device(), dtype);
}

torch::Tensor fake_quant_fp8(const torch::Tensor& x, const torch::Tensor& scale,
                             const std::string& name) {
  Fp8Quantized q = quantize_fp8(x, scale, name);
  return dequantize_fp8(q.codes, q.scale, x.scalar_type());
}

torch::Tensor fake_quant_fp8_per_tensor(const torch::Tensor& x, const torch::Tensor& scale,
                                        const std::string& name) {
  return fake_quant_fp8(x, scale.defined() ? scale : fp8_scale_per_tensor(x, name), name);
}

torch::Tensor fake_quant_fp8_per_channel(const torch::Tensor& w, const std::string& name) {
  return fake_quant_fp8(w, fp8_scale_per_channel(w, name), name);
}

torch::Tensor fake_quant_fp8_per_token(const torch::Tensor& x, const std::string& name) {
  return fake_quant_fp8(x, fp8_scale_per_token(x, name), name);
}

torch::Tensor fake_quant_fp8_block(const torch::Tensor& w, int64_t block_rows, int64_t block_cols,
                                   const std::string& name) {
  torch::Tensor s = fp8_scale_block(w, block_rows, block_cols, name);
  Fp8Quantized q = quantize_fp8_block(w, s, block_rows, block_cols, name);
  return dequantize_fp8_block(q.codes, q.scale, block_rows, block_cols, w.scalar_type());
}

// ---------------------------------------------------------------------------------------------
// Integer

IntQuantized quantize_int(const torch::Tensor& w, const IntQuantSpec& spec,
                          const std::string& name) {
  check_float(w, name);
  check_2d(w, name);
  kernels::check_int_bits(spec.bits, name.c_str());
  check(spec.group_size == -1 || spec.group_size > 0,
        name + ": group_size must be -1 or positive, got " + std::to_string(spec.group_size));
  check_finite(w, name);
  torch::Tensor wf = f32(w);
  const int64_t rows = wf.size(0), cols = wf.size(1);
  const int64_t ng = int64_t(kernels::int_num_groups(size_t(cols), spec.group_size));
  IntQuantized q;
  q.bits = spec.bits;
  q.symmetric = spec.symmetric;
  q.codes = torch::empty({rows, cols}, torch::kInt8);
  q.scales = torch::empty({rows, ng}, torch::kFloat32);
  q.zeros = torch::empty({rows, ng}, torch::kInt8);
  const float* src = wf.data_ptr<float>();
  int8_t* codes = q.codes.data_ptr<int8_t>();
  float* scales = q.scales.data_ptr<float>();
  int8_t* zeros = q.zeros.data_ptr<int8_t>();
  for_rows(rows, cols, [&](int64_t b, int64_t e) {
    kernels::int_quantize_groups(src + b * cols, size_t(e - b), size_t(cols), spec.group_size,
                                 spec.bits, spec.symmetric, codes + b * cols, scales + b * ng,
                                 zeros + b * ng);
  });
  const int64_t g = spec.group_size == -1 ? std::max<int64_t>(cols, 1) : spec.group_size;
  q.g_idx = torch::div(torch::arange(cols, torch::kInt64), g, "floor").to(torch::kInt32);
  return q;
}

torch::Tensor dequantize_int(const IntQuantized& q, torch::ScalarType dtype) {
  check(q.codes.defined() && q.codes.scalar_type() == torch::kInt8 && q.codes.dim() == 2,
        "dequantize_int: codes must be a 2-D int8 tensor");
  const int64_t rows = q.codes.size(0), cols = q.codes.size(1);
  check(q.scales.defined() && q.scales.dim() == 2 && q.scales.size(0) == rows,
        "dequantize_int: scales must be [" + std::to_string(rows) + ", n_groups]");
  const int64_t ng = q.scales.size(1);
  check(q.zeros.defined() && q.zeros.scalar_type() == torch::kInt8 &&
            q.zeros.sizes() == q.scales.sizes(),
        "dequantize_int: zeros must be int8 with the shape of scales " + shape_str(q.scales));
  torch::Tensor g_idx;
  if (q.g_idx.defined()) {
    check(q.g_idx.dim() == 1 && q.g_idx.size(0) == cols,
          "dequantize_int: g_idx must have " + std::to_string(cols) + " entries");
    g_idx = q.g_idx.to(torch::kCPU, torch::kInt32).contiguous();
  } else {
    check(cols % ng == 0 || ng == 1, "dequantize_int: cannot infer groups without g_idx");
    g_idx = torch::div(torch::arange(cols, torch::kInt64), std::max<int64_t>(cols / ng, 1), "floor")
                .clamp_max(ng - 1)
                .to(torch::kInt32);
  }
  torch::Tensor c = q.codes.to(torch::kCPU).contiguous();
  torch::Tensor s = f32(q.scales);
  torch::Tensor z = q.zeros.to(torch::kCPU).contiguous();
  torch::Tensor w = torch::empty({rows, cols}, torch::kFloat32);
  const int32_t* gi = g_idx.data_ptr<int32_t>();
  for (int64_t j = 0; j < cols; ++j)
    check(gi[j] >= 0 && gi[j] < ng, "dequantize_int: g_idx[" + std::to_string(j) + "] = " +
                                        std::to_string(gi[j]) + " is outside [0, " +
                                        std::to_string(ng) + ")");
  const int8_t* cp = c.data_ptr<int8_t>();
  const float* sp = s.data_ptr<float>();
  const int8_t* zp = z.data_ptr<int8_t>();
  float* wp = w.data_ptr<float>();
  for_rows(rows, cols, [&](int64_t b, int64_t e) {
    kernels::int_dequantize_gidx(cp + b * cols, sp + b * ng, zp + b * ng, size_t(e - b),
                                 size_t(cols), size_t(ng), gi, wp + b * cols);
  });
  return w.to(q.codes.device(), dtype);
}

torch::Tensor fake_quant_int(const torch::Tensor& w, const IntQuantSpec& spec,
                             const std::string& name) {
  return dequantize_int(quantize_int(w, spec, name), w.scalar_type()).to(w.device());
}

IntRowParams int_row_params(const torch::Tensor& w, int bits, bool symmetric,
                            const std::string& name) {
  check_float(w, name);
  check_2d(w, name);
  kernels::check_int_bits(bits, name.c_str());
  check_finite(w, name);
  torch::Tensor wf = f32(w);
  const int64_t rows = wf.size(0), cols = wf.size(1);
  IntRowParams p{torch::empty({rows}, torch::kFloat32), torch::empty({rows}, torch::kFloat32)};
  const float* src = wf.data_ptr<float>();
  float* sp = p.scale.data_ptr<float>();
  float* zp = p.zero.data_ptr<float>();
  for_rows(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const kernels::IntQParams q =
          kernels::int_qparams_of(src + r * cols, size_t(cols), bits, symmetric);
      sp[r] = q.scale;
      zp[r] = float(q.zero);
    }
  });
  return p;
}

torch::Tensor int_quantize_with(const torch::Tensor& w, const torch::Tensor& scale,
                                const torch::Tensor& zero, int bits) {
  kernels::check_int_bits(bits, "int_quantize_with");
  return torch::clamp(torch::round(w.to(torch::kFloat32) / scale) + zero,
                      double(kernels::int_qmin(bits)), double(kernels::int_qmax(bits)));
}

torch::Tensor int_quant_dequant_with(const torch::Tensor& w, const torch::Tensor& scale,
                                     const torch::Tensor& zero, int bits) {
  return (int_quantize_with(w, scale, zero, bits) - zero) * scale;
}

namespace {
torch::Tensor fake_quant_int_sym_dynamic(const torch::Tensor& x, const torch::Tensor& amax,
                                         int bits) {
  const double qmax = double(kernels::int_qmax(bits));
  torch::Tensor scale = torch::where(amax > 0, amax / qmax, torch::ones_like(amax));
  torch::Tensor xf = x.to(torch::kFloat32);
  torch::Tensor q = torch::clamp(torch::round(xf / scale), double(kernels::int_qmin(bits)), qmax);
  return (q * scale).to(x.scalar_type());
}
}  // namespace

torch::Tensor fake_quant_int_per_token(const torch::Tensor& x, int bits, const std::string& name) {
  check_float(x, name);
  kernels::check_int_bits(bits, name.c_str());
  check(x.dim() >= 1, name + ": per-token quantization needs at least 1 dimension");
  check_finite(x, name);
  if (x.numel() == 0) return x.clone();
  torch::Tensor amax = std::get<0>(x.to(torch::kFloat32).abs().max(-1, true));
  return fake_quant_int_sym_dynamic(x, amax, bits);
}

torch::Tensor fake_quant_int_per_tensor(const torch::Tensor& x, int bits, const std::string& name) {
  check_float(x, name);
  kernels::check_int_bits(bits, name.c_str());
  check_finite(x, name);
  if (x.numel() == 0) return x.clone();
  return fake_quant_int_sym_dynamic(x, x.to(torch::kFloat32).abs().max(), bits);
}

torch::Tensor pack_int32(const torch::Tensor& codes, int bits, int64_t dim,
                         const std::string& name) {
  check(codes.defined() && codes.scalar_type() == torch::kInt8,
        name + ": codes to pack must be an int8 tensor");
  check_2d(codes, name);
  check(dim == 0 || dim == 1, name + ": pack dim must be 0 or 1, got " + std::to_string(dim));
  kernels::check_int_bits(bits, name.c_str());
  torch::Tensor c = (dim == 1 ? codes : codes.t()).to(torch::kCPU).contiguous();
  const int64_t rows = c.size(0), n = c.size(1);
  const int64_t words = int64_t(kernels::int_packed_len(size_t(n), bits));
  torch::Tensor p = torch::zeros({rows, words}, torch::kInt32);
  const int8_t* cp = c.data_ptr<int8_t>();
  int32_t* pp = p.data_ptr<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    try {
      kernels::pack_int32(cp + r * n, size_t(n), bits, pp + r * words);
    } catch (const Error& e) {
      throw Error(name + " row " + std::to_string(r) + ": " + e.what());
    }
  }
  return (dim == 1 ? p : p.t().contiguous()).to(codes.device());
}

torch::Tensor unpack_int32(const torch::Tensor& packed, int bits, int64_t size, int64_t dim,
                           const std::string& name) {
  check(packed.defined() && packed.scalar_type() == torch::kInt32,
        name + ": packed tensor must be int32");
  check_2d(packed, name);
  check(dim == 0 || dim == 1, name + ": unpack dim must be 0 or 1, got " + std::to_string(dim));
  kernels::check_int_bits(bits, name.c_str());
  torch::Tensor p = (dim == 1 ? packed : packed.t()).to(torch::kCPU).contiguous();
  const int64_t rows = p.size(0), words = p.size(1);
  check(size >= 0 && int64_t(kernels::int_packed_len(size_t(size), bits)) == words,
        name + ": " + std::to_string(words) + " packed words cannot hold " + std::to_string(size) +
            " values of " + std::to_string(bits) + " bits");
  torch::Tensor c = torch::empty({rows, size}, torch::kInt8);
  for (int64_t r = 0; r < rows; ++r)
    kernels::unpack_int32(p.data_ptr<int32_t>() + r * words, size_t(size), bits,
                          c.data_ptr<int8_t>() + r * size);
  return (dim == 1 ? c : c.t().contiguous()).to(packed.device());
}

}  // namespace as::ops
