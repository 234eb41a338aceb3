// The lean runtime through the CLI: `pack`, then `generate` / `bench` on packed directories and on
// GGUF files written by `export gguf`, checked against the stories260K greedy goldens.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "test_util.h"

using namespace as::test;
using nlohmann::json;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }
json last_json(const std::string& out) {
  auto end = out.find_last_not_of("\n");
  auto start = out.rfind('\n', end);
  const size_t from = start == std::string::npos ? 0 : start + 1;
  return json::parse(out.substr(from, end - from + 1));
}

// stories260K converted to an HF directory, once per test.
std::string hf(const TempDir& tmp) {
  auto r = run(cli_bin() + " convert llama2c --checkpoint " + q(shared("models/stories260K/stories260K.bin")) +
               " --tokenizer " + q(shared("models/stories260K/tok512.bin")) + " --out " + q(tmp / "hf"));
  EXPECT_EQ(r.code, 0) << r.out;
  return tmp / "hf";
}

// Greedy ids from `generate` for every golden prompt, compared over the first `n` tokens (all when 0).
void expect_goldens(const std::string& model, const std::string& extra, size_t n) {
  auto goldens = json::parse(as::read_file(shared("goldens/stories260K_greedy.json")));
  for (auto& g : goldens) {
    auto want = g["greedy_ids"].get<std::vector<int>>();
    if (n > 0 && want.size() > n) want.resize(n);
    auto r = run(cli_bin() + " generate --model " + q(model) + " --prompt " + q(g["prompt"].get<std::string>()) +
                 " --max-new-tokens " + std::to_string(want.size()) + " --json " + extra);
    ASSERT_EQ(r.code, 0) << r.out;
    json j = last_json(r.out);
    EXPECT_EQ(j["runtime"], "lean") << model;
    EXPECT_EQ(j["prompt_ids"].get<std::vector<int>>(), g["prompt_ids"].get<std::vector<int>>()) << model;
    EXPECT_EQ(j["ids"].get<std::vector<int>>(), want) << model << " prompt " << g["prompt"];
  }
}

}  // namespace

TEST(CliLean, GgufFilesRunOnTheLeanRuntimeToTheGoldens) {
  TempDir tmp;
  const std::string dir = hf(tmp);
  for (const std::string t : {"F32", "Q8_0"}) {
    const std::string f = tmp / (t + ".gguf");
    auto r = run(cli_bin() + " export gguf --model " + q(dir) + " --type " + t + " --pure --out " + q(f));
    ASSERT_EQ(r.code, 0) << r.out;
    // F32 with an F32 cache is the float reference: every golden token. Q8_0 (int8 weights and
    // activations) keeps the first 20.
    if (t == "F32") expect_goldens(f, "--kv-cache f32", 0);
    else expect_goldens(f, "", 20);
  }
}

TEST(CliLean, PackThenGenerateAndBench) {
  TempDir tmp;
  const std::string dir = hf(tmp);
  auto r = run(cli_bin() + " pack --model " + q(dir) + " --type q8_g32 --out " + q(tmp / "p") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json pj = last_json(r.out);
  EXPECT_EQ(pj["type"], "q8_g32");
  EXPECT_GT(pj["packed_linears"].get<int>(), 0);
  expect_goldens(tmp / "p", "", 20);
  r = run(cli_bin() + " bench --model " + q(tmp / "p") + " --prompt-tokens 32 --new-tokens 8 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json j = last_json(r.out);
  for (const char* k : {"weight_bytes", "prefill_tokens_per_s", "decode_tokens_per_s", "peak_rss_bytes",
                        "read_bandwidth_gbs", "decode_roofline_tokens_per_s", "decode_empty_context_tokens_per_s"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  EXPECT_EQ(j["runtime"], "lean");
}

TEST(CliLean, BadInputsAreOneLineErrors) {
  TempDir tmp;
  const std::string dir = hf(tmp);
  const std::string f = tmp / "m.gguf";
  ASSERT_EQ(run(cli_bin() + " export gguf --model " + q(dir) + " --type F32 --out " + q(f)).code, 0);
  const std::string full = as::read_file(f);
  {
    std::ofstream o(tmp / "cut.gguf", std::ios::binary);
    o.write(full.data(), std::streamsize(full.size() / 2));
  }
  auto r = run(cli_bin() + " generate --model " + q(tmp / "cut.gguf") + " --prompt hi --max-new-tokens 2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("cut.gguf"), std::string::npos) << r.out;
  r = run(cli_bin() + " pack --model " + q(dir) + " --type q9 --out " + q(tmp / "x"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("q9"), std::string::npos) << r.out;
  EXPECT_FALSE(as::file_exists(tmp / "x/config.json"));
  r = run(cli_bin() + " bench --model " + q(f) + " --kv-cache f8 --json");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("f8"), std::string::npos) << r.out;
}
