// Eval layer without a model: task files, parsing errors, scoring math, paragraph and window plans.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/error.h"
#include "common/file.h"
#include "eval/mc.h"
#include "eval/ppl.h"
#include "test_util.h"

namespace {

using as::test::eval_dir;
using as::test::shared;

void write(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

// Runs fn, expecting as::Error whose message contains every needle.
template <class F>
void expect_error(F&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    FAIL() << "expected as::Error";
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(McTasks, NamesAndAliases) {
  const auto names = as::mc_task_names();
  const std::set<std::string> got(names.begin(), names.end());
  const std::set<std::string> want = {"arc_easy", "arc_challenge", "piqa", "openbookqa",
                                      "copa", "winogrande", "hellaswag", "lambada"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(as::mc_task_info("openbook_qa").name, "openbookqa");
  EXPECT_EQ(as::mc_task_info("lambada_openai").name, "lambada");
  EXPECT_TRUE(as::mc_task_info("lambada").greedy);
  EXPECT_FALSE(as::mc_task_info("arc_easy").greedy);
}

TEST(McTasks, UnknownTaskListsTasks) {
  expect_error([] { as::mc_task_info("mmlu"); }, {"mmlu", "arc_easy", "hellaswag", "lambada", "winogrande"});
  expect_error([] { as::load_mc_examples("nope", eval_dir()); }, {"nope", "copa"});
}

struct Count {
  const char* task;
  size_t n;
  size_t options;
};

TEST(McTasks, EveryFileParsesWithExpectedCounts) {
  const Count counts[] = {{"arc_easy", 2376, 4},  {"arc_challenge", 1172, 4}, {"piqa", 1838, 2},
                          {"openbookqa", 500, 4}, {"copa", 100, 2},           {"winogrande", 1267, 2},
                          {"hellaswag", 10042, 4}, {"lambada", 5153, 1}};
  for (const Count& c : counts) {
    SCOPED_TRACE(c.task);
    const auto ex = as::load_mc_examples(c.task, eval_dir());
    ASSERT_EQ(ex.size(), c.n);
    for (const auto& e : ex) {
      ASSERT_EQ(e.num_options(), c.options);
      ASSERT_GE(e.gold, 0);
      ASSERT_LT(e.gold, static_cast<int64_t>(e.num_options()));
      for (size_t i = 0; i < e.num_options(); ++i) {
        ASSERT_FALSE(e.context(i).empty());
        ASSERT_FALSE(e.continuation(i).empty());
      }
    }
  }
}

TEST(McTasks, FieldsAndJoins) {
  auto arc = as::load_mc_examples("arc_easy", eval_dir(), 2);
  ASSERT_EQ(arc.size(), 2u);
  EXPECT_EQ(arc[0].contexts.size(), 1u);
  EXPECT_EQ(arc[0].context(0),
            "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\n"
            "Answer:");
  EXPECT_EQ(arc[0].continuation(0), "Sunlight is the source of energy for nearly all ecosystems.");
  EXPECT_EQ(arc[0].gold, 0);
  EXPECT_EQ(arc[1].gold, 1);
  EXPECT_EQ(arc[1].continuation(1), "breathing mask");

  // PIQA's query ends in a newline: stripped before the delimiter.
  auto piqa = as::load_mc_examples("piqa", eval_dir(), 1);
  EXPECT_EQ(piqa[0].context(0), "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");

  auto copa = as::load_mc_examples("copa", eval_dir(), 1);
  EXPECT_EQ(copa[0].context(0), "The man turned on the faucet, therefore");
  EXPECT_EQ(copa[0].continuation(1), "water flowed from the spout.");
  EXPECT_EQ(copa[0].gold, 1);

  auto obqa = as::load_mc_examples("openbook_qa", eval_dir(), 3);
  EXPECT_EQ(obqa[2].context(0), "Predators eat");
  EXPECT_EQ(obqa[2].continuation(2), "bunnies");
  EXPECT_EQ(obqa[2].gold, 2);

  auto wg = as::load_mc_examples("winogrande", eval_dir(), 1);
  ASSERT_EQ(wg[0].contexts.size(), 2u);
  ASSERT_EQ(wg[0].continuations.size(), 1u);
  EXPECT_EQ(wg[0].context(1), "Sarah was a much better surgeon than Maria so Maria");
  EXPECT_EQ(wg[0].continuation(0), "always got the easier cases.");
  EXPECT_EQ(wg[0].continuation(1), "always got the easier cases.");
  EXPECT_EQ(wg[0].gold, 1);

  auto hs = as::load_mc_examples("hellaswag", eval_dir(), 2);
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].context(0), "Roof shingle removal: A man is sitting on a roof. he");
  EXPECT_EQ(hs[0].gold, 3);
  EXPECT_EQ(hs[0].continuation(3), "starts pulling up roofing on a roof.");
  EXPECT_EQ(hs[1].gold, 3);
  EXPECT_EQ(hs[1].continuation(0), "swings and lands in her arms.");

  auto lb = as::load_mc_examples("lambada", eval_dir(), 1);
  EXPECT_EQ(lb[0].continuation(0), "signs");
  EXPECT_EQ(lb[0].context(0).substr(0, 19), "In my palm is a cle");
  EXPECT_EQ(lb[0].context(0).back(), 't');  // "... I don't care about"
}

TEST(McTasks, LimitAndDirectFilePath) {
  EXPECT_EQ(as::load_mc_examples("arc_challenge", eval_dir(), 7).size(), 7u);
  EXPECT_TRUE(as::load_mc_examples("arc_challenge", eval_dir(), 0).empty());
  const auto direct = as::load_mc_examples("copa", shared("data/eval/copa.jsonl"), 3);
  EXPECT_EQ(direct.size(), 3u);
  EXPECT_EQ(as::mc_task_file("hellaswag", eval_dir()), eval_dir() + "/hellaswag_val_full.txt.bz2");
}

TEST(McErrors, MissingFileNamesPath) {
  as::test::TempDir d;
  expect_error([&] { as::load_mc_examples("arc_easy", d.str()); }, {"arc_easy.jsonl", d.str()});
  expect_error([&] { as::load_mc_examples("copa", d / "nothere.jsonl"); }, {"nothere.jsonl", "not found"});
}

TEST(McErrors, MalformedJsonNamesFileAndLine) {
  as::test::TempDir d;
  write(d / "arc_easy.jsonl",
        "{\"query\": \"Question: q1\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n"
        "\n"
        "{\"query\": \"Question: q2\", \"choices\": [\"a\", \"b\"], \"gold\": 1\n");
  expect_error([&] { as::load_mc_examples("arc_easy", d.str()); }, {d / "arc_easy.jsonl", ":3:", "malformed JSON"});
  // A limit that stops before the bad line reads fine.
  EXPECT_EQ(as::load_mc_examples("arc_easy", d.str(), 1).size(), 1u);
}

TEST(McErrors, MissingFieldAndBadGold) {
  as::test::TempDir d;
  write(d / "copa.jsonl", "{\"query\": \"x\", \"choices\": [\"a\", \"b\"]}\n");
  expect_error([&] { as::load_mc_examples("copa", d.str()); }, {"copa.jsonl:1:", "'gold'"});
  write(d / "copa.jsonl", "{\"query\": \"x\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
  expect_error([&] { as::load_mc_examples("copa", d.str()); }, {"copa.jsonl:1:", "gold 2"});
  write(d / "copa.jsonl", "{\"query\": \"x\", \"choices\": \"a\", \"gold\": 0}\n");
  expect_error([&] { as::load_mc_examples("copa", d.str()); }, {"copa.jsonl:1:", "'choices'"});
  write(d / "winogrande.jsonl", "{\"context_options\": [\"a\", \"b\"], \"gold\": 0}\n");
  expect_error([&] { as::load_mc_examples("winogrande", d.str()); }, {"winogrande.jsonl:1:", "'continuation'"});
  write(d / "lambada_openai.jsonl", "[1, 2]\n");
  expect_error([&] { as::load_mc_examples("lambada", d.str()); }, {"lambada_openai.jsonl:1:", "object"});
  write(d / "empty.jsonl", "\n\n");
  expect_error([&] { as::load_mc_examples("piqa", d / "empty.jsonl"); }, {"empty.jsonl", "no examples"});
}

TEST(McErrors, HellaswagLayout) {
  as::test::TempDir d;
  write(d / "hs.txt", "ctx\n1\na\nb\nc\nd\nctx2\n");
  expect_error([&] { as::load_mc_examples("hellaswag", d / "hs.txt"); }, {"hs.txt", "multiple of 6"});
  write(d / "hs.txt", "ctx\n1\na\nb\nc\nd\nctx2\nx\na\nb\nc\nd\n");
  expect_error([&] { as::load_mc_examples("hellaswag", d / "hs.txt"); }, {"hs.txt:8:", "gold"});
  write(d / "hs.txt", "ctx\n2\na\nb\nc\nd\n\n");
  auto ex = as::load_mc_examples("hellaswag", d / "hs.txt");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].gold, 2);
  EXPECT_EQ(ex[0].continuation(3), "d");
  write(d / "bad.txt.bz2", "BZh9 this is not bzip2 data");
  expect_error([&] { as::load_mc_examples("hellaswag", d / "bad.txt.bz2"); }, {"bad.txt.bz2"});
}

TEST(McScoring, DecideAccAndNorm) {
  // acc picks the largest sum; acc_norm divides by characters.
  auto d = as::mc_decide({-5.0, -3.0, -4.0}, {1, 10, 2});
  EXPECT_EQ(d.pred, 1);
  EXPECT_EQ(d.pred_norm, 1);
  d = as::mc_decide({-4.0, -6.0}, {2, 12});  // -2.0 vs -0.5 per char
  EXPECT_EQ(d.pred, 0);
  EXPECT_EQ(d.pred_norm, 1);
  d = as::mc_decide({-1.0, -1.0, -2.0}, {3, 3, 3});  // ties: the lowest index
  EXPECT_EQ(d.pred, 0);
  EXPECT_EQ(d.pred_norm, 0);
  d = as::mc_decide({-3.0, -2.5}, {0, 5});  // zero length counts as 1
  EXPECT_EQ(d.pred, 1);
  EXPECT_EQ(d.pred_norm, 1);
  d = as::mc_decide({}, {});
  EXPECT_EQ(d.pred, -1);
  EXPECT_THROW(as::mc_decide({-1.0}, {1, 2}), as::Error);
}

TEST(McScoring, Utf8Length) {
  EXPECT_EQ(as::utf8_length(""), 0);
  EXPECT_EQ(as::utf8_length("abc"), 3);
  EXPECT_EQ(as::utf8_length("caf\xC3\xA9"), 4);           // café
  EXPECT_EQ(as::utf8_length("\xE2\x80\x99s"), 2);         // ’s
  EXPECT_EQ(as::utf8_length("\xF0\x9F\x98\x80"), 1);      // one emoji
}

TEST(Ppl, SplitParagraphs) {
  const auto p = as::split_paragraphs("  one\n\n\ntwo a\ntwo b  \n \t\nthree\r\n\r\nfour\n\n");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], "one");
  EXPECT_EQ(p[1], "two a\ntwo b  \n \t\nthree");  // a whitespace-only line does not separate
  EXPECT_EQ(p[2], "four");
  EXPECT_TRUE(as::split_paragraphs("").empty());
  EXPECT_TRUE(as::split_paragraphs("\n \n").empty());
  EXPECT_EQ(as::split_paragraphs("x").size(), 1u);
}

TEST(Ppl, TinyStoriesParagraphCount) {
  const auto p = as::split_paragraphs(as::read_file(shared("data/tinystories_val.txt")));
  EXPECT_EQ(p.size(), 4300u);
}

// Every token index in [1, n) is scored at most once; returns how many are.
int64_t covered(const std::vector<as::StreamWindow>& ws, int64_t n) {
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (const auto& w : ws) {
    EXPECT_LE(w.begin, w.first_target - 1);
    EXPECT_LE(w.first_target, w.end);
    for (int64_t t = w.first_target; t < w.end; ++t) seen[static_cast<size_t>(t)]++;
  }
  int64_t c = 0;
  for (int64_t t = 0; t < n; ++t) {
    EXPECT_LE(seen[static_cast<size_t>(t)], 1) << t;
    c += seen[static_cast<size_t>(t)];
  }
  EXPECT_EQ(seen[0], 0);
  return c;
}

TEST(Ppl, StreamWindows) {
  // Overlapping windows: every token after the first, once.
  for (int64_t n : {2, 3, 100, 511, 512, 513, 1000, 1025}) {
    SCOPED_TRACE(n);
    auto ws = as::plan_stream_windows(n, 512, 256);
    EXPECT_EQ(covered(ws, n), n - 1);
    EXPECT_EQ(ws.front().begin, 0);
    EXPECT_EQ(ws.back().end, n);
    for (const auto& w : ws) EXPECT_LE(w.end - w.begin, 512);
  }
  auto ws = as::plan_stream_windows(1000, 512, 256);
  ASSERT_EQ(ws.size(), 3u);  // [0,512) [256,768) [512,1000)
  EXPECT_EQ(ws[1].begin, 256);
  EXPECT_EQ(ws[1].first_target, 512);
  EXPECT_EQ(ws[2].first_target, 768);
  // Disjoint chunks: each chunk's first token has no context.
  ws = as::plan_stream_windows(1000, 256, 256);
  ASSERT_EQ(ws.size(), 4u);
  EXPECT_EQ(covered(ws, 1000), 1000 - 4);
  EXPECT_TRUE(as::plan_stream_windows(1, 512, 256).empty());
  EXPECT_THROW(as::plan_stream_windows(100, 1, 1), as::Error);
  EXPECT_THROW(as::plan_stream_windows(100, 64, 0), as::Error);
  EXPECT_THROW(as::plan_stream_windows(100, 64, 65), as::Error);
}

}  // namespace
