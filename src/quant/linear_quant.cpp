#include "quant/linear_quant.h"

#include <torch/torch.h>

#include "common/error.h"
#include "ops/quant_ops.h"

namespace as {

int64_t effective_group_size(int64_t group, int64_t in, std::string* note) {
  if (group <= 0 || in % group == 0) return group;
  if (note)
    *note = "group_size " + std::to_string(group) + " does not divide in_features " + std::to_string(in) +
            ": per-channel fallback";
  return -1;
}

void install_act_quant(Linear& l, ActScheme act, const torch::Tensor& input_scale) {
  const std::string name = l.name + " input";
  switch (act) {
    case ActScheme::None: l.act_quant = nullptr; break;
    case ActScheme::Fp8StaticTensor: {
      torch::Tensor s = input_scale.to(torch::kFloat32).clone();
      l.act_quant = [s, name](const torch::Tensor& x) { return ops::fake_quant_fp8_per_tensor(x, s, name); };
      break;
    }
    case ActScheme::Fp8DynamicToken:
      l.act_quant = [name](const torch::Tensor& x) { return ops::fake_quant_fp8_per_token(x, name); };
      break;
    case ActScheme::Fp8DynamicGroup128:
      l.act_quant = [name](const torch::Tensor& x) {
        // per token, per 128-channel group (the runtime convention for block-FP8 weights)
        const int64_t in = x.size(-1);
        if (in % 128 != 0) return ops::fake_quant_fp8_per_token(x, name);
        auto g = x.reshape({-1, in / 128, 128});
        return ops::fake_quant_fp8_per_token(g, name).reshape(x.sizes());
      };
      break;
    case ActScheme::Int8DynamicToken:
      l.act_quant = [name](const torch::Tensor& x) { return ops::fake_quant_int_per_token(x, 8, name); };
      break;
  }
}

QuantizedLinear int_result(Linear& l, const torch::Tensor& codes, const torch::Tensor& scales,
                           const torch::Tensor& zeros, const torch::Tensor& g_idx, int bits, int64_t group,
                           bool symmetric, const torch::Tensor& dequantized) {
  QuantizedLinear q;
  q.name = l.name;
  q.weight_type = "int";
  q.bits = bits;
  q.group_size = group;
  q.strategy = group > 0 ? "group" : "channel";
  q.symmetric = symmetric;
  q.codes = codes.to(torch::kInt8).contiguous();
  q.scale = scales.to(torch::kFloat32).contiguous();
  if (!symmetric) q.zero = zeros.to(torch::kInt8).contiguous();
  if (g_idx.defined()) {
    // only an act-order permutation with dynamic groups needs g_idx in the file
    auto trivial = group > 0 ? torch::arange(codes.size(1), torch::kInt32).div(group, "floor").to(torch::kInt32)
                             : torch::zeros({codes.size(1)}, torch::kInt32);
    if (!torch::equal(g_idx.to(torch::kInt32), trivial)) {
      q.g_idx = g_idx.to(torch::kInt32).contiguous();
      q.act_order = true;
    }
  }
  l.w = dequantized.to(l.w.scalar_type()).contiguous();
  return q;
}

QuantizedLinear fp8_weight_result(Linear& l, const std::string& strategy) {
  QuantizedLinear q;
  q.name = l.name;
  q.weight_type = "float";
  q.bits = 8;
  q.strategy = strategy;
  q.symmetric = true;
  const std::string wname = l.name + ".weight";
  torch::Tensor deq;
  if (strategy == "block") {
    auto s = ops::fp8_scale_block(l.w, 128, 128, wname);
    auto r = ops::quantize_fp8_block(l.w, s, 128, 128, wname);
    q.codes = r.codes;
    q.scale = r.scale;
    q.group_size = 128;
    deq = ops::dequantize_fp8_block(r.codes, r.scale, 128, 128);
  } else {
    auto s = strategy == "tensor" ? ops::fp8_scale_per_tensor(l.w, wname) : ops::fp8_scale_per_channel(l.w, wname);
    auto r = ops::quantize_fp8(l.w, s, wname);
    q.codes = r.codes;
    q.scale = r.scale.reshape(strategy == "tensor" ? std::vector<int64_t>{1} : std::vector<int64_t>{l.w.size(0), 1});
    deq = ops::dequantize_fp8(r.codes, r.scale);
  }
  l.w = deq.to(l.w.scalar_type()).contiguous();
  return q;
}

nlohmann::json weight_diagnostics(const torch::Tensor& original, const torch::Tensor& dequantized,
                                  const QuantizedLinear& q) {
  auto w = original.to(torch::kFloat32);
  auto d = dequantized.to(torch::kFloat32);
  const double absmax = w.abs().max().item<double>();
  const double mse = (w - d).pow(2).mean().item<double>();
  const double var = w.pow(2).mean().item<double>();
  // outliers: |w| > 6 sigma of the row-independent weight distribution
  const double sigma = w.std().item<double>();
  const double outl = sigma > 0 ? (w.abs() > 6.0 * sigma).to(torch::kFloat32).mean().item<double>() : 0.0;
  nlohmann::json j{{"weight_absmax", absmax},
                   {"weight_outlier_fraction", outl},
                   {"weight_quant_mse", mse},
                   {"weight_quant_rel_mse", var > 0 ? mse / var : 0.0},
                   {"scheme", q.weight_type + std::to_string(q.bits) + "/" + q.strategy},
                   {"scale_min", q.scale.min().item<double>()},
                   {"scale_max", q.scale.max().item<double>()},
                   {"scale_mean", q.scale.mean().item<double>()}};
  if (q.group_size > 0 && q.weight_type == "int") j["group_size"] = q.group_size;
  if (!q.note.empty()) j["note"] = q.note;
  if (q.input_scale.defined()) j["input_scale"] = q.input_scale.item<double>();
  return j;
}

}  // namespace as
