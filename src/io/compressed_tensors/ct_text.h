// Small text helpers shared by the compressed-tensors reader, writer and validator messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace as::ct::detail {

inline std::string qt(const std::string& s) { return "\"" + s + "\""; }

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

}  // namespace as::ct::detail
