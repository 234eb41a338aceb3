// Quantization ops on torch::Tensor: FP8 (E4M3FN) and integer (2..8 bit) quantize, dequantize and
// fake-quant (quantize-dequantize). The numerics are the torch-free kernels in kernels/int_quant.h
// and kernels/fp8.h, so results are bit-identical to them; see kernels/int_quant.h for the scale and
// zero-point conventions.
//
// Common rules:
//   * inputs may be any floating dtype on the CPU; math is fp32. Fake-quant results keep the input's
//     dtype; scales are float32; FP8 codes are uint8 (E4M3FN bit patterns), integer codes and zero
//     points are int8 (signed, see the convention).
//   * non-finite input values, bad shapes and bad parameters throw as::Error naming `name`.
//   * these ops carry no autograd (they are export / calibration tools).
#pragma once
#include <torch/types.h>

#include <string>

namespace as::ops {

// ------------------------------------------------------------------------------------------------
// FP8 E4M3FN. scale = amax / 448 (dequant multiplier), amax == 0 -> 1; encoding saturates at +-448.

// Scale tensors (float32):
torch::Tensor fp8_scale_per_tensor(const torch::Tensor& x, const std::string& name = "x");  // [1]
torch::Tensor fp8_scale_per_channel(const torch::Tensor& w, const std::string& name = "weight");  // [out, 1], w 2-D
torch::Tensor fp8_scale_per_token(const torch::Tensor& x, const std::string& name = "x");  // x.shape[:-1] + [1]
torch::Tensor fp8_scale_block(const torch::Tensor& w, int64_t block_rows = 128,
                              int64_t block_cols = 128, const std::string& name = "weight");  // [ceil(out/br), ceil(in/bc)]
// scale = amax / 448 elementwise on a tensor of absolute maxima (e.g. an observer's running max).
torch::Tensor fp8_scale_from_amax(const torch::Tensor& amax, const std::string& name = "amax");

struct Fp8Quantized {
  torch::Tensor codes;  // uint8, shape of the input
  torch::Tensor scale;  // float32, per-tensor [1] / per-channel [out,1] / per-token [...,1] / block grid
};

// codes = e4m3(x / scale) with `scale` broadcastable to x (per-tensor, per-channel, per-token).
Fp8Quantized quantize_fp8(const torch::Tensor& x, const torch::Tensor& scale,
                          const std::string& name = "x");
// Block scales [ceil(rows/br), ceil(cols/bc)] for a 2-D x.
Fp8Quantized quantize_fp8_block(const torch::Tensor& w, const torch::Tensor& scale,
                                int64_t block_rows = 128, int64_t block_cols = 128,
                                const std::string& name = "weight");
// decode(codes) * scale, in `dtype`.
torch::Tensor dequantize_fp8(const torch::Tensor& codes, const torch::Tensor& scale,
                             torch::ScalarType dtype = torch::kFloat32);
torch::Tensor dequantize_fp8_block(const torch::Tensor& codes, const torch::Tensor& scale,
                                   int64_t block_rows = 128, int64_t block_cols = 128,
                                   torch::ScalarType dtype = torch::kFloat32);

// Fake quant (QDQ). The per-tensor form uses `scale` when it is defined (static) and amax/448 of x
// otherwise (dynamic).
torch::Tensor fake_quant_fp8(const torch::Tensor& x, const torch::Tensor& scale,
                             const std::string& name = "x");  // broadcastable scale
torch::Tensor fake_quant_fp8_per_tensor(const torch::Tensor& x, const torch::Tensor& scale = {},
                                        const std::string& name = "x");
torch::Tensor fake_quant_fp8_per_channel(const torch::Tensor& w, const std::string& name = "weight");
torch::Tensor fake_quant_fp8_per_token(const torch::Tensor& x, const std::string& name = "x");
torch::Tensor fake_quant_fp8_block(const torch::Tensor& w, int64_t block_rows = 128,
                                   int64_t block_cols = 128, const std::string& name = "weight");

// ------------------------------------------------------------------------------------------------
// Integer group-wise weights [out, in].

struct IntQuantSpec {
  int bits = 4;
  int64_t group_size = 128;  // -1: per-channel (one group per output row)
  bool symmetric = true;
};

struct IntQuantized {
  torch::Tensor codes;   // int8 [out, in], signed in [-2^(b-1), 2^(b-1)-1]
  torch::Tensor scales;  // float32 [out, n_groups]
  torch::Tensor zeros;   // int8 [out, n_groups], signed; all 0 when symmetric
  torch::Tensor g_idx;   // int32 [in], group of each input column (j / group_size unless act-order)
  int bits = 4;
  bool symmetric = true;
};

// Round-to-nearest quantization with per-group min/max parameters.
IntQuantized quantize_int(const torch::Tensor& w, const IntQuantSpec& spec,
                          const std::string& name = "weight");
// w[:, j] = (codes[:, j] - zeros[:, g_idx[j]]) * scales[:, g_idx[j]], in `dtype`.
torch::Tensor dequantize_int(const IntQuantized& q, torch::ScalarType dtype = torch::kFloat32);
// quantize_int + dequantize_int, in w's dtype.
torch::Tensor fake_quant_int(const torch::Tensor& w, const IntQuantSpec& spec,
                             const std::string& name = "weight");

// Per-row parameters of a [rows, n] slice (min/max over each row): scale float32 [rows], zero
// float32 [rows] holding integers (float so it broadcasts in the helpers below).
struct IntRowParams {
  torch::Tensor scale;
  torch::Tensor zero;
};
IntRowParams int_row_params(const torch::Tensor& w, int bits, bool symmetric,
                            const std::string& name = "weight");
// Elementwise with broadcastable scale/zero (float32): codes = clamp(rne(w/scale) + zero, qmin, qmax)
// as float32, and the QDQ value (codes - zero) * scale. Used by GPTQ column by column.
torch::Tensor int_quantize_with(const torch::Tensor& w, const torch::Tensor& scale,
                                const torch::Tensor& zero, int bits);
torch::Tensor int_quant_dequant_with(const torch::Tensor& w, const torch::Tensor& scale,
                                     const torch::Tensor& zero, int bits);

// Dynamic symmetric integer activation fake quant, runtime (vLLM/SmoothQuant) convention:
// scale = amax / (2^(b-1) - 1) per token row (last dim) or per tensor; q = clamp(rne(x/scale)).
torch::Tensor fake_quant_int_per_token(const torch::Tensor& x, int bits = 8,
                                       const std::string& name = "x");
torch::Tensor fake_quant_int_per_tensor(const torch::Tensor& x, int bits = 8,
                                        const std::string& name = "x");

// compressed-tensors pack_to_int32 along `dim` (0 or 1) of a 2-D int8 code tensor: 32/bits values
// per int32, u = q + 2^(b-1), lowest index in the lowest bits, zero-padded. dim 1: weight_packed
// [out, ceil(in/f)]; dim 0: packed zero points [ceil(out/f), n_groups].
torch::Tensor pack_int32(const torch::Tensor& codes, int bits, int64_t dim = 1,
                         const std::string& name = "codes");
// Inverse; `size` is the unpacked length along `dim`.
torch::Tensor unpack_int32(const torch::Tensor& packed, int bits, int64_t size, int64_t dim = 1,
                           const std::string& name = "packed");

// Throws as::Error naming `name` if x has a NaN or an infinity.
void check_finite(const torch::Tensor& x, const std::string& name);
// A tensor's shape as "[2, 3]", for error messages.
std::string shape_str(const torch::Tensor& t);

}  // namespace as::ops
