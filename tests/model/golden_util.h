#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/file.h"
#include "test_util.h"

namespace as::test {

inline nlohmann::json load_json(const std::string& rel) { return nlohmann::json::parse(read_file(shared(rel))); }
inline std::string stories_bin() { return shared("models/stories260K/stories260K.bin"); }
inline std::string stories_tok() { return shared("models/stories260K/tok512.bin"); }

inline torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong).view({1, static_cast<int64_t>(ids.size())});
}

}  // namespace as::test
