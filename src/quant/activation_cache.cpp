#include "quant/activation_cache.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"

namespace fs = std::filesystem;

namespace as {

ActivationCache::ActivationCache(int64_t n, std::string dir, bool spill)
    : n_(n), dir_(std::move(dir)), spill_(spill), mem_(static_cast<size_t>(n)) {
  if (spill_) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw Error(dir_ + ": cannot create activation spill directory: " + ec.message());
  }
}

std::string ActivationCache::file_of(const std::string& dir, int64_t i) const {
  return (fs::path(dir) / ("sample_" + std::to_string(i) + ".f32")).string();
}

void ActivationCache::put(int64_t i, const torch::Tensor& h) {
  auto t = h.to(torch::kFloat32).contiguous();
  if (shape_.empty()) {
    shape_.assign(t.sizes().begin(), t.sizes().end());
    bytes_per_sample_ = static_cast<uint64_t>(t.numel()) * 4;
  }
  if (spill_) {
    AtomicWriter w(file_of(dir_, i));
    w.write(t.data_ptr<float>(), static_cast<size_t>(t.numel()) * 4);
    w.commit();
    mem_[static_cast<size_t>(i)] = torch::Tensor();
  } else {
    mem_[static_cast<size_t>(i)] = t;
  }
}

torch::Tensor ActivationCache::get(int64_t i) const {
  if (!spill_) {
    const auto& t = mem_.at(static_cast<size_t>(i));
    if (!t.defined()) throw Error("activation cache: sample " + std::to_string(i) + " was never stored");
    return t;
  }
  std::string path = file_of(dir_, i);
  std::string bytes = read_file(path);
  if (bytes.size() != bytes_per_sample_) throw Error(path + ": truncated activation file");
  auto t = torch::empty(shape_, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
  return t;
}

void ActivationCache::persist(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create directory: " + ec.message());
  for (int64_t i = 0; i < n_; ++i) {
    auto t = get(i);
    AtomicWriter w(file_of(dir, i));
    w.write(t.data_ptr<float>(), static_cast<size_t>(t.numel()) * 4);
    w.commit();
  }
  nlohmann::json m{{"n", n_}, {"shape", shape_}};
  write_file_atomic((fs::path(dir) / "manifest.json").string(), m.dump());
}

ActivationCache ActivationCache::restore(const std::string& dir, bool spill, const std::string& work_dir) {
  const std::string mpath = (fs::path(dir) / "manifest.json").string();
  if (!file_exists(mpath)) throw Error(dir + ": activation checkpoint has no manifest");
  auto m = nlohmann::json::parse(read_file(mpath));
  ActivationCache c(m["n"].get<int64_t>(), work_dir, spill);
  c.shape_ = m["shape"].get<std::vector<int64_t>>();
  int64_t numel = 1;
  for (auto d : c.shape_) numel *= d;
  c.bytes_per_sample_ = static_cast<uint64_t>(numel) * 4;
  for (int64_t i = 0; i < c.n_; ++i) {
    std::string p = c.file_of(dir, i);
    std::string bytes = read_file(p);
    if (bytes.size() != c.bytes_per_sample_) throw Error(p + ": truncated activation file");
    auto t = torch::empty(c.shape_, torch::kFloat32);
    std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
    c.put(i, t);
  }
  return c;
}

}  // namespace as
