#include "eval/scoring.h"

#include <algorithm>
#include <map>
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

// Positions to score in one batch: row `rows[i]` of a flat hidden-state matrix predicts
// `targets[i]`, which belongs to request `owner[i]`.
struct Targets {
  std::vector<int64_t> rows, targets, owner;
  void add(int64_t row, int64_t target, int64_t req) {
    rows.push_back(row);
    targets.push_back(target);
    owner.push_back(req);
  }
};

// Runs the LM head on the selected rows of `hidden` [N, H] in bounded chunks and accumulates the
// target log-probabilities and greedy matches into `out`.
void score_rows(Model& model, const torch::Tensor& hidden, const Targets& tg, int64_t rows_per_chunk,
                std::vector<ScoreResult>& out) {
  if (tg.rows.empty()) return;
  torch::Tensor row_idx = torch::tensor(tg.rows, torch::kInt64);
  torch::Tensor tgt_all = torch::tensor(tg.targets, torch::kInt64);
  const int64_t nrows = static_cast<int64_t>(tg.rows.size());
  for (int64_t s = 0; s < nrows; s += rows_per_chunk) {
    const int64_t e = std::min(nrows, s + rows_per_chunk);
    torch::Tensor hs = hidden.index_select(0, row_idx.slice(0, s, e)).unsqueeze(0);
    torch::Tensor logits = model.head(hs).squeeze(0).to(torch::kFloat32);  // [r, V]
    torch::Tensor tgt = tgt_all.slice(0, s, e);
    check(logits.size(-1) > tgt.max().item<int64_t>(),
          "score_requests: the LM head returns " + std::to_string(logits.size(-1)) +
              " logits, fewer than the token ids being scored");
    torch::Tensor lse = torch::logsumexp(logits, -1);
    torch::Tensor tl = logits.gather(1, tgt.unsqueeze(1)).squeeze(1);
    torch::Tensor lp = (tl - lse).to(torch::kFloat64).contiguous();
    torch::Tensor hit = logits.argmax(-1).eq(tgt).contiguous();
    const double* lpp = lp.data_ptr<double>();
    const bool* hp = hit.data_ptr<bool>();
    for (int64_t i = s; i < e; ++i) {
      ScoreResult& res = out[static_cast<size_t>(tg.owner[static_cast<size_t>(i)])];
      res.loglik += lpp[i - s];
      res.targets += 1;
      res.greedy = res.greedy && hp[i - s];
    }
  }
}

// Requests scored together: `prefix` > 0 when they share their first `prefix` tokens (and no target
// lies inside it); 0 for a single request run on its own.
struct Unit {
  std::vector<int64_t> reqs;
  int64_t prefix = 0;
  int64_t max_len = 0;     // longest request
  int64_t max_suffix = 0;  // longest part after the prefix
};

std::vector<Unit> make_units(const std::vector<ScoreRequest>& reqs, bool share) {
  std::vector<Unit> units;
  std::map<int64_t, size_t> by_group;
  for (size_t r = 0; r < reqs.size(); ++r) {
    const int64_t g = reqs[r].group;
    if (share && g >= 0) {
      auto [it, fresh] = by_group.emplace(g, units.size());
      if (fresh) units.emplace_back();
      units[it->second].reqs.push_back(static_cast<int64_t>(r));
    } else {
      units.emplace_back();
      units.back().reqs.push_back(static_cast<int64_t>(r));
    }
  }
  for (Unit& u : units) {
    const ScoreRequest& first = reqs[static_cast<size_t>(u.reqs[0])];
    int64_t p = static_cast<int64_t>(first.tokens.size());
    for (int64_t r : u.reqs) {
      const ScoreRequest& q = reqs[static_cast<size_t>(r)];
      // The logit for target_begin sits at target_begin-1; every request keeps a non-empty suffix.
      p = std::min<int64_t>({p, q.target_begin, static_cast<int64_t>(q.tokens.size()) - 1});
      int64_t k = 0;
      while (k < p && q.tokens[static_cast<size_t>(k)] == first.tokens[static_cast<size_t>(k)]) ++k;
      p = k;
      u.max_len = std::max<int64_t>(u.max_len, static_cast<int64_t>(q.tokens.size()));
    }
    // Sharing pays off only with several requests and a prefix of some length.
    u.prefix = (u.reqs.size() >= 2 && p >= 2) ? p : 0;
    u.max_suffix = u.max_len - u.prefix;
  }
  return units;
}

}  // namespace

std::vector<ScoreResult> score_requests(Model& model, const std::vector<ScoreRequest>& reqs,
                                        const ScoreOptions& opts) {
  validate(model, reqs);
  torch::NoGradGuard no_grad;
  const int64_t total = static_cast<int64_t>(reqs.size());
  std::vector<ScoreResult> out(reqs.size());

  const int64_t heads = std::max<int64_t>(1, model.config().num_heads);
  const int64_t vocab = std::max<int64_t>(1, model.config().vocab_size);
  const int64_t rows_per_chunk = std::max<int64_t>(1, opts.logit_elems / vocab);
  const int64_t budget = std::max<int64_t>(1, opts.batch_tokens);

  // Shared-prefix units by prefix length, then longest suffix first; single requests longest first.
  std::vector<Unit> units = make_units(reqs, opts.share_prefixes);
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
    if (a.prefix != b.prefix) return a.prefix > b.prefix;
    return a.prefix > 0 ? a.max_suffix > b.max_suffix : a.max_len > b.max_len;
  });

  int64_t done = 0;
  size_t pos = 0;
  while (pos < units.size()) {
    const int64_t P = units[pos].prefix;
    if (P == 0) {
      // Plain batch: whole sequences, right-padded to the longest.
      const int64_t len = units[pos].max_len;
      int64_t bsz = std::max<int64_t>(1, budget / len);
      bsz = std::min<int64_t>(bsz, std::max<int64_t>(1, opts.attn_elems / (heads * len * len)));
      size_t end = pos;
      while (end < units.size() && units[end].prefix == 0 && static_cast<int64_t>(end - pos) < bsz) ++end;
      const int64_t B = static_cast<int64_t>(end - pos);
      torch::Tensor ids = torch::zeros({B, len}, torch::kInt64);
      auto ida = ids.accessor<int64_t, 2>();
      Targets tg;
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = units[pos + static_cast<size_t>(b)].reqs[0];
        const ScoreRequest& q = reqs[static_cast<size_t>(r)];
        const int64_t n = static_cast<int64_t>(q.tokens.size());
        for (int64_t t = 0; t < n; ++t) ida[b][t] = q.tokens[static_cast<size_t>(t)];
        // The prediction for token t is made at position t-1.
        for (int64_t t = q.target_begin; t < n; ++t) tg.add(b * len + t - 1, q.tokens[static_cast<size_t>(t)], r);
      }
      if (!tg.rows.empty()) {
        torch::Tensor h = final_hidden(model, ids);
        score_rows(model, h.reshape({B * len, h.size(-1)}), tg, rows_per_chunk, out);
      }
      done += B;
      pos = end;
    } else {
      // Shared-prefix batch: E units with the same prefix length P; their prefixes run once into a
      // KV cache, which is then replicated for each unit's requests, whose suffixes run on top.
      const int64_t S = units[pos].max_suffix;
      size_t end = pos;
      int64_t E = 0, rows = 0;
      while (end < units.size() && units[end].prefix == P) {
        const int64_t e2 = E + 1, r2 = rows + static_cast<int64_t>(units[end].reqs.size());
        const bool fits = e2 * P + r2 * S <= budget && e2 * heads * P * P <= opts.attn_elems &&
                          r2 * heads * S * (P + S) <= opts.attn_elems;
        if (E > 0 && !fits) break;
        E = e2;
        rows = r2;
        ++end;
      }
      torch::Tensor pre = torch::zeros({E, P}, torch::kInt64);
      torch::Tensor suf = torch::zeros({rows, S}, torch::kInt64);
      std::vector<int64_t> expand;  // unit index of every suffix row
      auto pa = pre.accessor<int64_t, 2>();
      auto sa = suf.accessor<int64_t, 2>();
      Targets tg;
      int64_t row = 0;
      for (int64_t u = 0; u < E; ++u) {
        const Unit& unit = units[pos + static_cast<size_t>(u)];
        const ScoreRequest& first = reqs[static_cast<size_t>(unit.reqs[0])];
        for (int64_t t = 0; t < P; ++t) pa[u][t] = first.tokens[static_cast<size_t>(t)];
        for (int64_t r : unit.reqs) {
          const ScoreRequest& q = reqs[static_cast<size_t>(r)];
          const int64_t n = static_cast<int64_t>(q.tokens.size());
          for (int64_t t = P; t < n; ++t) sa[row][t - P] = q.tokens[static_cast<size_t>(t)];
          for (int64_t t = q.target_begin; t < n; ++t) {
            // Position t-1 is in the suffix pass, or the prefix's last position (row after the suffixes).
            const int64_t hrow = t - 1 >= P ? row * S + (t - 1 - P) : rows * S + u;
            tg.add(hrow, q.tokens[static_cast<size_t>(t)], r);
          }
          expand.push_back(u);
          ++row;
        }
      }
      KVCache cache = model.new_cache(E, P + S);
      torch::Tensor h = model.embed(pre);
      for (int i = 0; i < model.num_layers(); ++i) h = model.run_layer(i, h, 0, &cache);
      torch::Tensor last = h.select(1, P - 1);  // [E, H]
      torch::Tensor ex = torch::tensor(expand, torch::kInt64);
      for (size_t l = 0; l < cache.k.size(); ++l) {
        cache.k[l] = cache.k[l].index_select(0, ex);
        cache.v[l] = cache.v[l].index_select(0, ex);
      }
      cache.length = P;
      torch::Tensor hs = model.embed(suf);
      for (int i = 0; i < model.num_layers(); ++i) hs = model.run_layer(i, hs, P, &cache);
      torch::Tensor hidden = torch::cat({hs.reshape({rows * S, hs.size(-1)}), last}, 0);
      score_rows(model, hidden, tg, rows_per_chunk, out);
      done += rows;
      pos = end;
    }
    if (opts.on_progress) opts.on_progress(done, total);
  }
  return out;
}

}  // namespace as
