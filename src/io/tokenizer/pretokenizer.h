// The Split pre-tokenizer regexes of the GPT-2, Llama-3 and Qwen2 families, matched by a
// hand-written scanner that follows the regex's leftmost-alternative, backtracking semantics:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+                                       (Llama-3; Qwen2 has \p{N})
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+   (GPT-2)
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace as::tok {

struct SplitRules {
  std::string name;    // "llama3", "qwen2", "gpt2"
  bool gpt2 = false;   // GPT-2 alternatives (" ?" prefixes, case-sensitive contractions)
  int max_digits = 0;  // digits per piece; 0 = unbounded
};

// Rules for a Split regex taken from tokenizer.json; false when the pattern is not supported.
bool find_split_rules(std::string_view regex, SplitRules* rules);
// The regex the ByteLevel pre-tokenizer applies when use_regex is true.
SplitRules gpt2_split_rules();

// Splits text into pieces; appends the end offset of each piece to `ends` (the pieces are
// contiguous and cover the whole text).
void split_pretokens(const SplitRules& rules, std::string_view text, std::vector<uint32_t>& ends);

}  // namespace as::tok
