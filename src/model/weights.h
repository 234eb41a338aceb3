// Where weights come from: a safetensors checkpoint (mmapped, loaded tensor by tensor) or tensors
// already in memory (a converted llama2.c file). Names follow the HF convention
// (model.layers.{i}.self_attn.q_proj.weight, ...).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace as {

class WeightStore {
 public:
  virtual ~WeightStore() = default;
  virtual bool contains(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // A copy of the tensor converted to `dtype` (never aliases the file mapping).
  virtual torch::Tensor load(const std::string& name, torch::ScalarType dtype) const = 0;
  // Byte size on disk/in memory, for memory planning.
  virtual uint64_t nbytes(const std::string& name) const = 0;
  // Drop page-cache residency of a tensor once it has been consumed (layer streaming).
  virtual void release(const std::string& name) const { (void)name; }
  virtual std::string location() const = 0;
};

// Opens model.safetensors or a sharded index in `dir` (or a single .safetensors file).
std::unique_ptr<WeightStore> open_safetensors_store(const std::string& dir_or_file);

class MemoryWeightStore : public WeightStore {
 public:
  explicit MemoryWeightStore(std::string location) : location_(std::move(location)) {}
  void put(const std::string& name, torch::Tensor t) { tensors_[name] = std::move(t); }
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  std::vector<std::string> names() const override;
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override;
  uint64_t nbytes(const std::string& name) const override;
  std::string location() const override { return location_; }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

 private:
  std::string location_;
  std::map<std::string, torch::Tensor> tensors_;
};

}  // namespace as
