// Per-thread memo of "word -> token ids" for one tokenizer instance. Words repeat a lot in natural
// text, so most BPE merge runs are skipped. Each thread has its own table (no locking); a table is
// cleared when it grows past a fixed size, so memory stays bounded.
#pragma once
#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/tokenizer/string_map.h"

namespace as::tok {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 48;  // longer words are not cached
  static constexpr size_t kMaxEntries = 1 << 16;

  struct Table {
    StringMap<std::pair<uint32_t, uint32_t>> index;  // word -> (offset, count) in ids
    std::vector<int32_t> ids;

    // Appends the cached ids of `w` to out; false when absent.
    bool get(std::string_view w, std::vector<int32_t>& out) const {
      auto it = index.find(w);
      if (it == index.end()) return false;
      out.insert(out.end(), ids.begin() + it->second.first,
                 ids.begin() + it->second.first + it->second.second);
      return true;
    }
    void put(std::string_view w, std::span<const int32_t> v) {
      if (w.size() > kMaxWordBytes) return;
      if (index.size() >= kMaxEntries) {
        index.clear();
        ids.clear();
      }
      index.emplace(std::string(w), std::pair<uint32_t, uint32_t>(static_cast<uint32_t>(ids.size()),
                                                                  static_cast<uint32_t>(v.size())));
      ids.insert(ids.end(), v.begin(), v.end());
    }
  };

  WordCache() : owner_(next_owner()) {}
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // This thread's table for this tokenizer; look it up once per encode() call.
  Table& table() const {
    thread_local std::unordered_map<uint64_t, Table> tables;
    auto it = tables.find(owner_);
    if (it != tables.end()) return it->second;
    if (tables.size() >= 8) tables.clear();  // tables of tokenizers that are likely gone
    return tables[owner_];
  }

 private:
  static uint64_t next_owner() {
    static std::atomic<uint64_t> n{0};
    return ++n;
  }
  uint64_t owner_;  // never reused, unlike an address
};

}  // namespace as::tok
