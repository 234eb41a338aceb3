// The CLI end to end: goldens reproduced through `angelslim`, JSON outputs, and one-line errors
// with non-zero exits on bad input.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "test_util.h"

using namespace as::test;
using nlohmann::json;

namespace {

std::string bin() { return cli_bin(); }
std::string q(const std::string& s) { return "'" + s + "'"; }

// The last non-empty line of the output, parsed as JSON.
json last_json(const std::string& out) {
  auto end = out.find_last_not_of("\n");
  auto start = out.rfind('\n', end);
  std::string line = out.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
  return json::parse(line);
}

json greedy_golden() { return json::parse(as::read_file(shared("goldens/stories260K_greedy.json"))); }

}  // namespace

TEST(Cli, GenerateReproducesGoldenFromLlama2cFileAndConvertedDir) {
  TempDir tmp;
  const std::string ckpt = shared("models/stories260K/stories260K.bin");
  auto conv = run(bin() + " convert llama2c --checkpoint " + q(ckpt) + " --tokenizer " +
                  q(shared("models/stories260K/tok512.bin")) + " --out " + q(tmp / "hf"));
  ASSERT_EQ(conv.code, 0) << conv.out;
  for (const std::string& model : {ckpt, std::string(tmp / "hf")}) {
    for (auto& g : greedy_golden()) {
      auto want = g["greedy_ids"].get<std::vector<int>>();
      auto r = run(bin() + " generate --model " + q(model) + " --prompt " + q(g["prompt"].get<std::string>()) +
                   " --max-new-tokens " + std::to_string(want.size()) + " --temperature 0 --json");
      ASSERT_EQ(r.code, 0) << r.out;
      json j = last_json(r.out);
      EXPECT_EQ(j["prompt_ids"].get<std::vector<int>>(), g["prompt_ids"].get<std::vector<int>>()) << model;
      EXPECT_EQ(j["ids"].get<std::vector<int>>(), want) << model << " prompt " << g["prompt"];
      EXPECT_TRUE(j.contains("ttft_s"));
      EXPECT_GT(j["tokens_per_s"].get<double>(), 0.0);
      EXPECT_FALSE(j["text"].get<std::string>().empty());
    }
  }
}

TEST(Cli, TokenizeTextAndJsonl) {
  auto r = run(bin() + " tokenize --tokenizer " + q(shared("tokenizers/qwen3/tokenizer.json")) + " --text 'Hello World'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(last_json(r.out)["ids"].get<std::vector<int>>(), (std::vector<int>{9707, 4337}));
  TempDir tmp;
  {
    std::ofstream f(tmp / "in.jsonl");
    f << "{\"text\": \"Hello World\"}\n{\"text\": \"Once upon a time\"}\n";
  }
  r = run(bin() + " tokenize --tokenizer " + q(shared("models/stories260K/tok512.bin")) + " --input " + q(tmp / "in.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(last_json(r.out)["ids"].get<std::vector<int>>(), (std::vector<int>{403, 407, 261, 378}));
}

TEST(Cli, SynthThenGenerateAndBench) {
  TempDir tmp;
  auto r = run(bin() + " synth --arch qwen3 --hidden 64 --layers 2 --ffn 128 --heads 4 --kv-heads 2 --vocab 320 --out " +
               q(tmp / "m") + " --dtype bf16 --seed 1");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(bin() + " generate --model " + q(tmp / "m") + " --prompt 'hi there' --max-new-tokens 5 --ignore-eos --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(last_json(r.out)["ids"].size(), 5u);
  r = run(bin() + " bench --model " + q(tmp / "m") + " --prompt-tokens 16 --new-tokens 4 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json j = last_json(r.out);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0);
}

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  TempDir tmp;
  struct Case {
    std::string cmd, must_contain;
  };
  as::write_file_atomic(tmp / "trunc.safetensors", std::string("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\"", 13));
  std::filesystem::create_directories(tmp / "dir");
  as::write_file_atomic(tmp / "dir/config.json", "{\"architectures\": [\"LlamaForCausalLM\"]}");
  as::write_file_atomic(tmp / "bad.yaml", "global: {output_dir: x}\nmodel: {path: y, colour: red}\n");
  std::vector<Case> cases = {
      {"generate --model " + q(tmp / "nope") + " --prompt x", "does not exist"},
      {"generate --model " + q(tmp / "dir") + " --prompt x", "hidden_size"},
      {"tokenize --tokenizer " + q(tmp / "trunc.safetensors") + " --text x", "trunc.safetensors"},
      {"run --config " + q(tmp / "bad.yaml"), "colour"},
      {"eval mc --model " + q(shared("models/stories260K/stories260K.bin")) + " --task nosuchtask --data " +
           q(shared("data/eval/arc_easy.jsonl")),
       "nosuchtask"},
  };
  for (auto& c : cases) {
    auto r = run(bin() + " " + c.cmd);
    EXPECT_NE(r.code, 0) << c.cmd;
    EXPECT_NE(r.out.find(c.must_contain), std::string::npos) << c.cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("angelslim: error:"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Segmentation"), std::string::npos);
  }
  auto r = run(bin() + " no-such-command");
  EXPECT_NE(r.code, 0);
}

TEST(Cli, EvalPplJson) {
  auto r = run(bin() + " eval ppl --model " + q(shared("models/stories260K/stories260K.bin")) + " --data " +
               q(shared("data/tinystories_val.txt")) + " --protocol paragraphs --max-paragraphs 100 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json j = last_json(r.out);
  EXPECT_EQ(j["tokens"].get<int64_t>(), 9618);
  EXPECT_NEAR(j["ppl"].get<double>(), 4.184, 0.005);
}

// kill -9 in the middle of a PTQ job, rerun the same command: it resumes from the last finished
// layer and the exported checkpoint is byte-identical to an uninterrupted run.
TEST(Cli, KilledQuantizationJobResumesByteIdentical) {
  TempDir tmp;
  auto r = run(bin() + " synth --arch llama --hidden 256 --layers 16 --ffn 768 --heads 4 --vocab 512 --out " +
               q(tmp / "m") + " --dtype bf16 --seed 3");
  ASSERT_EQ(r.code, 0) << r.out;
  auto write_job = [&](const std::string& name) {
    std::ofstream f(tmp / (name + ".yaml"));
    f << "global: {output_dir: " << (tmp / name) << ", threads: 1}\n"
      << "model: {path: " << (tmp / "m") << "}\n"
      << "dataset: {path: " << shared("data/tinystories_val.txt")
      << ", format: text_paragraphs, num_samples: 32, seq_len: 128, skip: 1000}\n"
      << "compression: {quantization: {name: int4_gptq, bits: 4, group_size: 64}}\n";
  };
  write_job("straight");
  write_job("killed");
  r = run(bin() + " --quiet run --config " + q(tmp / "straight.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;

  // start, wait until a few layers are checkpointed, kill -9
  const std::string state = tmp / "killed/work/state.json";
  std::string cmd = bin() + " --quiet run --config " + q(tmp / "killed.yaml") + " > /dev/null 2>&1 & echo $!";
  auto started = run(cmd);
  const int pid = std::stoi(started.out);
  int done = 0;
  for (int i = 0; i < 6000 && done < 3; ++i) {
    if (std::filesystem::exists(state)) {
      try {
        done = json::parse(as::read_file(state))["layers_done"].get<int>();
      } catch (...) {
      }
    }
    ::usleep(20000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_GE(done, 3) << "the job never checkpointed a layer";
  const int at_kill = json::parse(as::read_file(state))["layers_done"].get<int>();
  EXPECT_LT(at_kill, 16) << "the job finished before it could be killed; make it longer";
  EXPECT_FALSE(std::filesystem::exists(tmp / "killed/model/config.json"));

  r = run(bin() + " run --config " + q(tmp / "killed.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming from layer " + std::to_string(at_kill)), std::string::npos) << r.out;
  for (auto& e : std::filesystem::directory_iterator(tmp / "straight/model")) {
    auto name = e.path().filename().string();
    EXPECT_EQ(as::read_file(e.path().string()), as::read_file(tmp / ("killed/model/" + name))) << name;
  }
}

TEST(Cli, ValidateReportsViolations) {
  TempDir tmp;
  auto r = run(bin() + " synth --arch llama --hidden 64 --layers 2 --ffn 128 --heads 4 --vocab 300 --out " + q(tmp / "m"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::ofstream(tmp / "job.yaml") << "global: {output_dir: " << (tmp / "q") << "}\nmodel: {path: " << (tmp / "m")
                                  << "}\ncompression: {quantization: {name: fp8_dynamic}}\n";
  r = run(bin() + " --quiet run --config " + q(tmp / "job.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(bin() + " validate " + q(tmp / "q/model") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json v = last_json(r.out);
  EXPECT_TRUE(v["ok"].get<bool>());
  EXPECT_EQ(v["format"], "float-quantized");
  // drop a scale tensor: the validator names it
  std::filesystem::remove(tmp / "q/model/model.safetensors");
  r = run(bin() + " validate " + q(tmp / "q/model") + " --json");
  EXPECT_NE(r.code, 0);
}

TEST(Cli, AnalyzeWritesHistogramsAndNamesBadLayers) {
  TempDir tmp;
  auto r = run(bin() + " convert llama2c --checkpoint " + q(shared("models/stories260K/stories260K.bin")) +
               " --tokenizer " + q(shared("models/stories260K/tok512.bin")) + " --out " + q(tmp / "hf"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(bin() + " analyze --model " + q(tmp / "hf") + " --layer model.layers.1.mlp.down_proj --data " +
          q(shared("data/tinystories_val.txt")) + " --skip 1000 --samples 2 --out " + q(tmp / "an") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json j = last_json(r.out);
  EXPECT_EQ(j["layer"], "model.layers.1.mlp.down_proj");
  EXPECT_GT(j["weight"]["qdq_relative_mse"].get<double>(), 0.0);
  EXPECT_LT(j["weight"]["qdq_relative_mse"].get<double>(), 0.01);
  for (const char* png : {"weights_hist.png", "activations_hist.png"}) {
    const std::string bytes = as::read_file(tmp / (std::string("an/") + png));
    ASSERT_GT(bytes.size(), 1000u) << png;
    EXPECT_EQ(bytes.substr(1, 3), "PNG") << png;
  }
  r = run(bin() + " analyze --model " + q(tmp / "hf") + " --layer model.layers.9.nope --out " + q(tmp / "bad"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("model.layers.9.nope"), std::string::npos) << r.out;
}
