// Batched log-likelihood scoring: the engine under perplexity and multiple-choice evaluation.
//
// A request is one token sequence plus the index of its first target; every target token is scored
// given all tokens before it in the sequence. Requests are sorted by length and packed into
// right-padded batches (padding sits after every real token, so causal attention never sees it).
// Only the hidden states at target positions go through the LM head, in chunks of rows, so the
// logits in memory stay bounded whatever the vocabulary size.
//
// Requests that carry the same `group` id (the options of one multiple-choice question) share the
// forward pass over their common token prefix: the prefix runs once into a KV cache, which is
// replicated per option, and only each option's remaining tokens run on top of it. Groups with the
// same prefix length are batched together. Scores equal the ungrouped ones up to float rounding.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "model/model.h"

namespace as {

struct ScoreRequest {
  std::vector<int32_t> tokens;  // model input; at most the model's max_position tokens
  int64_t target_begin = 1;     // tokens[target_begin..] are targets; 1 <= target_begin <= size
  int64_t group = -1;           // >= 0: shares its common prefix with the requests of this group
};

struct ScoreResult {
  double loglik = 0;    // sum of ln p(target | preceding tokens)
  int64_t targets = 0;  // number of scored tokens
  bool greedy = true;   // every target is the argmax of its prediction (true when there are none)
};

struct ScoreOptions {
  int64_t batch_tokens = 2048;      // padded tokens per forward batch (at least one sequence)
  int64_t logit_elems = 1LL << 24;  // rows x vocab materialized at once in the LM head
  int64_t attn_elems = 1LL << 27;   // cap on batch x heads x T x T attention scores
  bool share_prefixes = true;       // use `group` (off: every request runs on its own)
  // Called after each batch with the number of requests finished so far.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

// Scores every request; results are in request order. Throws as::Error on out-of-range token ids,
// a sequence longer than max_position, or a bad target_begin (naming the request index).
std::vector<ScoreResult> score_requests(Model& model, const std::vector<ScoreRequest>& reqs,
                                        const ScoreOptions& opts = {});

// Hidden states after the last decoder layer, before the final norm: ids [B,T] -> [B,T,H].
// Equivalent to the trunk of Model::forward(ids) without a cache.
torch::Tensor final_hidden(Model& model, const torch::Tensor& ids);

}  // namespace as
