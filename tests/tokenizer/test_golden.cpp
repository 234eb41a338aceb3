// Every line of the golden files (made by Hugging Face tokenizers.js and sentencepiece) must match.
#include <gtest/gtest.h>

#include "tokenizer_fixtures.h"

namespace as::test {
namespace {

void check_golden(const Tokenizer& tok, const std::string& rel) {
  const auto lines = read_golden(rel);
  ASSERT_GT(lines.size(), 100u) << rel;
  size_t bad = 0;
  for (const auto& g : lines) {
    const auto ids = tok.encode(g.text);
    if (ids != g.ids) {
      ++bad;
      ADD_FAILURE() << rel << ": mismatch for text " << nlohmann::json(g.text).dump()
                    << "\n  expected " << ids_str(g.ids) << "\n  got      " << ids_str(ids);
    }
  }
  EXPECT_EQ(bad, 0u) << bad << " of " << lines.size() << " lines differ in " << rel;
}

TEST(TokenizerGolden, Qwen3) { check_golden(qwen3(), "goldens/tokenizer_qwen3.jsonl"); }
TEST(TokenizerGolden, Llama3) { check_golden(llama3(), "goldens/tokenizer_llama3.jsonl"); }
TEST(TokenizerGolden, Llama2SentencePiece) {
  check_golden(llama2sp(), "goldens/tokenizer_llama2sp.jsonl");
}

TEST(TokenizerGolden, Llama2cStories) {
  EXPECT_EQ(stories().encode("Once upon a time"), (std::vector<int32_t>{403, 407, 261, 378}));
  EXPECT_TRUE(stories().encode("").empty());
  const auto j = nlohmann::json::parse(read_file(shared("goldens/stories260K_greedy.json")));
  for (const auto& e : j) {
    std::vector<int32_t> ids{stories().bos_id()};
    for (int32_t id : stories().encode(e.at("prompt").get<std::string>())) ids.push_back(id);
    EXPECT_EQ(ids, e.at("prompt_ids").get<std::vector<int32_t>>()) << e.at("prompt");
  }
}

}  // namespace
}  // namespace as::test
