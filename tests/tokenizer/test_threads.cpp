// encode() is const and thread-safe; the per-thread word cache (including its eviction when full)
// must never change results.
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer_fixtures.h"

namespace as::test {
namespace {

struct Case {
  const Tokenizer* tok;
  std::string golden;
};

TEST(TokenizerThreads, ConcurrentEncodeAndCacheEviction) {
  const std::vector<Case> cases = {{&qwen3(), "goldens/tokenizer_qwen3.jsonl"},
                                   {&llama3(), "goldens/tokenizer_llama3.jsonl"},
                                   {&llama2sp(), "goldens/tokenizer_llama2sp.jsonl"}};
  std::vector<std::vector<GoldenLine>> goldens;
  for (const auto& c : cases) goldens.push_back(read_golden(c.golden));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < cases.size(); ++k) {
        const auto& tok = *cases[(k + t) % cases.size()].tok;
        const auto& lines = goldens[(k + t) % cases.size()];
        for (const auto& g : lines) bad[t] += tok.encode(g.text) != g.ids;
        if (t == 0) {
          // Push the cache past its capacity with distinct words, then check again.
          std::string words;
          for (int i = 0; i < 70000; ++i) words.append(" w").append(std::to_string(i * 7919));
          tok.encode(words);
          for (const auto& g : lines) bad[t] += tok.encode(g.text) != g.ids;
        }
      }
      for (int rep = 0; rep < 3; ++rep)
        bad[t] += stories().encode("Once upon a time") != std::vector<int32_t>{403, 407, 261, 378};
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace as::test
