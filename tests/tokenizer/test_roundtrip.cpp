// decode(encode(x)) == x, special tokens, and the bos/eos metadata of each tokenizer.
#include <gtest/gtest.h>

#include "tokenizer_fixtures.h"

namespace as::test {
namespace {

std::vector<std::string> sample_texts() {
  std::vector<std::string> texts;
  for (const auto& g : read_golden("goldens/tokenizer_qwen3.jsonl")) texts.push_back(g.text);
  texts.insert(texts.end(), {
                                "",
                                " ",
                                "   ",
                                "a",
                                "\n",
                                "line one\nline two\r\n\r\n  indented\n\n\n",
                                "tabs\tand\t\tmore\t \t",
                                "trailing spaces   ",
                                "don't I'LL we've they'RE it's",
                                "x = [1, 2, 3]; // comment\n    return x * 12345678;",
                                "mixed 中文 English العربية русский ελληνικά 123٤٥٦",
                                "emoji 👍🏽 and ZWJ 👨‍👩‍👧",
                                "\xC3\xA9t\xC3\xA9 caf\xC3\xA9",
                            });
  return texts;
}

// Byte-level BPE: decode(encode(x)) == x exactly.
void check_roundtrip(const Tokenizer& tok, const std::string& name) {
  size_t n = 0;
  for (const auto& t : sample_texts()) {
    EXPECT_EQ(tok.decode(tok.encode(t)), t) << name << ": " << nlohmann::json(t).dump();
    ++n;
  }
  EXPECT_GT(n, 150u);
}

// SentencePiece / llama2.c: the dummy-prefix space is dropped only after BOS.
void check_roundtrip_dummy_prefix(const Tokenizer& tok, const std::string& name) {
  size_t n = 0;
  for (const auto& t : sample_texts()) {
    const auto ids = tok.encode(t);
    std::vector<int32_t> with_bos{tok.bos_id()};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    EXPECT_EQ(tok.decode(with_bos), t) << name << ": " << nlohmann::json(t).dump();
    const std::string spaced = t.empty() ? t : std::string(1, ' ').append(t);
    EXPECT_EQ(tok.decode(ids), spaced) << name << ": " << nlohmann::json(t).dump();
    ++n;
  }
  EXPECT_GT(n, 150u);
}

TEST(TokenizerRoundTrip, Qwen3) { check_roundtrip(qwen3(), "qwen3"); }
TEST(TokenizerRoundTrip, Llama3) { check_roundtrip(llama3(), "llama3"); }
TEST(TokenizerRoundTrip, Llama2SentencePiece) {
  check_roundtrip_dummy_prefix(llama2sp(), "llama2sp");
}
TEST(TokenizerRoundTrip, Llama2cStories) { check_roundtrip_dummy_prefix(stories(), "stories"); }

TEST(TokenizerRoundTrip, ByteLevelKeepsInvalidUtf8) {
  // Llama-3 has no normalizer, so even malformed UTF-8 survives byte-level BPE.
  const std::string t = "ok \xFF\xFE bad \xE4\xB8 cut";
  EXPECT_EQ(llama3().decode(llama3().encode(t)), t);
}

TEST(TokenizerRoundTrip, StreamingDecodeMatchesDecode) {
  for (const Tokenizer* tok : {&qwen3(), &llama3(), &llama2sp(), &stories()}) {
    const std::string t = "Once upon a time, there was a little girl named Lily.\nShe said \"hi\".";
    std::vector<int32_t> ids{tok->bos_id()};
    if (ids[0] < 0) ids.clear();
    for (int32_t id : tok->encode(t)) ids.push_back(id);
    std::string streamed;
    int32_t prev = -1;
    for (int32_t id : ids) {
      streamed += tok->decode_token(prev, id);
      prev = id;
    }
    EXPECT_EQ(streamed, tok->decode(ids)) << tok->kind();
    // tokenizer.json decodes BOS to its text; the others drop it.
    const std::string bos_text =
        tok->kind() == "bpe_json" && tok->bos_id() >= 0 ? tok->piece(tok->bos_id()) : "";
    EXPECT_EQ(streamed, bos_text + t) << tok->kind();
    // A continuation decodes as it reads after the prompt (its first space is kept).
    const size_t half = ids.size() / 2;
    const std::vector<int32_t> tail(ids.begin() + static_cast<std::ptrdiff_t>(half), ids.end());
    std::string cont;
    for (size_t i = half; i < ids.size(); ++i) cont += tok->decode_token(ids[i - 1], ids[i]);
    EXPECT_EQ(tok->decode(tail), cont) << tok->kind();
  }
}

TEST(TokenizerSpecial, AddedTokensMatchedInText) {
  const auto ids = qwen3().encode("<|im_start|>user\nHi<|im_end|><think>");
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids[ids.size() - 2], 151645);
  EXPECT_EQ(ids.back(), 151667);
  EXPECT_EQ(qwen3().decode(ids), "<|im_start|>user\nHi<|im_end|><think>");
  const auto l3 = llama3().encode("<|begin_of_text|>Hello<|eot_id|>");
  EXPECT_EQ(l3.front(), 128000);
  EXPECT_EQ(l3.back(), 128009);
  // A partial special token is plain text.
  EXPECT_EQ(llama3().encode("<|begin_of_tex"), llama3().encode(std::string("<|begin_of_tex")));
  EXPECT_EQ(std::count(l3.begin(), l3.end(), 128000), 1);
}

TEST(TokenizerNormalize, Qwen3AppliesNfcLlama3DoesNot) {
  const std::string composed = "caf\xC3\xA9 r\xC3\xA9sum\xC3\xA9";       // U+00E9
  const std::string decomposed = "cafe\xCC\x81 re\xCC\x81sume\xCC\x81";  // e + U+0301
  EXPECT_EQ(qwen3().encode(decomposed), qwen3().encode(composed));
  EXPECT_EQ(qwen3().decode(qwen3().encode(decomposed)), composed);
  EXPECT_NE(llama3().encode(decomposed), llama3().encode(composed));
  EXPECT_EQ(llama3().decode(llama3().encode(decomposed)), decomposed);
}

TEST(TokenizerMetadata, Ids) {
  EXPECT_EQ(qwen3().kind(), "bpe_json");
  EXPECT_EQ(qwen3().bos_id(), -1);
  EXPECT_EQ(qwen3().eos_id(), 151645);
  EXPECT_FALSE(qwen3().add_bos());
  EXPECT_EQ(qwen3().vocab_size(), 151669);
  EXPECT_EQ(qwen3().pre_tokenizer(), "qwen2");
  EXPECT_EQ(qwen3().token_type(151643), TokenType::Control);
  EXPECT_EQ(qwen3().token_type(151667), TokenType::UserDefined);

  EXPECT_EQ(llama3().bos_id(), 128000);
  EXPECT_EQ(llama3().eos_id(), 128001);
  EXPECT_TRUE(llama3().add_bos());
  EXPECT_EQ(llama3().vocab_size(), 128256);
  EXPECT_EQ(llama3().pre_tokenizer(), "llama3");
  EXPECT_EQ(llama3().piece(128000), "<|begin_of_text|>");
  EXPECT_EQ(llama3().merges().size(), 280147u);
  EXPECT_EQ(llama3().merges()[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"

  EXPECT_EQ(llama2sp().kind(), "sentencepiece");
  EXPECT_EQ(llama2sp().bos_id(), 1);
  EXPECT_EQ(llama2sp().eos_id(), 2);
  EXPECT_TRUE(llama2sp().add_bos());
  EXPECT_EQ(llama2sp().vocab_size(), 32000);
  EXPECT_EQ(llama2sp().token_type(0), TokenType::Unknown);
  EXPECT_EQ(llama2sp().token_type(3), TokenType::Byte);
  EXPECT_EQ(llama2sp().piece(3), "<0x00>");

  EXPECT_EQ(stories().kind(), "llama2c");
  EXPECT_EQ(stories().bos_id(), 1);
  EXPECT_EQ(stories().eos_id(), 2);
  EXPECT_EQ(stories().vocab_size(), 512);
  EXPECT_EQ(stories().decode_token(1, 403), "Once");
  EXPECT_EQ(stories().decode_token(403, 407), " upon");
  EXPECT_EQ(stories().decode_token(403, 3 + '\n'), "\n");
}

TEST(TokenizerLoad, DirectoryLookup) {
  EXPECT_EQ(find_tokenizer_file(shared("tokenizers/qwen3")),
            shared("tokenizers/qwen3/tokenizer.json"));
  EXPECT_EQ(find_tokenizer_file(shared("tokenizers/llama2")),
            shared("tokenizers/llama2/tokenizer.model"));
  EXPECT_EQ(find_tokenizer_file(shared("data")), "");
  auto t = load_tokenizer(shared("tokenizers/llama2"));
  EXPECT_EQ(t->kind(), "sentencepiece");
  EXPECT_EQ(t->encode("Hello world"), llama2sp().encode("Hello world"));
}

}  // namespace
}  // namespace as::test
