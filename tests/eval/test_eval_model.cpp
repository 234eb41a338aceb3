// Eval layer on a real model: stories260K (llama2.c checkpoint with its tok512 tokenizer).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include <torch/torch.h>

#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "eval/mc.h"
#include "eval/ppl.h"
#include "eval/scoring.h"
#include "model/model.h"
#include "test_util.h"

namespace {

using as::test::eval_dir;
using as::test::shared;

std::string model_path() { return shared("models/stories260K/stories260K.bin"); }
std::string tinystories() { return shared("data/tinystories_val.txt"); }
class Stories : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    as::set_log_level(as::LogLevel::Warn);
    model_ = as::Model::load(model_path(), {}, shared("models/stories260K/tok512.bin")).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static as::Model* model_;
  as::Model& m() { return *model_; }
};
as::Model* Stories::model_ = nullptr;

as::PplOptions paragraphs(int64_t n) {
  as::PplOptions o;
  o.protocol = "paragraphs";
  o.max_paragraphs = n;
  o.progress = false;
  return o;
}

TEST_F(Stories, ParagraphPerplexityMatchesReference) {
  const auto r = as::eval_perplexity(m(), tinystories(), paragraphs(100));
  EXPECT_EQ(r.tokens, 9618);
  EXPECT_EQ(r.sequences, 100);
  EXPECT_NEAR(r.nll, 1.4314, 0.0005);
  EXPECT_NEAR(r.ppl, 4.184, 0.005);
}

TEST_F(Stories, EngineMatchesForward) {
  // The batched engine (hidden states + LM head on target rows) against a plain forward().
  const auto paras = as::split_paragraphs(as::read_file(tinystories()));
  std::vector<as::ScoreRequest> reqs;
  for (int i = 0; i < 6; ++i) {
    as::ScoreRequest q;
    q.tokens = as::encode_with_bos(m().tokenizer(), paras[static_cast<size_t>(i)]);
    q.tokens.resize(std::min<size_t>(q.tokens.size(), 512));
    q.target_begin = 1 + i;  // vary the scored span
    reqs.push_back(q);
  }
  as::ScoreOptions so;
  so.logit_elems = 512 * 7;  // force several LM-head chunks
  const auto got = as::score_requests(m(), reqs, so);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& q = reqs[i];
    const int64_t n = static_cast<int64_t>(q.tokens.size());
    std::vector<int64_t> ids(q.tokens.begin(), q.tokens.end());
    auto logits = m().forward(torch::tensor(ids).view({1, n}))[0];  // [n, V]
    auto lp = torch::log_softmax(logits.to(torch::kFloat64), -1);
    double want = 0;
    bool greedy = true;
    for (int64_t t = q.target_begin; t < n; ++t) {
      want += lp[t - 1][q.tokens[static_cast<size_t>(t)]].item<double>();
      greedy = greedy && logits[t - 1].argmax().item<int64_t>() == q.tokens[static_cast<size_t>(t)];
    }
    EXPECT_EQ(got[i].targets, n - q.target_begin);
    EXPECT_NEAR(got[i].loglik, want, 1e-3 + 1e-5 * std::abs(want));
    EXPECT_EQ(got[i].greedy, greedy);
  }
}

TEST_F(Stories, BatchingDoesNotChangeScores) {
  auto one = paragraphs(20);
  one.batch_tokens = 1;  // one sequence per forward
  auto many = paragraphs(20);
  many.batch_tokens = 1 << 16;
  const auto a = as::eval_perplexity(m(), tinystories(), one);
  const auto b = as::eval_perplexity(m(), tinystories(), many);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_NEAR(a.nll, b.nll, 1e-5);
}

TEST_F(Stories, SharedPrefixGroupsMatchSeparateRuns) {
  // Multiple-choice style groups (common context, different endings), Winogrande style groups
  // (different words early, common ending), single-member groups and ungrouped requests.
  const auto& tok = m().tokenizer();
  std::vector<as::ScoreRequest> reqs;
  auto add = [&](const std::string& ctx, const std::string& cont, int64_t group) {
    as::ScoreRequest q;
    q.tokens = as::encode_with_bos(tok, ctx + " " + cont);
    q.target_begin = static_cast<int64_t>(as::encode_with_bos(tok, ctx).size());
    q.group = group;
    reqs.push_back(q);
  };
  const std::string story = "Once upon a time, there was a little girl named Lily. She liked to";
  for (const char* c : {"play.", "play with her ball in the park.", "eat", "run and jump all day long."})
    add(story, c, 0);
  for (const char* c : {"sad.", "happy and smiled at her mom."}) add("Tom was very", c, 1);
  add("Lily and Ben went to the park. Lily", "was happy.", 2);
  add("Lily and Ben went to the park. Ben", "was happy.", 2);
  add("The cat sat on the", "mat.", 3);
  add("A dog ran", "to the big tree.", -1);
  add(story, "sing songs.", -1);
  as::ScoreOptions shared, separate;
  separate.share_prefixes = false;
  shared.batch_tokens = 64;  // several shared-prefix batches
  const auto a = as::score_requests(m(), reqs, shared);
  const auto b = as::score_requests(m(), reqs, separate);
  ASSERT_EQ(a.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].targets, static_cast<int64_t>(reqs[i].tokens.size()) - reqs[i].target_begin);
    EXPECT_EQ(a[i].targets, b[i].targets);
    EXPECT_NEAR(a[i].loglik, b[i].loglik, 1e-4);
    EXPECT_EQ(a[i].greedy, b[i].greedy);
  }
}

TEST_F(Stories, GreedyFlag) {
  // Extend a prompt with the model's own argmax tokens: all greedy; then perturb the last one.
  std::vector<int32_t> ids = as::encode_with_bos(m().tokenizer(), "Once upon a time");
  const size_t prompt = ids.size();
  for (int s = 0; s < 8; ++s) {
    std::vector<int64_t> in(ids.begin(), ids.end());
    auto logits = m().forward(torch::tensor(in).view({1, static_cast<int64_t>(in.size())}));
    ids.push_back(static_cast<int32_t>(logits[0][-1].argmax().item<int64_t>()));
  }
  as::ScoreRequest good{ids, static_cast<int64_t>(prompt)};
  as::ScoreRequest bad = good;
  bad.tokens.back() = (bad.tokens.back() + 1) % 512;
  const auto r = as::score_requests(m(), {good, bad});
  EXPECT_TRUE(r[0].greedy);
  EXPECT_FALSE(r[1].greedy);
  EXPECT_EQ(r[0].targets, 8);
  EXPECT_GT(r[0].loglik, r[1].loglik);
}

TEST_F(Stories, ScoreRequestErrors) {
  EXPECT_THROW(as::score_requests(m(), {as::ScoreRequest{{1, 600}, 1}}), as::Error);    // id >= vocab
  EXPECT_THROW(as::score_requests(m(), {as::ScoreRequest{{1, 2}, 0}}), as::Error);      // target_begin 0
  EXPECT_THROW(as::score_requests(m(), {as::ScoreRequest{std::vector<int32_t>(513, 5), 1}}), as::Error);
  const auto r = as::score_requests(m(), {as::ScoreRequest{{1, 2}, 2}});  // no targets
  EXPECT_EQ(r[0].targets, 0);
  EXPECT_EQ(r[0].loglik, 0.0);
}

TEST_F(Stories, StreamPerplexity) {
  as::PplOptions o;
  o.protocol = "stream";
  o.ctx = 256;
  o.stride = 128;
  o.max_tokens = 2000;
  o.progress = false;
  const auto r = as::eval_perplexity(m(), tinystories(), o);
  EXPECT_EQ(r.tokens, 1999);  // every token after BOS, once
  EXPECT_EQ(r.sequences, static_cast<int64_t>(as::plan_stream_windows(2000, 256, 128).size()));
  EXPECT_GT(r.ppl, 1.5);
  EXPECT_LT(r.ppl, 20.0);
  o.stride = 256;  // disjoint chunks: their first tokens go unscored
  const auto c = as::eval_perplexity(m(), tinystories(), o);
  EXPECT_EQ(c.tokens, 2000 - 8);
  o.ctx = 4096;  // capped at max_position (512)
  o.stride = 512;
  const auto capped = as::eval_perplexity(m(), tinystories(), o);
  EXPECT_EQ(capped.tokens, 2000 - 4);
}

TEST_F(Stories, PerplexityErrors) {
  auto o = paragraphs(1);
  o.protocol = "words";
  EXPECT_THROW(as::eval_perplexity(m(), tinystories(), o), as::Error);
  EXPECT_THROW(as::eval_perplexity(m(), shared("data/no_such_file.txt"), paragraphs(1)), as::Error);
}

as::McOptions mc(const std::string& task, int64_t limit) {
  as::McOptions o;
  o.task = task;
  o.limit = limit;
  o.progress = false;
  return o;
}

TEST_F(Stories, ForcedAnswers) {
  // A story model must prefer fluent story text to letter soup, whichever slot holds it.
  as::test::TempDir d;
  {
    std::ofstream f(d / "copa.jsonl");
    f << R"({"query": "Once upon a time, there was a little", "choices": ["girl named Lily.", "zq xv kj wq."], "gold": 0})"
      << "\n"
      << R"({"query": "Once upon a time, there was a little", "choices": ["zq xv kj wq.", "girl named Lily."], "gold": 1})"
      << "\n"
      << R"({"query": "Tom and his mom went to the", "choices": ["park. They played all day.", "qq zz xx vv kk."], "gold": 0})"
      << "\n";
  }
  const auto r = as::eval_multiple_choice(m(), d.str(), mc("copa", -1));
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.acc, 1.0);
  EXPECT_EQ(r.acc_norm, 1.0);
  EXPECT_EQ(r.task, "copa");
}

TEST_F(Stories, RealTasksRunAndAreDeterministic) {
  for (const std::string task : {"arc_easy", "piqa", "winogrande", "hellaswag", "openbookqa", "copa"}) {
    SCOPED_TRACE(task);
    const auto a = as::eval_multiple_choice(m(), eval_dir(), mc(task, 12));
    const auto b = as::eval_multiple_choice(m(), eval_dir(), mc(task, 12));
    EXPECT_EQ(a.n, 12);
    EXPECT_GE(a.acc, 0.0);
    EXPECT_LE(a.acc, 1.0);
    EXPECT_GE(a.acc_norm, 0.0);
    EXPECT_LE(a.acc_norm, 1.0);
    EXPECT_EQ(a.acc, b.acc);
    EXPECT_EQ(a.acc_norm, b.acc_norm);
  }
  const auto wg = as::eval_multiple_choice(m(), eval_dir(), mc("winogrande", 30));
  EXPECT_EQ(wg.acc, wg.acc_norm);  // shared continuation
}

TEST_F(Stories, Lambada) {
  const auto r = as::eval_multiple_choice(m(), eval_dir(), mc("lambada_openai", 20));
  EXPECT_EQ(r.n, 20);
  EXPECT_EQ(r.task, "lambada");
  EXPECT_GE(r.acc, 0.0);
  EXPECT_LE(r.acc, 1.0);
  EXPECT_EQ(r.acc, r.acc_norm);
  EXPECT_GT(r.ppl, 1.0);
  EXPECT_TRUE(std::isfinite(r.ppl));
}

TEST_F(Stories, McErrors) {
  EXPECT_THROW(as::eval_multiple_choice(m(), eval_dir(), mc("squad", 1)), as::Error);
  as::test::TempDir d;
  EXPECT_THROW(as::eval_multiple_choice(m(), d.str(), mc("piqa", 1)), as::Error);
}

// Timing figures (printed, not asserted: the machine is shared).
TEST_F(Stories, Speed) {
  const auto p = as::eval_perplexity(m(), tinystories(), paragraphs(200));
  std::printf("[speed] ppl paragraphs=200 tokens=%lld ppl=%.4f time=%.2fs (%.0f tok/s)\n",
              static_cast<long long>(p.tokens), p.ppl, p.seconds, double(p.tokens) / p.seconds);
  const auto a = as::eval_multiple_choice(m(), eval_dir(), mc("arc_easy", 500));
  std::printf("[speed] arc_easy limit=500 acc=%.4f acc_norm=%.4f time=%.2fs\n", a.acc, a.acc_norm, a.seconds);
  EXPECT_EQ(a.n, 500);
}

}  // namespace
