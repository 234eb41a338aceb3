// Format dispatch: a file is recognised by its name (tokenizer.json / *.model / *.bin); a directory
// is searched for tokenizer.json, then tokenizer.model, then tokenizer.bin.
#include <filesystem>

#include "common/error.h"
#include "common/file.h"
#include "io/tokenizer/loaders.h"
#include "io/tokenizer/tokenizer.h"

namespace as {

std::string find_tokenizer_file(const std::string& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"}) {
    const std::string p = (std::filesystem::path(dir) / name).string();
    if (file_exists(p)) return p;
  }
  return "";
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::string file = path;
  if (is_directory(path)) {
    file = find_tokenizer_file(path);
    check(!file.empty(),
          path + ": no tokenizer.json, tokenizer.model or tokenizer.bin in this directory");
  } else {
    check(file_exists(path), path + ": tokenizer file not found");
  }
  const std::string ext = std::filesystem::path(file).extension().string();
  if (ext == ".json") return tok::load_bpe_json(file);
  if (ext == ".model") return tok::load_sentencepiece(file);
  if (ext == ".bin") return tok::load_llama2c(file);
  throw Error(file + ": unknown tokenizer format (expected .json, .model or .bin)");
}

}  // namespace as
