#include "eval/mc.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "eval/scoring.h"

namespace as {

int64_t utf8_length(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

McDecision mc_decide(const std::vector<double>& loglik, const std::vector<int64_t>& chars) {
  check(loglik.size() == chars.size(), "mc_decide: " + std::to_string(loglik.size()) +
                                           " log-likelihoods for " + std::to_string(chars.size()) +
                                           " lengths");
  McDecision d;
  double best = 0, best_norm = 0;
  for (size_t i = 0; i < loglik.size(); ++i) {
    const double norm = loglik[i] / static_cast<double>(std::max<int64_t>(1, chars[i]));
    if (d.pred < 0 || loglik[i] > best) {
      d.pred = static_cast<int64_t>(i);
      best = loglik[i];
    }
    if (d.pred_norm < 0 || norm > best_norm) {
      d.pred_norm = static_cast<int64_t>(i);
      best_norm = norm;
    }
  }
  return d;
}

namespace {

// Builds the scoring request for one option (see the tokenization convention in mc.h).
ScoreRequest option_request(const Tokenizer& tok, const std::vector<int32_t>& ctx_ids,
                            const std::string& context, const std::string& continuation, int64_t max_len) {
  ScoreRequest q;
  q.tokens = encode_with_bos(tok, context.empty() ? continuation : context + " " + continuation);
  const int64_t n = static_cast<int64_t>(q.tokens.size());
  check(n >= 2, "multiple choice: option '" + continuation + "' encodes to fewer than 2 tokens");
  q.target_begin = std::clamp<int64_t>(static_cast<int64_t>(ctx_ids.size()), 1, n - 1);
  if (n > max_len) {  // keep the end: drop context tokens from the left
    const int64_t drop = n - max_len;
    q.tokens.erase(q.tokens.begin(), q.tokens.begin() + drop);
    q.target_begin = std::max<int64_t>(1, q.target_begin - drop);
  }
  return q;
}

}  // namespace

McResult eval_multiple_choice(Model& model, const std::string& data_path, const McOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  const McTaskInfo& info = mc_task_info(opts.task);
  check(model.has_tokenizer(), info.name + ": the model has no tokenizer");
  const std::vector<McExample> examples = load_mc_examples(opts.task, data_path, opts.limit);
  const Tokenizer& tok = model.tokenizer();
  const int64_t max_len = model.config().max_position;

  // One request per option; examples' options are contiguous in `reqs`.
  std::vector<ScoreRequest> reqs;
  std::vector<size_t> first(examples.size() + 1, 0);
  for (size_t e = 0; e < examples.size(); ++e) {
    const McExample& ex = examples[e];
    first[e] = reqs.size();
    std::vector<std::vector<int32_t>> ctx_ids(ex.contexts.size());
    for (size_t c = 0; c < ex.contexts.size(); ++c) ctx_ids[c] = encode_with_bos(tok, ex.contexts[c]);
    for (size_t i = 0; i < ex.num_options(); ++i) {
      const size_t c = ex.contexts.size() == 1 ? 0 : i;
      reqs.push_back(option_request(tok, ctx_ids[c], ex.contexts[c], ex.continuation(i), max_len));
      reqs.back().group = static_cast<int64_t>(e);  // options share their context's forward pass
    }
  }
  first[examples.size()] = reqs.size();

  ScoreOptions so;
  so.batch_tokens = opts.batch_tokens;
  std::unique_ptr<Progress> bar;
  if (opts.progress) {
    bar = std::make_unique<Progress>(info.name, static_cast<int64_t>(reqs.size()));
    so.on_progress = [&](int64_t done, int64_t) { bar->update(done); };
  }
  const std::vector<ScoreResult> scores = score_requests(model, reqs, so);
  if (bar) bar->finish();

  McResult res;
  res.task = info.name;
  res.n = static_cast<int64_t>(examples.size());
  int64_t hits = 0, hits_norm = 0;
  double loglik_sum = 0;
  for (size_t e = 0; e < examples.size(); ++e) {
    const McExample& ex = examples[e];
    if (info.greedy) {
      const ScoreResult& s = scores[first[e]];
      hits += s.greedy ? 1 : 0;
      loglik_sum += s.loglik;
      continue;
    }
    std::vector<double> ll;
    std::vector<int64_t> chars;
    for (size_t i = 0; i < ex.num_options(); ++i) {
      ll.push_back(scores[first[e] + i].loglik);
      chars.push_back(utf8_length(ex.continuation(i)));
    }
    const McDecision d = mc_decide(ll, chars);
    hits += d.pred == ex.gold ? 1 : 0;
    hits_norm += d.pred_norm == ex.gold ? 1 : 0;
  }
  const double n = static_cast<double>(std::max<int64_t>(1, res.n));
  res.acc = static_cast<double>(hits) / n;
  res.acc_norm = info.greedy ? res.acc : static_cast<double>(hits_norm) / n;
  if (info.greedy) res.ppl = std::exp(-loglik_sum / n);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace as
