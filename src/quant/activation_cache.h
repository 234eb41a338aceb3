// Per-sample hidden states between decoder layers during sequential calibration. Held in memory,
// or spilled to raw fp32 files when they do not fit the memory budget; the files also make a run
// resumable (the cache after layer i is the input of layer i+1).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace as {

class ActivationCache {
 public:
  // `dir`: where spilled samples live (created); `spill`: keep samples on disk instead of RAM.
  ActivationCache(int64_t n_samples, std::string dir, bool spill);
  int64_t size() const { return n_; }
  bool spilled() const { return spill_; }
  void put(int64_t i, const torch::Tensor& h);  // [1, T, H] (stored as fp32)
  torch::Tensor get(int64_t i) const;           // fp32 [1, T, H]
  // Writes every sample to `dir` (atomic files + a manifest); used to checkpoint a finished layer.
  void persist(const std::string& dir) const;
  // Loads a cache written by persist(); as::Error when it is missing or incomplete.
  static ActivationCache restore(const std::string& dir, bool spill, const std::string& work_dir);
  uint64_t bytes_per_sample() const { return bytes_per_sample_; }

 private:
  std::string file_of(const std::string& dir, int64_t i) const;
  int64_t n_;
  std::string dir_;
  bool spill_;
  std::vector<torch::Tensor> mem_;
  std::vector<int64_t> shape_;
  uint64_t bytes_per_sample_ = 0;
};

}  // namespace as
