// Algorithm cores on synthetic tensors: RTN, GPTQ, AWQ, SmoothQuant, FP8 static / LeptoQuant.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "ops/quant_ops.h"
#include "quant/core/awq.h"
#include "quant/core/fp8_calib.h"
#include "quant/core/gptq.h"
#include "quant/core/rtn.h"
#include "quant/core/smoothquant.h"
#include "quantcore/quantcore_test.h"

namespace {

using namespace as;
using as::test::expect_error;
using torch::indexing::Slice;


// Correlated activations [T, in] with log-normal channel magnitudes; `outliers` multiplies a few
// channels by 25 (the activation-outlier pattern of LLM hidden states).
torch::Tensor make_acts(int64_t T, int64_t in, bool outliers, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor mix = torch::eye(in) + torch::randn({in, in}) * (0.6 / std::sqrt(double(in)));
  torch::Tensor x = torch::randn({T, in}).matmul(mix);
  torch::Tensor mags = torch::exp(torch::randn({in}) * 0.5);
  if (outliers) {
    torch::Tensor idx = torch::randperm(in).index({Slice(0, std::max<int64_t>(2, in / 64))});
    mags.index_put_({idx}, mags.index({idx}) * 25.0);
  }
  return x * mags.unsqueeze(0);
}

double out_err(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& q) {
  return (x.to(torch::kFloat64).matmul((w - q).to(torch::kFloat64).t())).norm().item<double>();
}

// ---------------------------------------------------------------------------------------------
// RTN

TEST(Rtn, MatchesFakeQuantAndErrors) {
  torch::manual_seed(0);
  torch::Tensor w = torch::randn({32, 96});
  quant::RtnResult r = quant::rtn_quantize(w, {4, 32, true});
  EXPECT_TRUE(torch::equal(r.weight, ops::fake_quant_int(w, {4, 32, true})));
  EXPECT_TRUE(torch::equal(r.weight, ops::dequantize_int(r.q)));
  expect_error([&] { quant::rtn_quantize(w, {10, 32, true}, "blk.0.attn_q"); }, "blk.0.attn_q");
}

// ---------------------------------------------------------------------------------------------
// GPTQ

TEST(Gptq, HessianStreamingMeanMatchesBatch) {
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({300, 48});
  quant::HessianAccumulator acc(48);
  acc.add(x.index({Slice(0, 100)}).reshape({4, 25, 48}));  // any leading shape
  acc.add(x.index({Slice(100, 101)}));
  acc.add(x.index({Slice(101, 101)}));  // empty batch is a no-op
  acc.add(x.index({Slice(101, 300)}));
  EXPECT_EQ(acc.tokens(), 300);
  torch::Tensor xd = x.to(torch::kFloat64);
  torch::Tensor want = xd.t().matmul(xd) * (2.0 / 300.0);
  EXPECT_TRUE(torch::allclose(acc.hessian(), want, 1e-12, 1e-12));
  quant::HessianAccumulator acc32(48, torch::kFloat32);
  acc32.add(x);
  EXPECT_TRUE(torch::allclose(acc32.hessian().to(torch::kFloat64), want, 1e-5, 1e-5));
  expect_error([&] { acc.add(torch::randn({3, 47})); }, "activations");
  torch::Tensor xn = torch::randn({2, 48});
  xn[1][1] = std::numeric_limits<float>::quiet_NaN();
  quant::HessianAccumulator named(48, torch::kFloat64, "layers.1.mlp.down_proj input");
  expect_error([&] { named.add(xn); }, "layers.1.mlp.down_proj input");
}

struct GptqCase {
  int bits;
  int64_t group;
  bool sym;
  bool outliers;
};

class GptqVsRtn : public ::testing::TestWithParam<GptqCase> {};

TEST_P(GptqVsRtn, OutputErrorStrictlyBelowRtn) {
  const GptqCase c = GetParam();
  const int64_t out = 64, in = 256, T = 1024;
  torch::Tensor x = make_acts(T, in, c.outliers, 10 + uint64_t(c.bits));
  torch::manual_seed(20);
  torch::Tensor w = torch::randn({out, in}) * 0.05;
  quant::HessianAccumulator acc(in);
  for (int64_t i = 0; i < T; i += 256) acc.add(x.index({Slice(i, i + 256)}));

  quant::GptqConfig cfg;
  cfg.bits = c.bits;
  cfg.group_size = c.group;
  cfg.symmetric = c.sym;
  quant::GptqResult g = quant::gptq_quantize(w, acc.hessian(), cfg);
  quant::RtnResult r = quant::rtn_quantize(w, {c.bits, c.group, c.sym});
  const double eg = out_err(x, w, g.weight), er = out_err(x, w, r.weight);
  EXPECT_LT(eg, er) << "gptq " << eg << " rtn " << er;
  EXPECT_LT(eg, 0.95 * er);  // not a marginal win

  // exported tensors reproduce the weight exactly; codes in range; trivial g_idx
  EXPECT_TRUE(torch::equal(ops::dequantize_int(g.q), g.weight));
  EXPECT_GE(g.q.codes.min().item<int>(), -(1 << (c.bits - 1)));
  EXPECT_LE(g.q.codes.max().item<int>(), (1 << (c.bits - 1)) - 1);
  const int64_t gs = c.group == -1 ? in : c.group;
  EXPECT_TRUE(torch::equal(g.q.g_idx, torch::arange(in, torch::kInt32).div(gs, "floor")));
  EXPECT_EQ(g.q.scales.size(1), in / gs);
  if (c.sym) {
    EXPECT_EQ(g.q.zeros.abs().sum().item<int64_t>(), 0);
  }

  // reported loss = 1/2 tr(D H_damped D^T)
  torch::Tensor H = acc.hessian();
  torch::Tensor Hd = H + torch::eye(in, torch::kFloat64) * (g.damp * H.diagonal().mean());
  torch::Tensor D = (w - g.weight).to(torch::kFloat64);
  const double want = 0.5 * D.matmul(Hd).mul(D).sum().item<double>();
  EXPECT_NEAR(g.loss, want, 1e-3 * want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GptqVsRtn,
    ::testing::Values(GptqCase{4, 32, true, false}, GptqCase{4, -1, true, false},
                      GptqCase{3, 32, true, false}, GptqCase{3, -1, true, false},
                      GptqCase{4, 32, false, true}, GptqCase{4, -1, false, true},
                      GptqCase{3, 32, false, true}, GptqCase{3, -1, true, true}),
    [](const ::testing::TestParamInfo<GptqCase>& i) {
      std::string n = "b";
      n += std::to_string(i.param.bits);
      n += "_g";
      n += i.param.group < 0 ? std::string("ch") : std::to_string(i.param.group);
      n += i.param.sym ? "_sym" : "_asym";
      n += i.param.outliers ? "_outliers" : "_random";
      return n;
    });

TEST(Gptq, ActOrderStaticAndDynamicGroups) {
  const int64_t out = 48, in = 192, T = 768, G = 32;
  torch::Tensor x = make_acts(T, in, true, 33);
  torch::manual_seed(34);
  torch::Tensor w = torch::randn({out, in}) * 0.05;
  quant::HessianAccumulator acc(in);
  acc.add(x);
  quant::RtnResult r = quant::rtn_quantize(w, {4, G, true});
  const double er = out_err(x, w, r.weight);

  quant::GptqConfig cfg;
  cfg.bits = 4;
  cfg.group_size = G;
  cfg.act_order = true;
  torch::Tensor diag = acc.hessian().diagonal();
  torch::Tensor want_perm = std::get<1>(torch::sort(diag, true, 0, true));

  // static groups: g_idx stays j / g
  cfg.static_groups = true;
  quant::GptqResult gs = quant::gptq_quantize(w, acc.hessian(), cfg);
  EXPECT_TRUE(torch::equal(gs.perm, want_perm));
  EXPECT_TRUE(torch::equal(gs.q.g_idx, torch::arange(in, torch::kInt32).div(G, "floor")));
  EXPECT_TRUE(torch::equal(ops::dequantize_int(gs.q), gs.weight));
  // static-group parameters are those of the original (unpermuted) weight groups
  ops::IntQuantized rq = ops::quantize_int(w, {4, G, true});
  EXPECT_TRUE(torch::equal(gs.q.scales, rq.scales));
  const double es = out_err(x, w, gs.weight);
  EXPECT_LT(es, er) << "static " << es << " rtn " << er;

  // dynamic groups follow the permuted order: g_idx[perm[p]] = p / g
  cfg.static_groups = false;
  quant::GptqResult gd = quant::gptq_quantize(w, acc.hessian(), cfg);
  torch::Tensor gi = gd.q.g_idx.to(torch::kInt64);
  EXPECT_GE(gi.min().item<int64_t>(), 0);
  EXPECT_LT(gi.max().item<int64_t>(), in / G);
  EXPECT_TRUE(torch::equal(torch::bincount(gi), torch::full({in / G}, G, torch::kInt64)));
  EXPECT_TRUE(torch::equal(gi.index_select(0, gd.perm),
                           torch::arange(in, torch::kInt64).div(G, "floor")));
  EXPECT_TRUE(torch::equal(ops::dequantize_int(gd.q), gd.weight));
  const double ed = out_err(x, w, gd.weight);
  EXPECT_LT(ed, er) << "dynamic " << ed << " rtn " << er;

  // block size smaller than / not a multiple of the group still works (block is adjusted)
  cfg.block_size = 48;
  cfg.group_size = 64;
  quant::GptqResult gb = quant::gptq_quantize(w, acc.hessian(), cfg);
  EXPECT_TRUE(torch::equal(ops::dequantize_int(gb.q), gb.weight));
  EXPECT_LT(out_err(x, w, gb.weight), out_err(x, w, quant::rtn_quantize(w, {4, 64, true}).weight));
}

TEST(Gptq, DeadColumnsAndDamping) {
  const int64_t out = 16, in = 64;
  torch::Tensor x = make_acts(512, in, false, 40);
  x.index_put_({Slice(), 5}, 0.0f);
  x.index_put_({Slice(), 17}, 0.0f);
  torch::manual_seed(41);
  torch::Tensor w = torch::randn({out, in});
  quant::HessianAccumulator acc(in);
  acc.add(x);
  quant::GptqConfig cfg;
  cfg.group_size = 16;
  quant::GptqResult g = quant::gptq_quantize(w, acc.hessian(), cfg);
  EXPECT_EQ(g.weight.select(1, 5).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(g.weight.select(1, 17).abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::isfinite(g.weight).all().item<bool>());

  // rank-deficient Hessian (fewer tokens than inputs) with no damping: retried with damping
  quant::HessianAccumulator few(in);
  few.add(make_acts(8, in, false, 42));
  cfg.percdamp = 0.0;
  quant::GptqResult gf = quant::gptq_quantize(w, few.hessian(), cfg);
  EXPECT_TRUE(torch::isfinite(gf.weight).all().item<bool>());

  // negative-definite "Hessian" never factorizes
  expect_error([&] { quant::gptq_quantize(w, -torch::eye(in, torch::kFloat64), cfg, "l.q_proj.weight"); },
               "l.q_proj.weight hessian");
}

TEST(Gptq, Errors) {
  torch::Tensor w = torch::randn({8, 16});
  torch::Tensor H = torch::eye(16, torch::kFloat64);
  quant::GptqConfig cfg;
  cfg.group_size = 8;
  expect_error([&] { quant::gptq_quantize(torch::randn({16}), H, cfg, "w1d"); }, "w1d");
  expect_error([&] { quant::gptq_quantize(w, torch::eye(15), cfg, "wq"); }, "wq hessian");
  torch::Tensor wn = w.clone();
  wn[0][0] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { quant::gptq_quantize(wn, H, cfg, "layers.0.self_attn.o_proj.weight"); },
               "layers.0.self_attn.o_proj.weight");
  torch::Tensor Hn = H.clone();
  Hn[1][2] = std::numeric_limits<double>::infinity();
  expect_error([&] { quant::gptq_quantize(w, Hn, cfg, "wh"); }, "wh hessian");
  for (int bits : {0, 1, 9, 16}) {
    cfg.bits = bits;
    expect_error([&] { quant::gptq_quantize(w, H, cfg, "wb"); }, "wb");
  }
  cfg.bits = 4;
  cfg.group_size = 0;
  expect_error([&] { quant::gptq_quantize(w, H, cfg, "wg"); }, "wg");
  cfg.group_size = 8;
  cfg.block_size = 0;
  expect_error([&] { quant::gptq_quantize(w, H, cfg, "wbs"); }, "wbs");
}

// ---------------------------------------------------------------------------------------------
// AWQ

TEST(Awq, ScaleSearchBeatsRtnOnActivationOutliers) {
  const int64_t in = 256, T = 1024;
  torch::Tensor x = make_acts(T, in, true, 50);
  torch::manual_seed(51);
  std::vector<torch::Tensor> ws = {torch::randn({64, in}) * 0.05, torch::randn({32, in}) * 0.05,
                                   torch::randn({32, in}) * 0.05};  // q, k, v
  quant::AwqConfig cfg;  // 4-bit, group 128, zero point
  quant::AwqScaleResult r = quant::awq_search_scales(ws, x, cfg);
  ASSERT_EQ(r.losses.size(), 20u);
  ASSERT_EQ(r.scales.sizes(), torch::IntArrayRef({in}));
  EXPECT_GT(r.alpha, 0.0);
  EXPECT_LT(r.loss, r.rtn_loss);
  EXPECT_LT(r.loss, 0.9 * r.rtn_loss);
  EXPECT_EQ(r.rtn_loss, r.losses[0]);
  // geometric normalisation: sqrt(max * min) == 1
  EXPECT_NEAR((r.scales.max() * r.scales.min()).item<double>(), 1.0, 1e-4);

  // independent check: fold s, quantize, unfold, compare output errors with RTN
  const ops::IntQuantSpec spec{4, 128, false};
  double e_awq = 0, e_rtn = 0;
  for (const auto& w : ws) {
    torch::Tensor ws_scaled = quant::awq_apply_scales(w, r.scales);
    torch::Tensor eff = ops::fake_quant_int(ws_scaled, spec) / r.scales.unsqueeze(0);
    e_awq += std::pow(out_err(x, w, eff), 2);
    e_rtn += std::pow(out_err(x, w, ops::fake_quant_int(w, spec)), 2);
  }
  EXPECT_LT(e_awq, e_rtn);
  // folding keeps the float product: (x / s)(W s)^T == x W^T
  torch::Tensor y0 = x.matmul(ws[0].t());
  torch::Tensor y1 = (x / r.scales.unsqueeze(0)).matmul(quant::awq_apply_scales(ws[0], r.scales).t());
  EXPECT_TRUE(torch::allclose(y0, y1, 1e-3, 1e-3));
}

TEST(Awq, CustomBlockLossAndErrors) {
  torch::Tensor x = make_acts(256, 64, true, 52);
  torch::manual_seed(53);
  std::vector<torch::Tensor> ws = {torch::randn({16, 64}), torch::randn({16, 64})};
  int calls = 0;
  quant::AwqConfig cfg;
  cfg.group_size = 32;
  cfg.n_grid = 10;
  // a block loss on the product of the two linears' outputs (gate * up style)
  torch::Tensor ref = x.matmul(ws[0].t()) * x.matmul(ws[1].t());
  quant::AwqScaleResult r = quant::awq_search_scales(
      ws, x, cfg, [&](const std::vector<torch::Tensor>& eff) {
        ++calls;
        EXPECT_EQ(eff.size(), 2u);
        torch::Tensor y = x.matmul(eff[0].t()) * x.matmul(eff[1].t());
        return (y - ref).square().mean().item<double>();
      });
  EXPECT_EQ(calls, 10);
  EXPECT_LE(r.loss, r.rtn_loss);

  expect_error([&] { quant::awq_search_scales({}, x, cfg, {}, "mlp"); }, "mlp");
  expect_error(
      [&] { quant::awq_search_scales({torch::randn({4, 64}), torch::randn({4, 63})}, x, cfg, {}, "mlp"); },
      "mlp[1]");
  torch::Tensor xn = x.clone();
  xn[0][0] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { quant::awq_search_scales(ws, xn, cfg, {}, "attn"); }, "attn activations");
  cfg.bits = 9;
  expect_error([&] { quant::awq_search_scales(ws, x, cfg, {}, "attn"); }, "attn");
}

TEST(Awq, ClipSearch) {
  const int64_t out = 32, in = 128;
  torch::Tensor x = make_acts(1024, in, false, 54);
  torch::manual_seed(55);
  // heavy-tailed weights: a few large entries per row
  torch::Tensor w = torch::randn({out, in}) * 0.02;
  torch::Tensor spikes = (torch::rand({out, in}) < 0.01).to(torch::kFloat) * torch::randn({out, in}) * 0.3;
  w = w + spikes;
  quant::AwqConfig cfg;
  cfg.group_size = 32;
  quant::AwqClipResult c = quant::awq_search_clip(w, x, cfg);
  ASSERT_EQ(c.max_val.sizes(), torch::IntArrayRef({out, 4}));
  torch::Tensor amax = w.abs().reshape({out, 4, 32}).amax(2);
  EXPECT_TRUE((c.max_val <= amax).all().item<bool>());
  EXPECT_TRUE((c.max_val >= amax * 0.55 - 1e-6).all().item<bool>());
  EXPECT_TRUE((c.weight.abs().reshape({out, 4, 32}) <= c.max_val.unsqueeze(2)).all().item<bool>());
  // clipping then quantizing beats quantizing the raw weights on the output error
  const ops::IntQuantSpec spec{4, 32, false};
  const double e_clip = out_err(x, w, ops::fake_quant_int(c.weight, spec));
  const double e_raw = out_err(x, w, ops::fake_quant_int(w, spec));
  EXPECT_LT(e_clip, e_raw);
  // per (row, group), the chosen clip never has a larger partial-output error than no clip
  for (int64_t k = 0; k < 4; ++k) {
    torch::Tensor xg = x.index({Slice(0, 1024, 2), Slice(k * 32, (k + 1) * 32)});
    torch::Tensor wg = w.index({Slice(), Slice(k * 32, (k + 1) * 32)});
    torch::Tensor cg = c.weight.index({Slice(), Slice(k * 32, (k + 1) * 32)});
    const ops::IntQuantSpec gspec{4, -1, false};
    torch::Tensor ref = xg.matmul(wg.t());
    torch::Tensor e1 = (xg.matmul(ops::fake_quant_int(cg, gspec).t()) - ref).square().mean(0);
    torch::Tensor e0 = (xg.matmul(ops::fake_quant_int(wg, gspec).t()) - ref).square().mean(0);
    EXPECT_TRUE((e1 <= e0 * (1 + 1e-5) + 1e-12).all().item<bool>()) << k;
  }
  expect_error([&] { quant::awq_search_clip(w, torch::randn({10, in + 1}), cfg, 512, 0.5, "down"); },
               "down activations");
}

// ---------------------------------------------------------------------------------------------
// SmoothQuant

TEST(SmoothQuant, ScaleFormulaAndClamps) {
  torch::Tensor a = torch::tensor({4.0f, 0.0f, 1.0f, 9.0f});
  torch::Tensor w0 = torch::tensor({{1.0f, 2.0f, -16.0f, 0.0f}});
  torch::Tensor w1 = torch::tensor({{-0.5f, 1.0f, 4.0f, 0.0f}, {0.25f, 0.0f, 0.0f, 0.0f}});
  torch::Tensor s = quant::smoothquant_scales(a, {w0, w1}, 0.5);
  // s = sqrt(a) / sqrt(max|W|): [2/1, dead -> 1, 1/4, 3/sqrt(1e-5)]
  EXPECT_FLOAT_EQ(s[0].item<float>(), 2.0f);
  EXPECT_EQ(s[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(s[2].item<float>(), 0.25f);
  EXPECT_NEAR(s[3].item<float>(), 3.0f / std::sqrt(1e-5f), 1.0f);
  EXPECT_TRUE(torch::isfinite(quant::smoothquant_scales(a, {w0}, 1.0)).all().item<bool>());
  EXPECT_TRUE((quant::smoothquant_scales(a, {w0}, 0.0) >= 1e-5).all().item<bool>());
  // folding
  torch::Tensor norm = torch::tensor({1.0f, 1.0f, 2.0f, 3.0f});
  EXPECT_TRUE(torch::allclose(quant::smooth_fold_prev(norm, s), norm / s));
  torch::Tensor prev = torch::ones({4, 3});
  EXPECT_TRUE(torch::allclose(quant::smooth_fold_prev(prev, s), 1.0 / s.unsqueeze(1).expand({4, 3})));
  EXPECT_TRUE(torch::allclose(quant::smooth_fold_next(w0, s), w0 * s));
  expect_error([&] { quant::smoothquant_scales(a, {w0}, 1.5, "ln1"); }, "ln1");
  expect_error([&] { quant::smoothquant_scales(a, {torch::ones({2, 3})}, 0.5, "ln1"); }, "ln1[0]");
  expect_error([&] { quant::smoothquant_scales(torch::tensor({1.0f, NAN, 1.0f, 1.0f}), {w0}, 0.5, "ln2"); },
               "ln2");
}

TEST(SmoothQuant, ReducesActivationQuantError) {
  const int64_t in = 256;
  torch::Tensor x = make_acts(512, in, true, 60);
  torch::manual_seed(61);
  std::vector<torch::Tensor> ws = {torch::randn({96, in}) * 0.05, torch::randn({64, in}) * 0.05};
  torch::Tensor a = std::get<0>(x.abs().max(0));
  torch::Tensor s = quant::smoothquant_scales(a, ws, 0.5);
  for (bool per_token : {true, false}) {
    quant::SmoothQuantSearchConfig cfg;
    cfg.per_token_act = per_token;
    const double base = quant::smoothquant_output_mse(x, ws, {}, cfg);
    const double smooth = quant::smoothquant_output_mse(x, ws, s, cfg);
    EXPECT_LT(smooth, 0.5 * base) << "per_token " << per_token;
    quant::SmoothQuantSearchResult r = quant::smoothquant_search_alpha(x, ws, cfg);
    EXPECT_EQ(r.losses.size(), cfg.alphas.size());
    EXPECT_EQ(r.unsmoothed_loss, base);
    EXPECT_LT(r.loss, base);
    for (double l : r.losses) EXPECT_LE(r.loss, l);
  }
  torch::Tensor xs = x / s.unsqueeze(0);
  // smoothing keeps the float product
  EXPECT_TRUE(torch::allclose(xs.matmul(quant::smooth_fold_next(ws[0], s).t()), x.matmul(ws[0].t()),
                              1e-3, 1e-3));
}

// ---------------------------------------------------------------------------------------------
// FP8 static and LeptoQuant

TEST(Fp8Calib, AbsMaxObserver) {
  quant::AbsMaxObserver t;
  quant::AbsMaxObserver c(quant::AbsMaxObserver::Mode::kChannel);
  EXPECT_EQ(t.fp8_scale().item<float>(), 1.0f);  // nothing observed yet
  torch::Tensor a = torch::tensor({{1.0f, -5.0f}, {2.0f, 0.5f}});
  torch::Tensor b = torch::tensor({{-3.0f, 1.0f}});
  t.update(a);
  t.update(b);
  c.update(a.unsqueeze(0));
  c.update(b);
  EXPECT_EQ(t.amax().item<float>(), 5.0f);
  EXPECT_EQ(t.fp8_scale().item<float>(), 5.0f / 448.0f);
  EXPECT_TRUE(torch::equal(c.amax(), torch::tensor({3.0f, 5.0f})));
  EXPECT_EQ(t.updates(), 2);
  expect_error([&] { c.update(torch::ones({2, 3})); }, "channel count");
  torch::Tensor n = torch::ones({2});
  n[0] = std::numeric_limits<float>::infinity();
  quant::AbsMaxObserver named(quant::AbsMaxObserver::Mode::kTensor, "layers.4.q_proj input");
  expect_error([&] { named.update(n); }, "layers.4.q_proj input");
}

// Leptokurtic activations: Laplace core plus rare large outliers.
torch::Tensor lepto_acts(int64_t T, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor u = torch::rand({T, in}) - 0.5;
  torch::Tensor lap = -torch::sign(u) * torch::log1p(-2 * u.abs()) * 0.1;
  torch::Tensor spikes = (torch::rand({T, in}) < 2e-4).to(torch::kFloat) * torch::randn({T, in}) * 40.0;
  return lap + spikes;
}

TEST(Fp8Calib, LeptoCandidatesAndSearchNeverWorseThanAmax) {
  const int64_t in = 128;
  torch::Tensor x = lepto_acts(1024, in, 70);
  torch::manual_seed(71);
  torch::Tensor w = torch::randn({64, in}) * 0.05;
  const float amax = x.abs().max().item<float>();
  std::vector<float> cands = quant::lepto_candidate_scales(x);
  ASSERT_GE(cands.size(), 2u);
  EXPECT_EQ(cands[0], amax / 448.0f);
  for (float s : cands) EXPECT_GE(s, cands[0]);
  EXPECT_EQ(quant::lepto_default_quantiles().size(), 13u);
  // a candidate is amax / c with c an E4M3 value
  for (size_t i = 1; i < cands.size(); ++i) {
    const float c = amax / cands[i];
    const float cq = ops::dequantize_fp8(ops::quantize_fp8(torch::tensor({c}), torch::ones({1})).codes,
                                         torch::ones({1}))
                         .item<float>();
    EXPECT_NEAR(c, cq, 1e-4 * c);
  }

  // block = one linear with FP8 QDQ input
  torch::Tensor ref = x.matmul(w.t());
  quant::LeptoLoss loss = [&](float s) {
    torch::Tensor xq = ops::fake_quant_fp8(x, torch::full({1}, s));
    return (xq.matmul(w.t()) - ref).square().mean().item<double>();
  };
  quant::LeptoResult r = quant::lepto_search(x, loss);
  EXPECT_EQ(r.candidates, cands);
  EXPECT_EQ(r.amax_scale, cands[0]);
  EXPECT_LE(r.loss, r.amax_loss);
  EXPECT_EQ(r.losses[0], r.amax_loss);
  for (double l : r.losses) EXPECT_LE(r.loss, l);
  EXPECT_EQ(r.scale, cands[r.index]);

  // selection rules with synthetic objectives
  quant::LeptoResult tie = quant::lepto_search(x, [](float) { return 1.0; });
  EXPECT_EQ(tie.index, 0u);  // ties keep the amax scale
  const float target = cands.back();
  quant::LeptoResult pick = quant::lepto_search(x, [&](float s) { return std::fabs(double(s - target)); });
  EXPECT_EQ(pick.scale, target);
  quant::LeptoResult nan = quant::lepto_search(x, [&](float s) {
    return s == cands[0] ? 1.0 : std::numeric_limits<double>::quiet_NaN();
  });
  EXPECT_EQ(nan.index, 0u);

  // degenerate inputs
  EXPECT_EQ(quant::lepto_candidate_scales(torch::zeros({4, 4})), std::vector<float>{1.0f});
  expect_error([&] { quant::lepto_candidate_scales(x, {0.5, 1.5}, "mlp.down input"); }, "mlp.down input");
  torch::Tensor xn = x.clone();
  xn[3][3] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { quant::lepto_search(xn, loss, quant::lepto_default_quantiles(), "attn.o input"); },
               "attn.o input");
  expect_error([&] { quant::lepto_search(x, {}); }, "loss");
}

}  // namespace
