// Tokenizers under test, loaded once per process, and golden-file helpers.
#pragma once
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/file.h"
#include "io/tokenizer/tokenizer.h"
#include "test_util.h"

namespace as::test {

inline const Tokenizer& cached_tokenizer(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[rel];
  if (!t) t = load_tokenizer(shared(rel));
  return *t;
}
inline const Tokenizer& qwen3() { return cached_tokenizer("tokenizers/qwen3/tokenizer.json"); }
inline const Tokenizer& llama3() { return cached_tokenizer("tokenizers/llama3/tokenizer.json"); }
inline const Tokenizer& llama2sp() { return cached_tokenizer("tokenizers/llama2/tokenizer.model"); }
inline const Tokenizer& stories() { return cached_tokenizer("models/stories260K/tok512.bin"); }

struct GoldenLine {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::vector<GoldenLine> read_golden(const std::string& rel) {
  std::ifstream f(shared(rel));
  std::vector<GoldenLine> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    out.push_back({j.at("text").get<std::string>(), j.at("ids").get<std::vector<int32_t>>()});
  }
  return out;
}

inline std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

}  // namespace as::test
