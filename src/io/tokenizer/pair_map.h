// Open-addressing hash map from a token-id pair to (rank, merged id): the BPE merge table. One
// flat array probed linearly, so a lookup is usually a single cache miss.
#pragma once
#include <cstdint>
#include <vector>

namespace as::tok {

class PairMap {
 public:
  struct Value {
    int32_t rank, id;
  };

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    rehash(cap);
  }
  // Keeps the first value inserted for a pair.
  void insert(int32_t a, int32_t b, Value v) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    Slot& s = probe(key(a, b));
    if (s.key == kEmpty) {
      s = {key(a, b), v};
      ++size_;
    }
  }
  const Value* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = const_cast<PairMap*>(this)->probe(key(a, b));
    return s.key == kEmpty ? nullptr : &s.value;
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Value value{};
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  Slot& probe(uint64_t k) {
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & mask;
    return slots_[i];
  }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    for (const Slot& s : old)
      if (s.key != kEmpty) probe(s.key) = s;
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace as::tok
