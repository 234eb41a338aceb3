#include "eval/scoring.h"

#include <algorithm>
#include <numeric>
#include <string>

#include <torch/torch.h>

#include "common/error.h"

namespace as {

torch::Tensor final_hidden(Model& model, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  torch::Tensor h = model.embed(ids);
  for (int i = 0; i < model.num_layers(); ++i) h = model.run_layer(i, h, /*pos0=*/0);
  return h;
}

namespace {

void validate(const Model& model, const std::vector<ScoreRequest>& reqs) {
  const int64_t vocab = model.config().vocab_size;
  const int64_t max_len = model.config().max_position;
  for (size_t r = 0; r < reqs.size(); ++r) {
    const auto& q = reqs[r];
    const int64_t n = static_cast<int64_t>(q.tokens.size());
    check(n > 0, "score request " + std::to_string(r) + ": empty token sequence");
    check(n <= max_len, "score request " + std::to_string(r) + ": " + std::to_string(n) +
                            " tokens exceed the model's max_position " + std::to_string(max_len));
    check(q.target_begin >= 1 && q.target_begin <= n,
          "score request " + std::to_string(r) + ": target_begin " + std::to_string(q.target_begin) +
              " outside [1, " + std::to_string(n) + "]");
    for (int32_t t : q.tokens)
      check(t >= 0 && t < vocab, "score request " + std::to_string(r) + ": token id " +
                                     std::to_string(t) + " outside the vocabulary [0, " +
                                     std::to_string(vocab) + ")");
  }
}

}  // namespace

std::vector<ScoreResult> score_requests(Model& model, const std::vector<ScoreRequest>& reqs,
                                        const ScoreOptions& opts) {
  validate(model, reqs);
  torch::NoGradGuard no_grad;
  const int64_t total = static_cast<int64_t>(reqs.size());
  std::vector<ScoreResult> out(reqs.size());

  // Longest first: the first batch shows the peak memory, and similar lengths share a batch.
  std::vector<int64_t> order(reqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return reqs[a].tokens.size() > reqs[b].tokens.size();
  });

  const int64_t heads = std::max<int64_t>(1, model.config().num_heads);
  const int64_t vocab = std::max<int64_t>(1, model.config().vocab_size);
  const int64_t rows_per_chunk = std::max<int64_t>(1, opts.logit_elems / vocab);

  int64_t done = 0;
  size_t pos = 0;
  while (pos < order.size()) {
    const int64_t len = static_cast<int64_t>(reqs[order[pos]].tokens.size());
    int64_t bsz = std::max<int64_t>(1, opts.batch_tokens / len);
    bsz = std::min<int64_t>(bsz, std::max<int64_t>(1, opts.attn_elems / (heads * len * len)));
    bsz = std::min<int64_t>(bsz, static_cast<int64_t>(order.size() - pos));

    // Right-padded input batch and the flat (row, target) list of positions to score.
    torch::Tensor ids = torch::zeros({bsz, len}, torch::kInt64);
    auto ida = ids.accessor<int64_t, 2>();
    std::vector<int64_t> rows, targets, owner;
    for (int64_t b = 0; b < bsz; ++b) {
      const ScoreRequest& q = reqs[order[pos + b]];
      const int64_t n = static_cast<int64_t>(q.tokens.size());
      for (int64_t t = 0; t < n; ++t) ida[b][t] = q.tokens[t];
      for (int64_t t = q.target_begin; t < n; ++t) {
        rows.push_back(b * len + t - 1);  // the prediction for token t is made at position t-1
        targets.push_back(q.tokens[t]);
        owner.push_back(order[pos + b]);
      }
    }

    if (!rows.empty()) {
      torch::Tensor h = final_hidden(model, ids);
      h = h.reshape({bsz * len, h.size(-1)});
      torch::Tensor row_idx = torch::tensor(rows, torch::kInt64);
      torch::Tensor tgt_all = torch::tensor(targets, torch::kInt64);
      const int64_t nrows = static_cast<int64_t>(rows.size());
      for (int64_t s = 0; s < nrows; s += rows_per_chunk) {
        const int64_t e = std::min(nrows, s + rows_per_chunk);
        torch::Tensor hs = h.index_select(0, row_idx.slice(0, s, e)).unsqueeze(0);
        torch::Tensor logits = model.head(hs).squeeze(0).to(torch::kFloat32);  // [r, V]
        torch::Tensor tgt = tgt_all.slice(0, s, e);
        check(logits.size(-1) > tgt.max().item<int64_t>(),
              "score_requests: LM head returns " + std::to_string(logits.size(-1)) +
                  " logits, fewer than the token ids being scored");
        torch::Tensor lse = torch::logsumexp(logits, -1);
        torch::Tensor tl = logits.gather(1, tgt.unsqueeze(1)).squeeze(1);
        torch::Tensor lp = (tl - lse).to(torch::kFloat64).contiguous();
        torch::Tensor hit = logits.argmax(-1).eq(tgt).contiguous();
        const double* lpp = lp.data_ptr<double>();
        const bool* hp = hit.data_ptr<bool>();
        for (int64_t i = s; i < e; ++i) {
          ScoreResult& res = out[owner[i]];
          res.loglik += lpp[i - s];
          res.targets += 1;
          res.greedy = res.greedy && hp[i - s];
        }
      }
    }
    pos += bsz;
    done += bsz;
    if (opts.on_progress) opts.on_progress(done, total);
  }
  return out;
}

}  // namespace as
