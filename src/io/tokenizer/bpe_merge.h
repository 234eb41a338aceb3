// The merge loop shared by the three BPE flavours: repeatedly merge the adjacent pair with the
// best priority (ties: the leftmost pair) until no adjacent pair is mergeable. A heap with lazy
// invalidation makes this O(n log n) instead of the naive O(n^2) rescans.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace as::tok {

struct MergeSymbol {
  int32_t id;      // token id (or -1 while unknown)
  uint32_t start;  // byte offset in the source text
  uint32_t len;    // byte length; 0 once merged into the left neighbour
  int32_t prev, next;
};

// `pair(left, right, &priority, &merged_id)` says whether two adjacent symbols merge; higher
// priority merges first. On return the live symbols are reachable from index 0 via `next`.
template <class Priority, class PairFn>
void bpe_merge(std::vector<MergeSymbol>& sym, PairFn&& pair) {
  struct Cand {
    Priority pri;
    int32_t left, right;
    uint32_t len;
    int32_t id;
  };
  // std heap is a max-heap: "less" = lower priority, or same priority but further right.
  auto worse = [](const Cand& a, const Cand& b) {
    return a.pri < b.pri || (a.pri == b.pri && a.left > b.left);
  };
  thread_local std::vector<Cand> heap;
  heap.clear();
  auto consider = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    Priority pri;
    int32_t id;
    if (!pair(sym[l], sym[r], &pri, &id)) return;
    heap.push_back({pri, l, r, sym[l].len + sym[r].len, id});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (size_t i = 0; i + 1 < sym.size(); ++i)
    consider(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Cand c = heap.back();
    heap.pop_back();
    MergeSymbol& l = sym[c.left];
    MergeSymbol& r = sym[c.right];
    if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len) continue;  // stale
    l.id = c.id;
    l.len = c.len;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    r.len = 0;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
}

// Links the symbols of `sym` into a list in index order.
inline void link_symbols(std::vector<MergeSymbol>& sym) {
  for (size_t i = 0; i < sym.size(); ++i) {
    sym[i].prev = static_cast<int32_t>(i) - 1;
    sym[i].next = i + 1 < sym.size() ? static_cast<int32_t>(i + 1) : -1;
  }
}

}  // namespace as::tok
