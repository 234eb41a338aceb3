// Every defect in a tokenizer file is an as::Error whose message names the file.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "tokenizer_fixtures.h"

namespace as::test {
namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

void expect_error_naming(const std::string& path, const std::string& named) {
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(TokenizerErrors, MissingPath) {
  const TempDir dir;
  expect_error_naming(dir / "nope/tokenizer.json", dir / "nope/tokenizer.json");
}

TEST(TokenizerErrors, DirectoryWithoutTokenizer) {
  const TempDir dir;
  write(dir / "config.json", "{}");
  expect_error_naming(dir.str(), dir.str());
}

TEST(TokenizerErrors, MalformedJson) {
  const TempDir dir;
  write(dir / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,");
  expect_error_naming(dir.str(), dir / "tokenizer.json");
}

TEST(TokenizerErrors, JsonWithoutModel) {
  const TempDir dir;
  write(dir / "tokenizer.json", "{\"version\": \"1.0\"}");
  expect_error_naming(dir / "tokenizer.json", dir / "tokenizer.json");
}

TEST(TokenizerErrors, TruncatedBin) {
  const std::string full = read_file(shared("models/stories260K/tok512.bin"));
  const TempDir dir;
  // Cut inside the last token's bytes, inside the first token header, inside max_token_length.
  for (size_t keep : {full.size() - 1, size_t{4 + 3}, size_t{2}}) {
    write(dir / "tokenizer.bin", full.substr(0, keep));
    expect_error_naming(dir / "tokenizer.bin", dir / "tokenizer.bin");
  }
}

TEST(TokenizerErrors, TruncatedModel) {
  const std::string full = read_file(shared("tokenizers/llama2/tokenizer.model"));
  const TempDir dir;
  for (size_t keep : {full.size() / 2, full.size() - 3, size_t{1}, size_t{0}}) {
    write(dir / "tokenizer.model", full.substr(0, keep));
    expect_error_naming(dir / "tokenizer.model", dir / "tokenizer.model");
  }
}

TEST(TokenizerErrors, UnknownExtension) {
  const TempDir dir;
  write(dir / "vocab.txt", "a\nb\n");
  expect_error_naming(dir / "vocab.txt", dir / "vocab.txt");
}

}  // namespace
}  // namespace as::test
