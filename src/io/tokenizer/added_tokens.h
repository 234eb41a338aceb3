// Finds added/special tokens (e.g. "<|im_start|>") in raw text: at the leftmost position where
// any token occurs, the longest one wins, as Hugging Face's added-vocabulary splitter does.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace as::tok {

class AddedTokenMatcher {
 public:
  void add(std::string content, int32_t id);
  bool empty() const { return tokens_.empty(); }

  struct Match {
    size_t pos = std::string_view::npos;  // npos when there is no further match
    size_t len = 0;
    int32_t id = -1;
  };
  // First match at or after `from`.
  Match find(std::string_view text, size_t from) const;

 private:
  struct Entry {
    std::string content;
    int32_t id;
  };
  std::vector<Entry> tokens_;                          // longest first
  std::array<std::vector<uint32_t>, 256> by_first_{};  // indices into tokens_, longest first
};

}  // namespace as::tok
