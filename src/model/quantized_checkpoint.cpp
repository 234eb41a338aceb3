#include "model/quantized_checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_reader.h"
#include "model/model.h"
#include "ops/quant_ops.h"

namespace fs = std::filesystem;

namespace as {
namespace {

class CtStore : public WeightStore {
 public:
  explicit CtStore(const std::string& dir) : r_(std::make_shared<ct::CompressedTensorsReader>(dir)) {
    for (auto& n : r_->checkpoint().names()) {
      auto dot = n.rfind('.');
      std::string param = dot == std::string::npos ? n : n.substr(dot + 1);
      if (ct::is_quant_param(param) && r_->is_quantized(n.substr(0, dot))) continue;
      names_.push_back(n);
    }
    for (auto& m : r_->quantized_modules()) names_.push_back(m + ".weight");
    std::sort(names_.begin(), names_.end());
  }
  bool contains(const std::string& name) const override {
    return std::binary_search(names_.begin(), names_.end(), name);
  }
  std::vector<std::string> names() const override { return names_; }
  uint64_t nbytes(const std::string& name) const override {
    if (quantized_weight(name)) {
      auto s = r_->weight_shape(module_of(name));
      return static_cast<uint64_t>(s[0] * s[1]);  // ~1 byte per weight (fp8/int8; int4 less)
    }
    return r_->checkpoint().get(name).nbytes;
  }
  std::string location() const override { return r_->dir(); }
  void release(const std::string& name) const override {
    if (!quantized_weight(name) && r_->checkpoint().contains(name)) r_->checkpoint().release(name);
  }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    if (quantized_weight(name)) {
      const std::string m = module_of(name);
      auto s = r_->weight_shape(m);
      auto out = torch::empty({s[0], s[1]}, torch::kFloat32);
      r_->dequantize_weight(m, out.data_ptr<float>());
      return out.to(dtype);
    }
    return plain_->load(name, dtype);
  }
  const ct::CompressedTensorsReader& reader() const { return *r_; }
  void set_plain(std::unique_ptr<WeightStore> p) { plain_ = std::move(p); }

 private:
  static std::string module_of(const std::string& name) { return name.substr(0, name.size() - 7); }
  bool quantized_weight(const std::string& name) const {
    return name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && r_->is_quantized(module_of(name));
  }
  std::shared_ptr<ct::CompressedTensorsReader> r_;
  std::unique_ptr<WeightStore> plain_;
  std::vector<std::string> names_;
};

std::function<torch::Tensor(const torch::Tensor&)> act_quantizer(const ct::QuantArgs& a, std::optional<float> input_scale,
                                                                 const std::string& name) {
  const std::string n = name + " input";
  if (a.type == ct::QuantType::Float) {
    if (!a.is_dynamic()) {
      if (!input_scale) throw Error(name + ": static FP8 input quantization without input_scale");
      auto s = torch::full({1}, *input_scale, torch::kFloat32);
      return [s, n](const torch::Tensor& x) { return ops::fake_quant_fp8_per_tensor(x, s, n); };
    }
    if (a.strategy == ct::Strategy::Group && a.group_size && *a.group_size > 0) {
      const int64_t g = *a.group_size;
      return [g, n](const torch::Tensor& x) {
        if (x.size(-1) % g != 0) return ops::fake_quant_fp8_per_token(x, n);
        return ops::fake_quant_fp8_per_token(x.reshape({-1, x.size(-1) / g, g}), n).reshape(x.sizes());
      };
    }
    if (a.strategy == ct::Strategy::Tensor) return [n](const torch::Tensor& x) { return ops::fake_quant_fp8_per_tensor(x, {}, n); };
    return [n](const torch::Tensor& x) { return ops::fake_quant_fp8_per_token(x, n); };
  }
  const int bits = a.num_bits;
  if (a.is_dynamic() && a.strategy == ct::Strategy::Token)
    return [bits, n](const torch::Tensor& x) { return ops::fake_quant_int_per_token(x, bits, n); };
  if (a.is_dynamic()) return [bits, n](const torch::Tensor& x) { return ops::fake_quant_int_per_tensor(x, bits, n); };
  if (!input_scale) throw Error(name + ": static INT input quantization without input_scale");
  const float s = *input_scale;
  const float qmax = float((1 << (bits - 1)) - 1), qmin = -qmax - 1;
  return [s, qmin, qmax](const torch::Tensor& x) {
    auto xf = x.to(torch::kFloat32);
    return (torch::clamp(torch::round(xf / s), qmin, qmax) * s).to(x.scalar_type());
  };
}

}  // namespace

bool is_compressed_tensors_dir(const std::string& dir) {
  const std::string p = (fs::path(dir) / "config.json").string();
  if (!file_exists(p)) return false;
  try {
    auto j = nlohmann::json::parse(read_file(p));
    return j.contains("quantization_config") && j["quantization_config"].is_object() &&
           j["quantization_config"].value("quant_method", "") == "compressed-tensors";
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::shared_ptr<WeightStore> open_compressed_tensors_store(const std::string& dir) {
  auto s = std::make_shared<CtStore>(dir);
  s->set_plain(open_safetensors_store(dir));
  return s;
}

void install_activation_quantizers(Model& m, const std::string& dir) {
  auto* store = dynamic_cast<const CtStore*>(&m.store());
  if (!store) throw Error(dir + ": not opened as a compressed-tensors checkpoint");
  const auto& r = store->reader();
  std::map<std::string, std::function<torch::Tensor(const torch::Tensor&)>> q;
  for (auto& mod : r.quantized_modules()) {
    const auto& g = r.scheme(mod);
    if (g.input_activations) q[mod] = act_quantizer(*g.input_activations, r.input_scale(mod), mod);
  }
  m.set_linear_patch([q](Linear& l) {
    auto it = q.find(l.name);
    if (it != q.end()) l.act_quant = it->second;
  });
}

}  // namespace as
