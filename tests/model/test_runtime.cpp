// KV cache, batching, hooks, layer streaming and sampling behave like the plain forward pass.
#include <gtest/gtest.h>

#include "common/error.h"
#include "golden_util.h"
#include "model/model.h"
#include "runtime/generate.h"

using namespace as;
using namespace as::test;

namespace {
std::unique_ptr<Model> stories(bool stream = false) {
  LoadOptions o;
  o.load_tokenizer = false;
  o.stream_layers = stream;
  return Model::load(stories_bin(), o);
}
const std::vector<int64_t> kIds = {1, 403, 407, 261, 378, 383, 286, 261, 376, 298, 315, 421};
}  // namespace

TEST(Runtime, IncrementalDecodeWithCacheMatchesFullForward) {
  auto m = stories();
  auto full = m->forward(ids_tensor(kIds))[0];
  KVCache cache = m->new_cache(1, 64);
  // prefill the first 5, then one token at a time
  std::vector<int64_t> head(kIds.begin(), kIds.begin() + 5);
  auto out = m->forward(ids_tensor(head), &cache)[0];
  EXPECT_LT((out - full.narrow(0, 0, 5)).abs().max().item<double>(), 1e-4);
  for (size_t t = 5; t < kIds.size(); ++t) {
    auto step = m->forward(ids_tensor({kIds[t]}), &cache)[0][0];
    EXPECT_LT((step - full[static_cast<int64_t>(t)]).abs().max().item<double>(), 1e-4) << "position " << t;
  }
  EXPECT_EQ(cache.length, static_cast<int64_t>(kIds.size()));
}

TEST(Runtime, BatchedPrefillMatchesSingleSequences) {
  auto m = stories();
  std::vector<int64_t> a(kIds.begin(), kIds.begin() + 8), b(kIds.begin() + 4, kIds.begin() + 12);
  auto batch = torch::stack({torch::tensor(a), torch::tensor(b)});
  auto lb = m->forward(batch);
  EXPECT_LT((lb[0] - m->forward(ids_tensor(a))[0]).abs().max().item<double>(), 1e-4);
  EXPECT_LT((lb[1] - m->forward(ids_tensor(b))[0]).abs().max().item<double>(), 1e-4);
}

TEST(Runtime, CacheOverflowIsAnError) {
  auto m = stories();
  KVCache cache = m->new_cache(1, 4);
  EXPECT_THROW(m->forward(ids_tensor(kIds), &cache), Error);
}

TEST(Runtime, OutOfRangeTokenIsAnError) {
  auto m = stories();
  EXPECT_THROW(m->forward(ids_tensor({1, 9999})), Error);
}

TEST(Runtime, HooksSeeEveryLayerAndLinear) {
  auto m = stories();
  ForwardHooks hk;
  int layers = 0;
  std::map<std::string, int64_t> linear_width;
  std::vector<torch::Tensor> captured;
  hk.on_layer = [&](int i, const torch::Tensor& in, const torch::Tensor& out) {
    EXPECT_EQ(i, layers);
    EXPECT_EQ(in.sizes(), out.sizes());
    ++layers;
  };
  hk.on_linear_input = [&](const std::string& name, const torch::Tensor& x) { linear_width[name] = x.size(-1); };
  hk.capture_layers = {-1, 2, 4};
  hk.captured = &captured;
  auto logits = m->forward(ids_tensor(kIds), nullptr, &hk);
  EXPECT_EQ(layers, 5);
  EXPECT_EQ(linear_width.size(), 5u * 7u);
  EXPECT_EQ(linear_width["model.layers.0.mlp.down_proj"], 172);
  EXPECT_EQ(linear_width["model.layers.3.self_attn.o_proj"], 64);
  ASSERT_EQ(captured.size(), 3u);
  EXPECT_EQ(captured[0].size(2), 64);
}

TEST(Runtime, LayerByLayerExecutionMatchesForward) {
  auto full = stories()->forward(ids_tensor(kIds));
  auto m = stories(/*stream=*/true);
  auto h = m->embed(ids_tensor(kIds));
  for (int i = 0; i < m->num_layers(); ++i) {
    m->load_layer(i);
    h = m->run_layer(i, h, 0);
    m->unload_layer(i);
  }
  auto logits = m->head(h);
  EXPECT_LT((logits - full).abs().max().item<double>(), 1e-5);
  // forward() on a streamed model loads and drops layers itself
  EXPECT_LT((m->forward(ids_tensor(kIds)) - full).abs().max().item<double>(), 1e-5);
}

TEST(Runtime, SamplingIsSeededAndGreedyAtZeroTemperature) {
  auto m = stories();
  std::vector<int32_t> prompt = {1, 403, 407};
  GenerateOptions go;
  go.max_new_tokens = 20;
  go.stop_at_eos = false;
  go.sampling = {0.9f, 40, 0.95f, 123};
  auto a = generate(*m, prompt, go), b = generate(*m, prompt, go);
  EXPECT_EQ(a.ids, b.ids);
  go.sampling.seed = 124;
  auto c = generate(*m, prompt, go);
  EXPECT_NE(a.ids, c.ids);
  EXPECT_GT(a.tokens_per_s, 0);
}

TEST(Runtime, SamplerRespectsTopK) {
  Sampler s({1.0f, 1, 1.0f, 7});
  auto logits = torch::tensor({0.1f, 3.0f, 2.9f, -1.0f});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(logits), 1);
  EXPECT_THROW(Sampler({-1.0f, 0, 1.0f, 0}), Error);
}
