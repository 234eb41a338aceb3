// ops/quant_ops.h: torch wrappers agree bit-exactly with the kernels; shapes, dtypes, errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/int_quant.h"
#include "ops/quant_ops.h"
#include "quantcore/quantcore_test.h"

namespace {

using namespace as;
using as::test::expect_error;


bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b);
}

TEST(QuantOpsFp8, PerTensorMatchesKernel) {
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({33, 65}) * 3.0;
  torch::Tensor s = ops::fp8_scale_per_tensor(x);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({1}));
  const float amax = x.abs().max().item<float>();
  EXPECT_EQ(s.item<float>(), amax / 448.0f);
  ops::Fp8Quantized q = ops::quantize_fp8(x, s);
  ASSERT_EQ(q.codes.scalar_type(), torch::kUInt8);
  auto xa = x.contiguous();
  const float* xp = xa.data_ptr<float>();
  const uint8_t* cp = q.codes.data_ptr<uint8_t>();
  const float sc = s.item<float>();
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(cp[i], kernels::f32_to_e4m3(xp[i] / sc));
  torch::Tensor y = ops::dequantize_fp8(q.codes, q.scale);
  const float* yp = y.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(yp[i], kernels::e4m3_to_f32(cp[i]) * sc);
  EXPECT_TRUE(bit_equal(ops::fake_quant_fp8_per_tensor(x), y));
  // static scale: values beyond 448 * scale saturate
  torch::Tensor st = torch::full({1}, 0.001f);
  torch::Tensor ys = ops::fake_quant_fp8_per_tensor(x, st);
  EXPECT_LE(ys.abs().max().item<float>(), 448.0f * 0.001f);
}

TEST(QuantOpsFp8, PerChannelPerTokenAndDtypes) {
  torch::manual_seed(1);
  torch::Tensor w = torch::randn({16, 40});
  w[3].mul_(50.0);
  torch::Tensor s = ops::fp8_scale_per_channel(w);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({16, 1}));
  EXPECT_TRUE(torch::equal(s, std::get<0>(w.abs().max(1, true)) / 448.0));
  torch::Tensor x = torch::randn({2, 5, 40});
  torch::Tensor st = ops::fp8_scale_per_token(x);
  ASSERT_EQ(st.sizes(), torch::IntArrayRef({2, 5, 1}));
  torch::Tensor ft = ops::fake_quant_fp8_per_token(x);
  ASSERT_EQ(ft.sizes(), x.sizes());
  // each token's max maps exactly to 448 * scale
  EXPECT_TRUE(torch::allclose(std::get<0>(ft.abs().max(-1, true)), std::get<0>(x.abs().max(-1, true)),
                              1e-6, 0));
  // bf16 in, bf16 out
  torch::Tensor wb = w.to(torch::kBFloat16);
  torch::Tensor fb = ops::fake_quant_fp8_per_channel(wb);
  EXPECT_EQ(fb.scalar_type(), torch::kBFloat16);
  // a zero row gets scale 1 and stays zero
  torch::Tensor wz = w.clone();
  wz[0].zero_();
  EXPECT_EQ(ops::fp8_scale_per_channel(wz)[0][0].item<float>(), 1.0f);
  EXPECT_EQ(ops::fake_quant_fp8_per_channel(wz)[0].abs().sum().item<float>(), 0.0f);
}

TEST(QuantOpsFp8, Block128MatchesIndependentComputation) {
  torch::manual_seed(2);
  torch::Tensor w = torch::randn({200, 300});
  w[150][290] = 40.0;
  torch::Tensor s = ops::fp8_scale_block(w);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({2, 3}));
  ops::Fp8Quantized q = ops::quantize_fp8_block(w, s);
  torch::Tensor y = ops::dequantize_fp8_block(q.codes, q.scale);
  EXPECT_TRUE(bit_equal(ops::fake_quant_fp8_block(w), y));
  using torch::indexing::Slice;
  for (int64_t br = 0; br < 2; ++br)
    for (int64_t bc = 0; bc < 3; ++bc) {
      auto idx = std::vector<torch::indexing::TensorIndex>{Slice(br * 128, (br + 1) * 128),
                                                          Slice(bc * 128, (bc + 1) * 128)};
      torch::Tensor blk = w.index(idx);
      const float sc = blk.abs().max().item<float>() / 448.0f;
      EXPECT_EQ(s[br][bc].item<float>(), sc);
      torch::Tensor want = ops::fake_quant_fp8(blk, torch::full({1}, sc));
      EXPECT_TRUE(bit_equal(y.index(idx), want)) << br << "," << bc;
    }
  EXPECT_EQ(s[1][2].item<float>(), 40.0f / 448.0f);
  // custom block sizes
  EXPECT_EQ(ops::fp8_scale_block(w, 64, 100).sizes(), torch::IntArrayRef({4, 3}));
  expect_error([&] { ops::quantize_fp8_block(w, torch::ones({3, 3})); }, "block scale shape");
  expect_error([&] { ops::fp8_scale_block(w, 0, 128, "lm.w"); }, "lm.w");
}

TEST(QuantOpsFp8, Errors) {
  torch::Tensor x = torch::randn({4, 8});
  expect_error([&] { ops::quantize_fp8(x, torch::ones({3})); }, "does not broadcast");
  expect_error([&] { ops::quantize_fp8(x, torch::zeros({1}), "act.q"); }, "act.q");
  torch::Tensor xn = x.clone();
  xn[1][2] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { ops::fake_quant_fp8_per_tensor(xn, {}, "layers.0.input"); }, "layers.0.input");
  expect_error([&] { ops::fp8_scale_per_channel(torch::randn({8}), "w1d"); }, "w1d");
  expect_error([&] { ops::dequantize_fp8(torch::zeros({2}, torch::kInt32), torch::ones({1})); },
               "uint8");
}

TEST(QuantOpsInt, QuantizeMatchesKernelAndDequantRoundTrip) {
  torch::manual_seed(3);
  torch::Tensor w = torch::randn({24, 100});
  for (int bits : {2, 3, 4, 8}) {
    for (int64_t g : {int64_t(32), int64_t(-1)}) {
      for (bool sym : {true, false}) {
        ops::IntQuantized q = ops::quantize_int(w, {bits, g, sym});
        const int64_t ng = g == -1 ? 1 : 4;
        ASSERT_EQ(q.codes.sizes(), torch::IntArrayRef({24, 100}));
        ASSERT_EQ(q.scales.sizes(), torch::IntArrayRef({24, ng}));
        ASSERT_EQ(q.zeros.sizes(), torch::IntArrayRef({24, ng}));
        ASSERT_EQ(q.g_idx.scalar_type(), torch::kInt32);
        std::vector<int8_t> codes(2400), zeros(size_t(24 * ng));
        std::vector<float> scales(size_t(24 * ng));
        kernels::int_quantize_groups(w.data_ptr<float>(), 24, 100, g, bits, sym, codes.data(),
                                     scales.data(), zeros.data());
        ASSERT_EQ(0, std::memcmp(codes.data(), q.codes.data_ptr<int8_t>(), 2400));
        ASSERT_EQ(0, std::memcmp(scales.data(), q.scales.data_ptr<float>(), scales.size() * 4));
        ASSERT_EQ(0, std::memcmp(zeros.data(), q.zeros.data_ptr<int8_t>(), zeros.size()));
        if (sym) {
          EXPECT_EQ(q.zeros.abs().sum().item<int64_t>(), 0);
        }
        torch::Tensor d = ops::dequantize_int(q);
        EXPECT_TRUE(bit_equal(ops::fake_quant_int(w, {bits, g, sym}), d));
        // the torch elementwise helpers give the same numbers (per-channel params)
        if (g == -1) {
          ops::IntRowParams p = ops::int_row_params(w, bits, sym);
          EXPECT_TRUE(torch::equal(p.scale, q.scales.squeeze(1)));
          torch::Tensor qd =
              ops::int_quant_dequant_with(w, p.scale.unsqueeze(1), p.zero.unsqueeze(1), bits);
          EXPECT_TRUE(bit_equal(qd, d));
          torch::Tensor c =
              ops::int_quantize_with(w, p.scale.unsqueeze(1), p.zero.unsqueeze(1), bits);
          EXPECT_TRUE(torch::equal(c.to(torch::kInt8), q.codes));
        }
      }
    }
  }
}

TEST(QuantOpsInt, TiesRoundToEvenInBothPaths) {
  // scale 1 exactly (amax 7.5); half-integers are ties
  torch::Tensor w = torch::tensor({{7.5f, -7.5f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f}});
  ops::IntQuantized q = ops::quantize_int(w, {4, -1, true});
  EXPECT_EQ(q.scales.item<float>(), 1.0f);
  torch::Tensor want = torch::tensor({{7, -8, 0, 2, 2, 0, -2, -2}}, torch::kInt8);
  EXPECT_TRUE(torch::equal(q.codes, want)) << q.codes;
  torch::Tensor c = ops::int_quantize_with(w, torch::ones({1, 1}), torch::zeros({1, 1}), 4);
  EXPECT_TRUE(torch::equal(c.to(torch::kInt8), want));
}

TEST(QuantOpsInt, DequantWithGidxAndDtype) {
  torch::manual_seed(4);
  torch::Tensor w = torch::randn({8, 64}).to(torch::kBFloat16);
  ops::IntQuantized q = ops::quantize_int(w, {4, 16, false});
  EXPECT_TRUE(torch::equal(q.g_idx, torch::arange(64, torch::kInt32).div(16, "floor")));
  EXPECT_EQ(ops::fake_quant_int(w, {4, 16, false}).scalar_type(), torch::kBFloat16);
  // permuted g_idx: dequant follows the map
  ops::IntQuantized q2 = q;
  q2.g_idx = torch::full({64}, 3, torch::kInt32);
  torch::Tensor d2 = ops::dequantize_int(q2);
  torch::Tensor want = (q.codes.to(torch::kFloat) - q.zeros.select(1, 3).unsqueeze(1).to(torch::kFloat)) *
                       q.scales.select(1, 3).unsqueeze(1);
  EXPECT_TRUE(torch::equal(d2, want));
  q2.g_idx[5] = 4;
  expect_error([&] { ops::dequantize_int(q2); }, "g_idx[5]");
}

TEST(QuantOpsInt, PackUnpackCompressedTensorsShapes) {
  torch::manual_seed(5);
  torch::Tensor w = torch::randn({20, 72});
  ops::IntQuantized q = ops::quantize_int(w, {4, 24, false});
  torch::Tensor packed = ops::pack_int32(q.codes, 4);           // weight_packed [N, ceil(K/8)]
  ASSERT_EQ(packed.sizes(), torch::IntArrayRef({20, 9}));
  ASSERT_EQ(packed.scalar_type(), torch::kInt32);
  EXPECT_TRUE(torch::equal(ops::unpack_int32(packed, 4, 72), q.codes));
  torch::Tensor zp = ops::pack_int32(q.zeros, 4, 0);             // weight_zero_point [ceil(N/8), G]
  ASSERT_EQ(zp.sizes(), torch::IntArrayRef({3, 3}));
  EXPECT_TRUE(torch::equal(ops::unpack_int32(zp, 4, 20, 0), q.zeros));
  // first word: codes[0, 0..7] + 8, low nibble first
  uint32_t want = 0;
  for (int j = 0; j < 8; ++j) want |= uint32_t(q.codes[0][j].item<int>() + 8) << (4 * j);
  EXPECT_EQ(uint32_t(packed[0][0].item<int32_t>()), want);
  // zero-point word packs 8 consecutive rows of one group
  want = 0;
  for (int j = 0; j < 8; ++j) want |= uint32_t(q.zeros[j][1].item<int>() + 8) << (4 * j);
  EXPECT_EQ(uint32_t(zp[0][1].item<int32_t>()), want);
  for (int bits : {2, 3, 8}) {
    ops::IntQuantized qb = ops::quantize_int(w, {bits, -1, true});
    EXPECT_TRUE(torch::equal(ops::unpack_int32(ops::pack_int32(qb.codes, bits), bits, 72), qb.codes));
  }
  expect_error([&] { ops::unpack_int32(packed, 4, 80); }, "cannot hold");
  expect_error([&] { ops::pack_int32(q.codes, 4, 2, "qcodes"); }, "qcodes");
  expect_error([&] { ops::pack_int32(torch::full({1, 2}, 9, torch::kInt8), 4, 1, "zp"); }, "zp");
}

TEST(QuantOpsInt, ActivationPerTokenInt8) {
  torch::Tensor x = torch::tensor({{127.0f, -63.5f, 1.0f}, {0.0f, 0.0f, 0.0f}});
  torch::Tensor y = ops::fake_quant_int_per_token(x, 8);
  // scale = amax / 127 = 1: -63.5 is a tie -> -64 (even)
  EXPECT_TRUE(torch::equal(y, torch::tensor({{127.0f, -64.0f, 1.0f}, {0.0f, 0.0f, 0.0f}})));
  torch::Tensor z = ops::fake_quant_int_per_tensor(x * 2, 8);
  EXPECT_TRUE(torch::equal(z, y * 2));
}

TEST(QuantOpsInt, Errors) {
  torch::Tensor w = torch::randn({4, 8});
  expect_error([&] { ops::quantize_int(torch::randn({8}), {4, 8, true}, "model.w"); }, "model.w");
  expect_error([&] { ops::quantize_int(w, {9, 8, true}, "model.w9"); }, "model.w9");
  expect_error([&] { ops::quantize_int(w, {1, 8, true}, "model.w1"); }, "model.w1");
  expect_error([&] { ops::quantize_int(w, {4, 0, true}, "model.g0"); }, "model.g0");
  torch::Tensor wn = w.clone();
  wn[2][3] = std::numeric_limits<float>::infinity();
  expect_error([&] { ops::quantize_int(wn, {4, 8, true}, "layers.2.down_proj.weight"); },
               "layers.2.down_proj.weight");
  expect_error([&] { ops::quantize_int(torch::ones({2, 2}, torch::kInt32), {4, 8, true}, "iw"); },
               "iw");
}

}  // namespace
