// One exception type for every user-facing failure. The message is a single line that names the
// file / key / tensor involved, so the CLI can print it as-is and exit non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace as {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Throws as::Error with the message when cond is false.
inline void check(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}

}  // namespace as
