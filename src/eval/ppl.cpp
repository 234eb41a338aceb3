#include "eval/ppl.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "common/error.h"
#include "common/file.h"
#include "common/text.h"
#include "common/log.h"
#include "eval/scoring.h"

namespace as {

namespace {

// Paragraph separators are empty lines (a lone '\r' counts as empty). Whitespace-only lines stay
// inside their paragraph, so the split agrees with text.split("\n\n") on LF files.
bool blank(const std::string& line) { return line.empty() || line == "\r"; }

struct Totals {
  double loglik = 0;
  int64_t tokens = 0;
};

Totals score_all(Model& model, const std::vector<ScoreRequest>& reqs, const PplOptions& opts,
                 const std::string& what) {
  ScoreOptions so;
  so.batch_tokens = opts.batch_tokens;
  std::unique_ptr<Progress> bar;
  if (opts.progress) {
    bar = std::make_unique<Progress>(what, static_cast<int64_t>(reqs.size()));
    so.on_progress = [&](int64_t done, int64_t) { bar->update(done); };
  }
  Totals t;
  for (const ScoreResult& r : score_requests(model, reqs, so)) {
    t.loglik += r.loglik;
    t.tokens += r.targets;
  }
  if (bar) bar->finish();
  return t;
}

std::vector<int32_t> encode_stream(const Tokenizer& tok, const std::string& text, int64_t max_tokens) {
  if (max_tokens <= 0) return encode_with_bos(tok, text);
  // Tokenize a growing prefix of the text (cut at whitespace) until it yields enough tokens, so a
  // small cap does not pay for tokenizing a large file.
  size_t bytes = static_cast<size_t>(std::max<int64_t>(max_tokens, 256)) * 8;
  while (true) {
    if (bytes >= text.size()) return encode_with_bos(tok, text);
    size_t cut = bytes;
    while (cut > 0 && !is_space(text[cut])) --cut;
    if (cut == 0) cut = bytes;
    std::vector<int32_t> ids = encode_with_bos(tok, text.substr(0, cut));
    // The token at the cut may merge differently with the following text: require one spare.
    if (static_cast<int64_t>(ids.size()) > max_tokens) return ids;
    bytes *= 2;
  }
}

}  // namespace

std::vector<std::string> split_paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  auto flush = [&] {
    std::string p = strip(cur);
    if (!p.empty()) out.push_back(std::move(p));
    cur.clear();
  };
  while (i <= text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(i, nl - i);
    if (blank(line)) {
      flush();
    } else {
      if (!cur.empty()) cur += '\n';
      cur += line;
    }
    i = nl + 1;
  }
  flush();
  return out;
}

std::vector<StreamWindow> plan_stream_windows(int64_t n, int64_t ctx, int64_t stride) {
  check(ctx >= 2, "perplexity: ctx must be at least 2 (got " + std::to_string(ctx) + ")");
  check(stride >= 1 && stride <= ctx, "perplexity: stride must be in [1, ctx=" + std::to_string(ctx) +
                                          "] (got " + std::to_string(stride) + ")");
  std::vector<StreamWindow> out;
  if (n < 2) return out;
  int64_t prev_end = 0;
  for (int64_t begin = 0; begin < n; begin += stride) {
    StreamWindow w;
    w.begin = begin;
    w.end = std::min(begin + ctx, n);
    w.first_target = std::max(begin + 1, prev_end);
    if (w.first_target < w.end) out.push_back(w);
    prev_end = w.end;
    if (w.end == n) break;
  }
  return out;
}

PplResult eval_perplexity(Model& model, const std::string& data_path, const PplOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  check(model.has_tokenizer(), "perplexity: the model has no tokenizer");
  check(file_exists(data_path), "perplexity: data file not found: " + data_path);
  const Tokenizer& tok = model.tokenizer();
  const int64_t max_len = model.config().max_position;
  const std::string text = read_file(data_path);

  std::vector<ScoreRequest> reqs;
  PplResult res;
  if (opts.protocol == "paragraphs") {
    std::vector<std::string> paras = split_paragraphs(text);
    if (opts.max_paragraphs >= 0 && static_cast<int64_t>(paras.size()) > opts.max_paragraphs)
      paras.resize(static_cast<size_t>(opts.max_paragraphs));
    check(!paras.empty(), "perplexity: no paragraphs in " + data_path);
    reqs.reserve(paras.size());
    for (const std::string& p : paras) {
      ScoreRequest q;
      q.tokens = encode_with_bos(tok, p);
      if (static_cast<int64_t>(q.tokens.size()) > max_len) q.tokens.resize(static_cast<size_t>(max_len));
      if (q.tokens.size() < 2) continue;  // nothing to predict
      q.target_begin = 1;
      reqs.push_back(std::move(q));
    }
  } else if (opts.protocol == "stream") {
    const int64_t ctx = std::min(opts.ctx, max_len);
    if (ctx < opts.ctx)
      log_warn("perplexity: ctx " + std::to_string(opts.ctx) + " capped at the model's max_position " +
               std::to_string(max_len));
    const int64_t stride = std::min(opts.stride, ctx);
    std::vector<int32_t> ids = encode_stream(tok, text, opts.max_tokens);
    if (opts.max_tokens > 0 && static_cast<int64_t>(ids.size()) > opts.max_tokens)
      ids.resize(static_cast<size_t>(opts.max_tokens));
    for (const StreamWindow& w : plan_stream_windows(static_cast<int64_t>(ids.size()), ctx, stride)) {
      ScoreRequest q;
      q.tokens.assign(ids.begin() + w.begin, ids.begin() + w.end);
      q.target_begin = w.first_target - w.begin;
      reqs.push_back(std::move(q));
    }
  } else {
    throw Error("perplexity: unknown protocol '" + opts.protocol + "' (protocols: paragraphs, stream)");
  }
  check(!reqs.empty(), "perplexity: " + data_path + " has no tokens to score");

  Totals t = score_all(model, reqs, opts, "perplexity (" + opts.protocol + ")");
  res.tokens = t.tokens;
  res.sequences = static_cast<int64_t>(reqs.size());
  res.nll = t.tokens > 0 ? -t.loglik / static_cast<double>(t.tokens) : 0.0;
  res.ppl = std::exp(res.nll);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace as
