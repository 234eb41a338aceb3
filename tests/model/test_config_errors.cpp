// config.json parsing, the architecture registry, synthetic models of each family, bad model dirs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "golden_util.h"
#include "model/config.h"
#include "model/model.h"
#include "model/synth.h"
#include "io/safetensors.h"

using namespace as;
using namespace as::test;
using nlohmann::json;

namespace {

json base_config(const std::string& arch) {
  return json{{"architectures", {arch}},     {"hidden_size", 64},       {"intermediate_size", 96},
              {"num_hidden_layers", 2},      {"num_attention_heads", 4}, {"num_key_value_heads", 2},
              {"vocab_size", 300},           {"rms_norm_eps", 1e-6},     {"rope_theta", 10000.0},
              {"max_position_embeddings", 128}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(ModelConfig, ParsesEachArchitectureFamily) {
  auto l = parse_model_config(base_config("LlamaForCausalLM"), "cfg");
  EXPECT_EQ(l.model_type, "llama");
  EXPECT_FALSE(l.qkv_bias);
  EXPECT_EQ(l.head_dim, 16);
  auto q2 = parse_model_config(base_config("Qwen2ForCausalLM"), "cfg");
  EXPECT_TRUE(q2.qkv_bias);
  EXPECT_FALSE(q2.o_bias);
  auto j3 = base_config("Qwen3ForCausalLM");
  j3["head_dim"] = 32;  // explicit head_dim != hidden / heads
  auto q3 = parse_model_config(j3, "cfg");
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.q_dim(), 128);
}

TEST(ModelConfig, RopeScalingVariants) {
  auto j = base_config("LlamaForCausalLM");
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  auto c = parse_model_config(j, "cfg");
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(parse_model_config(j, "cfg").rope_scaling.type, "linear");
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 2.0}};
  EXPECT_NE(error_of([&] { parse_model_config(j, "cfg"); }).find("yarn"), std::string::npos);
}

TEST(ModelConfig, UnsupportedArchitectureListsSupportedOnes) {
  auto msg = error_of([] { parse_model_config(base_config("GPTNeoXForCausalLM"), "x/config.json"); });
  EXPECT_NE(msg.find("GPTNeoXForCausalLM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Qwen3ForCausalLM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x/config.json"), std::string::npos) << msg;
}

TEST(ModelConfig, MissingOrWrongFieldsNameTheKey) {
  auto j = base_config("LlamaForCausalLM");
  j.erase("hidden_size");
  EXPECT_NE(error_of([&] { parse_model_config(j, "cfg"); }).find("'hidden_size'"), std::string::npos);
  j = base_config("LlamaForCausalLM");
  j["num_attention_heads"] = "four";
  EXPECT_NE(error_of([&] { parse_model_config(j, "cfg"); }).find("'num_attention_heads'"), std::string::npos);
  j = base_config("LlamaForCausalLM");
  j["num_key_value_heads"] = 3;
  EXPECT_NE(error_of([&] { parse_model_config(j, "cfg"); }).find("num_key_value_heads"), std::string::npos);
  j = base_config("LlamaForCausalLM");
  j.erase("architectures");
  EXPECT_NE(error_of([&] { parse_model_config(j, "cfg"); }).find("'architectures'"), std::string::npos);
}

TEST(ModelConfig, ConfigJsonRoundTrip) {
  auto j = base_config("Qwen3ForCausalLM");
  j["tie_word_embeddings"] = true;
  j["eos_token_id"] = json::array({5, 6});
  auto c = parse_model_config(j, "cfg");
  auto c2 = parse_model_config(json::parse(model_config_to_json(c)), "cfg2");
  EXPECT_EQ(c2.architecture, c.architecture);
  EXPECT_EQ(c2.eos_token_ids, c.eos_token_ids);
  EXPECT_EQ(c2.num_params(), c.num_params());
}

TEST(ModelLoad, SynthesizedModelsOfEachFamilyRun) {
  for (std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    TempDir tmp;
    SynthOptions s;
    s.config = parse_model_config(base_config(arch), "synth");
    s.dtype = DType::BF16;
    s.seed = 3;
    synth_model(tmp.str(), s);
    auto m = Model::load(tmp.str());
    EXPECT_EQ(m->config().architecture, arch);
    EXPECT_EQ(m->tokenizer().vocab_size() >= 257, true);
    auto logits = m->forward(ids_tensor({1, 2, 3, 4}));
    EXPECT_EQ(logits.size(2), 300);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << arch;
    if (arch == "Qwen2ForCausalLM") {
      EXPECT_TRUE(m->layer(0).q.b.defined());
    }
    if (arch == "Qwen3ForCausalLM") {
      EXPECT_TRUE(m->layer(1).q_norm.defined());
    }
  }
}

TEST(ModelLoad, SynthIsDeterministicPerSeed) {
  TempDir a, b, c;
  SynthOptions s;
  s.config = parse_model_config(base_config("LlamaForCausalLM"), "synth");
  s.seed = 9;
  synth_model(a.str(), s);
  synth_model(b.str(), s);
  s.seed = 10;
  synth_model(c.str(), s);
  EXPECT_EQ(read_file(a / "model.safetensors"), read_file(b / "model.safetensors"));
  EXPECT_NE(read_file(a / "model.safetensors"), read_file(c / "model.safetensors"));
}

TEST(ModelLoad, SynthWithMissingTokenizerFailsBeforeWritingWeights) {
  TempDir tmp;
  SynthOptions s;
  s.config = parse_model_config(base_config("LlamaForCausalLM"), "synth");
  s.tokenizer = (tmp / "no_such_tokenizer.model");
  auto msg = error_of([&] { synth_model(tmp / "out", s); });
  EXPECT_NE(msg.find("no_such_tokenizer.model"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(tmp / "out/model.safetensors"));
}

TEST(ModelLoad, DirectoryWithoutWeightsIsAClearError) {
  TempDir tmp;
  write_file_atomic(tmp / "config.json", base_config("LlamaForCausalLM").dump());
  auto msg = error_of([&] { Model::load(tmp.str()); });
  EXPECT_NE(msg.find("no weights"), std::string::npos) << msg;
}

TEST(ModelLoad, DirectoryWithoutConfigIsAClearError) {
  TempDir tmp;
  auto msg = error_of([&] { Model::load(tmp.str()); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
}

TEST(ModelLoad, TruncatedLlama2cCheckpointIsAClearError) {
  TempDir tmp;
  std::string bytes = read_file(stories_bin());
  write_file_atomic(tmp / "bad.bin", bytes.substr(0, bytes.size() / 2));
  auto msg = error_of([&] { Model::load(tmp / "bad.bin"); });
  EXPECT_NE(msg.find("does not match the header"), std::string::npos) << msg;
}

TEST(ModelLoad, MissingTensorAndWrongShapeNameTheTensor) {
  TempDir tmp;
  SynthOptions s;
  s.config = parse_model_config(base_config("LlamaForCausalLM"), "synth");
  synth_model(tmp.str(), s);
  // claim a larger hidden size than the weights have
  auto j = base_config("LlamaForCausalLM");
  j["intermediate_size"] = 128;
  write_file_atomic(tmp / "config.json", j.dump());
  auto msg = error_of([&] { Model::load(tmp.str()); });
  EXPECT_NE(msg.find("mlp.gate_proj.weight"), std::string::npos) << msg;
  j = base_config("LlamaForCausalLM");
  j["num_hidden_layers"] = 3;
  write_file_atomic(tmp / "config.json", j.dump());
  msg = error_of([&] { Model::load(tmp.str()); });
  EXPECT_NE(msg.find("model.layers.2."), std::string::npos) << msg;
}

TEST(ModelLoad, NonFiniteWeightsAreReportedByName) {
  TempDir tmp;
  SynthOptions s;
  s.config = parse_model_config(base_config("LlamaForCausalLM"), "synth");
  s.dtype = DType::F32;
  synth_model(tmp.str(), s);
  // poison one weight: rewrite the checkpoint with a NaN in layer 1's up_proj
  {
    auto m = Model::load(tmp.str());
    std::map<std::string, torch::Tensor> all;
    for (auto& n : m->store().names()) all[n] = m->store().load(n, torch::kFloat32);
    all["model.layers.1.mlp.up_proj.weight"][0][0] = std::numeric_limits<float>::quiet_NaN();
    SafetensorsWriter w;
    for (auto& [n, t] : all) {
      std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
      w.add(n, DType::F32, shape, t.data_ptr());
    }
    m.reset();
    w.write(tmp / "model.safetensors");
  }
  auto m = Model::load(tmp.str());
  ASSERT_EQ(m->nonfinite_tensors().size(), 1u);
  EXPECT_EQ(m->nonfinite_tensors()[0], "model.layers.1.mlp.up_proj.weight");
}
