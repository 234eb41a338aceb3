// The heap-based merge loop must pick exactly what llama2.c's quadratic rescan picks. This test
// re-implements llama2.c's encode() literally and compares on real text.
#include <gtest/gtest.h>

#include <sstream>

#include "tokenizer_fixtures.h"

namespace as::test {
namespace {

std::vector<int32_t> llama2c_reference(const Tokenizer& tok, const std::string& text) {
  std::map<std::string, int32_t> lookup;
  for (int32_t i = tok.vocab_size() - 1; i >= 0; --i) lookup[tok.piece(i)] = i;
  auto find = [&](const std::string& s) {
    auto it = lookup.find(s);
    return it == lookup.end() ? -1 : it->second;
  };
  std::vector<int32_t> t;
  if (text.empty()) return t;
  t.push_back(find(" "));
  std::string buf;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) buf.clear();
    buf += text[i];
    if (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80 &&
        buf.size() < 4)
      continue;
    const int32_t id = find(buf);
    if (id >= 0) {
      t.push_back(id);
    } else {
      for (unsigned char b : buf) t.push_back(b + 3);
    }
    buf.clear();
  }
  while (true) {
    float best = -1e10f;
    int32_t best_id = -1;
    size_t best_idx = 0;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      const int32_t id = find(tok.piece(t[i]) + tok.piece(t[i + 1]));
      if (id >= 0 && tok.score(id) > best) {
        best = tok.score(id);
        best_id = id;
        best_idx = i;
      }
    }
    if (best_id < 0) break;
    t[best_idx] = best_id;
    t.erase(t.begin() + static_cast<std::ptrdiff_t>(best_idx) + 1);
  }
  return t;
}

TEST(TokenizerReference, Llama2cMatchesQuadraticMerge) {
  std::istringstream in(read_file(shared("data/tinystories_val.txt")));
  std::string line;
  int checked = 0;
  while (std::getline(in, line) && checked < 60) {
    if (line.empty()) continue;
    EXPECT_EQ(stories().encode(line), llama2c_reference(stories(), line)) << line;
    ++checked;
  }
  const std::string odd = "Ünïcödé 中文 \xF0\x9F\x98\x80 stray\x80 bytes\xC3";
  EXPECT_EQ(stories().encode(odd), llama2c_reference(stories(), odd));
}

}  // namespace
}  // namespace as::test
