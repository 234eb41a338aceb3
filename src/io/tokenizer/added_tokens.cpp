#include "io/tokenizer/added_tokens.h"

#include <algorithm>

namespace as::tok {

void AddedTokenMatcher::add(std::string content, int32_t id) {
  if (content.empty()) return;
  tokens_.push_back({std::move(content), id});
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const Entry& a, const Entry& b) {
    return a.content.size() > b.content.size();
  });
  for (auto& v : by_first_) v.clear();
  for (size_t i = 0; i < tokens_.size(); ++i)
    by_first_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(
        static_cast<uint32_t>(i));
}

AddedTokenMatcher::Match AddedTokenMatcher::find(std::string_view text, size_t from) const {
  Match m;
  if (tokens_.empty()) return m;
  for (size_t pos = from; pos < text.size(); ++pos) {
    const auto& cands = by_first_[static_cast<unsigned char>(text[pos])];
    if (cands.empty()) continue;
    const std::string_view rest = text.substr(pos);
    for (uint32_t idx : cands) {
      const Entry& e = tokens_[idx];
      if (rest.starts_with(e.content)) return {pos, e.content.size(), e.id};
    }
  }
  return m;
}

}  // namespace as::tok
