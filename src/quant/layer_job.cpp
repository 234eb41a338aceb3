#include <torch/torch.h>

#include "common/error.h"
#include "quant/algorithm.h"
#include "quant/linear_quant.h"

namespace as {

namespace {
constexpr int64_t kMaxCapturedTokens = 4096;  // per linear, for searches that need raw inputs
}

std::vector<torch::Tensor> LayerJob::run(const ForwardHooks* hooks, bool keep) const {
  std::vector<torch::Tensor> out;
  if (!inputs) return out;
  torch::NoGradGuard ng;
  for (int64_t i = 0; i < inputs->size(); ++i) {
    auto h = inputs->get(i).to(model.dtype());
    auto y = model.run_layer(index, h, 0, nullptr, hooks);
    if (keep) out.push_back(y.to(torch::kFloat32));
  }
  return out;
}

std::map<std::string, torch::Tensor> LayerJob::capture_linear_inputs(const std::vector<std::string>& names) const {
  if (!has_data()) throw Error("layer " + std::to_string(index) + ": this algorithm needs calibration data");
  std::map<std::string, std::vector<torch::Tensor>> parts;
  for (auto& n : names) parts[n];
  const int64_t per_sample = std::max<int64_t>(1, kMaxCapturedTokens / inputs->size());
  ForwardHooks hk;
  hk.on_linear_input = [&](const std::string& name, const torch::Tensor& x) {
    auto it = parts.find(name);
    if (it == parts.end()) return;
    auto rows = x.reshape({-1, x.size(-1)}).to(torch::kFloat32);
    if (rows.size(0) > per_sample) {
      // evenly spaced tokens of this sample (deterministic)
      auto idx = torch::linspace(0, double(rows.size(0) - 1), per_sample).round().to(torch::kLong);
      rows = rows.index_select(0, idx);
    }
    it->second.push_back(rows.contiguous());
  };
  run(&hk, false);
  std::map<std::string, torch::Tensor> out;
  for (auto& [n, v] : parts) out[n] = torch::cat(v, 0);
  return out;
}

void LayerJob::add_result(const std::string& name, const torch::Tensor& original, const torch::Tensor& dequantized,
                          QuantizedLinear q) {
  auto d = weight_diagnostics(original, dequantized, q);
  for (auto& [k, v] : diag[name].items()) d[k] = v;
  diag[name] = std::move(d);
  results.push_back(std::move(q));
}

}  // namespace as
