// safetensors reading (zero-copy mmap, fully validated) and writing (atomic, streamed), plus
// sharded checkpoints (model.safetensors.index.json). Torch-free.
//
// File layout: u64 LE header length N | N bytes JSON header (space padded) | data buffer.
// Header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}
// Offsets are relative to the data buffer; tensors are contiguous, without gaps or overlaps.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/file.h"
#include "io/dtype.h"

namespace as {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mmap; valid while the owning file lives
  uint64_t nbytes = 0;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header; throws as::Error naming the file (and tensor) on any defect.
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return file_.path(); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  const TensorView& get(const std::string& name) const;  // throws naming tensor and file
  // Drops the page-cache residency of one tensor's bytes (for layer-by-layer streaming).
  void release(const std::string& name) const;

 private:
  MappedFile file_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
};

// Streams tensors into one safetensors file. Tensor bytes are either given up front or produced by
// a callback while writing (so multi-GB files need little RAM: one tensor-sized buffer at a time).
// Layout: compact JSON, __metadata__ first, space-padded to a multiple of 8; tensors ordered by
// descending dtype size, then name. The file appears atomically; a throwing Fill leaves no file.
class SafetensorsWriter {
 public:
  using Fill = std::function<void(uint8_t* dst, uint64_t nbytes)>;
  void set_metadata(const std::string& key, const std::string& value);
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes);
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data);  // copies
  void add_lazy(const std::string& name, DType dtype, std::vector<int64_t> shape, Fill fill);
  uint64_t payload_bytes() const;
  size_t size() const { return entries_.size(); }
  void write(const std::string& path) const;  // atomic (temp file + rename)

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t nbytes;
    std::vector<uint8_t> bytes;
    Fill fill;
  };
  // Writes `list` (already validated) as one file, ordered by descending dtype size, then name.
  static void write_entries(const std::string& path, const std::map<std::string, std::string>& metadata,
                            std::vector<const Entry*> list);
  void check_new(const std::string& name, DType dtype, const std::vector<int64_t>& shape) const;

  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
  friend void write_sharded(const std::string&, const SafetensorsWriter&, uint64_t);
};

// Writes `model.safetensors`, or when the payload exceeds max_shard_bytes,
// `model-0000k-of-0000n.safetensors` shards plus `model.safetensors.index.json`. All atomic.
// Creates `dir` when missing. Tensors are packed into shards greedily in insertion order (a tensor
// larger than max_shard_bytes gets a shard of its own); every shard carries the writer's metadata.
// max_shard_bytes == 0 means "never shard". A single-file write removes a stale index left in `dir`.
void write_sharded(const std::string& dir, const SafetensorsWriter& tensors, uint64_t max_shard_bytes);

// All tensors of a checkpoint directory (single file or sharded with an index), or of one file.
// A directory is resolved as: model.safetensors.index.json (the index is authoritative: every listed
// shard must exist and hold the tensors listed for it), else model.safetensors, else every
// *.safetensors file in it (a tensor name present in two files is an error).
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& dir_or_file);
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorView& get(const std::string& name) const;  // throws naming tensor and directory
  void release(const std::string& name) const;
  uint64_t total_bytes() const;
  const std::string& location() const { return location_; }

 private:
  std::string location_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;
};

}  // namespace as
