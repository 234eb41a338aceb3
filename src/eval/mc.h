// Multiple-choice log-likelihood accuracy (acc and length-normalized acc_norm) on the sets in
// ../shared/data/eval/ (llm-foundry jsonl layouts, HellaSwag in llama.cpp's text layout), and
// LAMBADA last-word accuracy.
//
// Every option is a (context, continuation) pair joined as text, lm-eval-harness style:
//   context      = strip(query) + delimiter     (delimiter "\nAnswer:" for ARC and PIQA, as in
//                                                llm-foundry's task configs; empty otherwise)
//   continuation = strip(choice)
//   whole        = context + " " + continuation
// Tokens: ctx = encode_with_bos(context), all = encode_with_bos(whole); the scored continuation tokens
// are all[len(ctx):] (at least the last token). The resulting text equals both lm-eval-harness's
// ("Question: q\nAnswer:" + " " + choice) and llm-foundry's (stripped fields, prefix space); tokens
// come from one encode of the whole text so SentencePiece-style dummy prefixes are never inserted
// mid-sequence. Sequences longer than max_position lose tokens from the left.
//
// acc      = argmax_i sum of ln p over option i's continuation tokens
// acc_norm = argmax_i of that sum / (option i's continuation length in characters, i.e. Unicode code
//            points, as lm-eval-harness's len(choice); equals bytes for ASCII)
// Ties go to the lowest index. Winogrande: the options differ in context (the sentence up to the
// blank, with the option filled in) and share the continuation (partial scoring), so acc_norm ==
// acc. LAMBADA: acc = the continuation's tokens are all the greedy (argmax) predictions; acc_norm is
// set equal to acc and ppl = exp(-mean over examples of the continuation's log-likelihood).
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace as {

struct McOptions {
  std::string task;     // arc_easy, arc_challenge, piqa, winogrande, hellaswag, lambada, openbookqa, copa
  int64_t limit = -1;   // first N examples (-1 = all)
  bool progress = true;
  int64_t batch_tokens = 2048;  // padded tokens per forward batch
};

struct McResult {
  double acc = 0;
  double acc_norm = 0;
  int64_t n = 0;
  double seconds = 0;
  std::string task;  // canonical task name
  double ppl = 0;    // lambada only: exp(-mean continuation log-likelihood); 0 otherwise
};

// `data_path`: the eval data directory (the task's file is looked up there by its default name, e.g.
// arc_easy.jsonl, hellaswag_val_full.txt.bz2) or the task's data file itself.
McResult eval_multiple_choice(Model& model, const std::string& data_path, const McOptions& opts);
std::vector<std::string> mc_task_names();

// ---- pieces, exposed for tests and other drivers ----

// One example. Options pair contexts[i or 0] with continuations[i or 0]: either one context and
// several continuations (ordinary multiple choice), several contexts and one continuation
// (Winogrande), or one of each (LAMBADA).
struct McExample {
  std::vector<std::string> contexts;
  std::vector<std::string> continuations;
  int64_t gold = 0;
  size_t num_options() const { return std::max(contexts.size(), continuations.size()); }
  const std::string& context(size_t i) const { return contexts.size() == 1 ? contexts[0] : contexts[i]; }
  const std::string& continuation(size_t i) const {
    return continuations.size() == 1 ? continuations[0] : continuations[i];
  }
};

struct McTaskInfo {
  std::string name;       // canonical name
  std::string file;       // default file name inside the eval data directory
  std::string delimiter;  // appended to the stripped query
  bool greedy = false;    // LAMBADA-style: accuracy is greedy exact match of the single option
};
// Accepts the canonical names and the file stems (openbook_qa, lambada_openai). Throws as::Error
// listing the tasks for an unknown name.
const McTaskInfo& mc_task_info(const std::string& task);
// The task's data file for `data_path` (a directory or the file itself).
std::string mc_task_file(const std::string& task, const std::string& data_path);
// Reads and validates the first `limit` examples (-1 = all). Throws as::Error naming the file (and
// the line for a malformed or incomplete record).
std::vector<McExample> load_mc_examples(const std::string& task, const std::string& data_path,
                                        int64_t limit = -1);

// The decision for one example from per-option log-likelihoods and continuation lengths in
// characters (a length < 1 counts as 1).
struct McDecision {
  int64_t pred = -1;       // argmax of loglik
  int64_t pred_norm = -1;  // argmax of loglik / chars
};
McDecision mc_decide(const std::vector<double>& loglik, const std::vector<int64_t>& chars);

// Unicode code points in UTF-8 text (continuation bytes 10xxxxxx not counted).
int64_t utf8_length(const std::string& s);

}  // namespace as
