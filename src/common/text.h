// Small text helpers shared by the data readers.
#pragma once
#include <string>

namespace as {

// The ASCII whitespace of Python's str.isspace (space, \t, \n, \r, \f, \v).
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// `s` without leading and trailing whitespace (Python's str.strip()).
inline std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace as
