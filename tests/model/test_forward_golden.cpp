// The forward pass against logits and greedy continuations made by an independent float32 numpy
// implementation of llama2.c (../shared/goldens).
#include <gtest/gtest.h>

#include "golden_util.h"
#include "model/hf_export.h"
#include "model/model.h"
#include "runtime/generate.h"

using namespace as;
using namespace as::test;

namespace {

LoadOptions no_tok() {
  LoadOptions o;
  o.load_tokenizer = false;
  return o;
}

torch::Tensor golden_logits() {
  auto j = load_json("goldens/stories260K_logits.json");
  std::vector<float> flat;
  for (auto& row : j["logits"])
    for (auto& v : row) flat.push_back(v.get<float>());
  int64_t T = j["logits"].size();
  return torch::tensor(flat).view({T, -1});
}

std::vector<int64_t> golden_logit_ids() { return load_json("goldens/stories260K_logits.json")["ids"].get<std::vector<int64_t>>(); }

}  // namespace

TEST(ModelGolden, LogitsMatchReferenceFromLlama2cFile) {
  auto m = Model::load(stories_bin(), no_tok());
  EXPECT_EQ(m->config().num_layers, 5);
  EXPECT_EQ(m->config().num_kv_heads, 4);
  auto logits = m->forward(ids_tensor(golden_logit_ids()))[0];
  auto ref = golden_logits();
  ASSERT_EQ(logits.sizes(), ref.sizes());
  double maxdiff = (logits - ref).abs().max().item<double>();
  EXPECT_LT(maxdiff, 1e-4) << "max |logit - reference| = " << maxdiff;
}

TEST(ModelGolden, GreedyMatchesReferenceFromLlama2cFile) {
  auto m = Model::load(stories_bin(), no_tok());
  auto j = load_json("goldens/stories260K_greedy.json");
  for (auto& c : j) {
    auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    auto want = c["greedy_ids"].get<std::vector<int32_t>>();
    GenerateOptions go;
    go.max_new_tokens = static_cast<int64_t>(want.size());
    go.stop_at_eos = false;
    auto r = generate(*m, prompt, go);
    EXPECT_EQ(r.ids, want) << "prompt: " << c["prompt"];
  }
}

TEST(ModelGolden, ConvertedHfDirectoryGivesIdenticalLogitsAndGreedy) {
  TempDir tmp;
  const std::string out = tmp / "hf";
  convert_llama2c(stories_bin(), stories_tok(), out);
  ASSERT_TRUE(file_exists(out + "/config.json"));
  ASSERT_TRUE(file_exists(out + "/model.safetensors"));
  ASSERT_TRUE(file_exists(out + "/tokenizer.bin"));
  auto a = Model::load(stories_bin(), no_tok());
  auto b = Model::load(out, no_tok());
  auto ids = ids_tensor(golden_logit_ids());
  auto la = a->forward(ids), lb = b->forward(ids);
  EXPECT_TRUE(torch::equal(la, lb)) << "max diff " << (la - lb).abs().max().item<double>();
  auto j = load_json("goldens/stories260K_greedy.json");
  auto prompt = j[1]["prompt_ids"].get<std::vector<int32_t>>();
  auto want = j[1]["greedy_ids"].get<std::vector<int32_t>>();
  GenerateOptions go;
  go.max_new_tokens = static_cast<int64_t>(want.size());
  go.stop_at_eos = false;
  EXPECT_EQ(generate(*b, prompt, go).ids, want);
}

TEST(ModelGolden, Bf16ComputeStaysCloseToFp32) {
  LoadOptions o = no_tok();
  o.dtype = torch::kBFloat16;
  auto m = Model::load(stories_bin(), o);
  auto logits = m->forward(ids_tensor(golden_logit_ids()))[0];
  auto ref = golden_logits();
  // bf16 has 8 mantissa bits; the logits stay within a few tenths and the argmax mostly agrees.
  double maxdiff = (logits - ref).abs().max().item<double>();
  EXPECT_LT(maxdiff, 0.5);
  auto agree = (logits.argmax(-1) == ref.argmax(-1)).sum().item<int64_t>();
  EXPECT_GE(agree, ref.size(0) - 1);
}
