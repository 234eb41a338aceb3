#include "model/weights.h"

#include <torch/torch.h>

#include <optional>

#include "common/error.h"
#include "io/safetensors.h"
#include "kernels/fp8.h"

namespace as {
namespace {

// Maps a safetensors dtype onto the torch dtype that can alias its bytes.
std::optional<torch::ScalarType> torch_dtype_of(DType t) {
  switch (t) {
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F64: return torch::kFloat64;
    case DType::I8: return torch::kInt8;
    case DType::U8: return torch::kUInt8;
    case DType::I16: return torch::kInt16;
    case DType::I32: return torch::kInt32;
    case DType::I64: return torch::kInt64;
    case DType::BOOL: return torch::kBool;
    default: return std::nullopt;
  }
}

class SafetensorsStore : public WeightStore {
 public:
  explicit SafetensorsStore(const std::string& path) : ckpt_(path) {}
  bool contains(const std::string& name) const override { return ckpt_.contains(name); }
  std::vector<std::string> names() const override { return ckpt_.names(); }
  uint64_t nbytes(const std::string& name) const override { return ckpt_.get(name).nbytes; }
  void release(const std::string& name) const override { ckpt_.release(name); }
  std::string location() const override { return ckpt_.location(); }

  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    const TensorView& v = ckpt_.get(name);
    std::vector<int64_t> shape(v.shape.begin(), v.shape.end());
    if (v.dtype == DType::F8_E4M3 || v.dtype == DType::F8_E5M2) {
      // No float8 in libtorch 1.13: decode through our codec.
      auto out = torch::empty(shape, torch::kFloat32);
      float* dst = out.data_ptr<float>();
      const int64_t n = v.numel();
      for (int64_t i = 0; i < n; ++i)
        dst[i] = v.dtype == DType::F8_E4M3 ? kernels::e4m3_to_f32(v.data[i]) : kernels::e5m2_to_f32(v.data[i]);
      return out.to(dtype);
    }
    auto td = torch_dtype_of(v.dtype);
    if (!td) throw Error(location() + ": tensor '" + name + "' has dtype " + dtype_name(v.dtype) +
                         " which cannot be loaded as a tensor");
    // Alias the mapping, then copy/convert so the result owns its memory.
    auto view = torch::from_blob(const_cast<uint8_t*>(v.data), shape, torch::TensorOptions().dtype(*td));
    return view.to(dtype, /*non_blocking=*/false, /*copy=*/true).contiguous();
  }

 private:
  Checkpoint ckpt_;
};

}  // namespace

std::unique_ptr<WeightStore> open_safetensors_store(const std::string& dir_or_file) {
  return std::make_unique<SafetensorsStore>(dir_or_file);
}

std::vector<std::string> MemoryWeightStore::names() const {
  std::vector<std::string> out;
  for (auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

torch::Tensor MemoryWeightStore::load(const std::string& name, torch::ScalarType dtype) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(location_ + ": tensor '" + name + "' not found");
  return it->second.to(dtype, false, true).contiguous();
}

uint64_t MemoryWeightStore::nbytes(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(location_ + ": tensor '" + name + "' not found");
  return static_cast<uint64_t>(it->second.numel()) * it->second.element_size();
}

}  // namespace as
