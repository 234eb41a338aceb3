// Loaders of the three tokenizer formats (used by load_tokenizer).
#pragma once
#include <memory>
#include <string>

#include "io/tokenizer/tokenizer.h"

namespace as::tok {

// Byte-level BPE from a Hugging Face tokenizer.json (+ tokenizer_config.json next to it).
std::unique_ptr<Tokenizer> load_bpe_json(const std::string& path);
// SentencePiece BPE from a tokenizer.model protobuf.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path);
// llama2.c tokenizer.bin.
std::unique_ptr<Tokenizer> load_llama2c(const std::string& path);

}  // namespace as::tok
