// QuantizationArgs / config group / quantization_config JSON, presets, target resolution.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/compressed_tensors/ct_scheme.h"

using namespace as::ct;
using nlohmann::json;

namespace {
bool has_violation(const std::vector<Violation>& v, const std::string& key_part, const std::string& msg_part = "") {
  for (const auto& x : v)
    if (x.tensor_or_key.find(key_part) != std::string::npos && x.message.find(msg_part) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST(CtScheme, Fp8StaticJsonExactlyAsCtDumps) {
  const ConfigGroup g = presets::fp8_static();
  const json w = g.weights->to_json();
  EXPECT_EQ(w, json::parse(R"({"actorder": null, "block_structure": null, "dynamic": false, "group_size": null,
      "num_bits": 8, "observer": "minmax", "observer_kwargs": {}, "strategy": "tensor", "symmetric": true,
      "type": "float"})"));
  const json in = g.input_activations->to_json();
  EXPECT_EQ(in["strategy"], "tensor");
  EXPECT_EQ(in["dynamic"], false);
  EXPECT_EQ(g.format.value(), "float-quantized");
  ConfigGroup t = g;
  t.targets = {"Linear"};
  const json gj = t.to_json();
  EXPECT_EQ(gj["targets"], json::array({"Linear"}));
  EXPECT_TRUE(gj.contains("output_activations"));
  EXPECT_TRUE(gj["output_activations"].is_null());
  EXPECT_EQ(gj.size(), 5u);  // targets, weights, input_activations, output_activations, format
}

TEST(CtScheme, PresetShapes) {
  const ConfigGroup dyn = presets::fp8_dynamic();
  EXPECT_EQ(dyn.weights->strategy, Strategy::Channel);
  EXPECT_EQ(dyn.input_activations->strategy, Strategy::Token);
  EXPECT_EQ(dyn.input_activations->to_json()["dynamic"], true);
  EXPECT_TRUE(dyn.input_activations->to_json()["observer"].is_null());  // CT drops observers when dynamic

  const ConfigGroup blk = presets::fp8_block();
  EXPECT_EQ(blk.weights->to_json()["block_structure"], json::array({128, 128}));
  EXPECT_EQ(blk.input_activations->strategy, Strategy::Group);
  EXPECT_EQ(blk.input_activations->group_size.value(), 128);
  EXPECT_EQ(blk.input_activations->to_json()["dynamic"], true);

  const ConfigGroup i8 = presets::int8_w8a8_dynamic();
  EXPECT_EQ(i8.format.value(), "int-quantized");
  EXPECT_EQ(i8.weights->type, QuantType::Int);
  EXPECT_EQ(i8.input_activations->strategy, Strategy::Token);
  const ConfigGroup i8s = presets::int8_w8a8_static();
  EXPECT_EQ(i8s.input_activations->strategy, Strategy::Tensor);
  EXPECT_FALSE(i8s.input_activations->is_dynamic());

  const ConfigGroup w4 = presets::wna16(4, 128, false, ActOrder::Group);
  EXPECT_EQ(w4.format.value(), "pack-quantized");
  EXPECT_EQ(w4.weights->to_json()["actorder"], "group");
  EXPECT_EQ(w4.weights->to_json()["group_size"], 128);
  EXPECT_FALSE(w4.input_activations.has_value());
  const ConfigGroup ch = presets::wna16(8, -1, true);
  EXPECT_EQ(ch.weights->strategy, Strategy::Channel);
  EXPECT_TRUE(ch.weights->to_json()["group_size"].is_null());

  const ConfigGroup w4a8 = presets::w4a8_fp8();
  EXPECT_EQ(w4a8.format.value(), "pack-quantized");
  EXPECT_EQ(w4a8.input_activations->type, QuantType::Float);
  EXPECT_EQ(w4a8.input_activations->strategy, Strategy::Tensor);
  EXPECT_FALSE(w4a8.input_activations->is_dynamic());
  EXPECT_EQ(presets::w4a8_fp8(128, presets::W4A8Input::DynamicToken).input_activations->strategy, Strategy::Token);
}

TEST(CtScheme, QuantArgsRoundTripAndInference) {
  for (const ConfigGroup& g : {presets::fp8_static(), presets::fp8_dynamic(), presets::fp8_block(),
                               presets::int8_w8a8_dynamic(), presets::int8_w8a8_static(false),
                               presets::wna16(3, 64, false, ActOrder::Group), presets::w4a8_fp8()}) {
    const QuantArgs back = QuantArgs::from_json(g.weights->to_json());
    EXPECT_TRUE(back.same_quantization(*g.weights));
    EXPECT_EQ(back.to_json(), g.weights->to_json());
  }
  // strategy inferred as CT does
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"num_bits": 4, "group_size": 128})")).strategy, Strategy::Group);
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"num_bits": 4, "group_size": -1})")).strategy, Strategy::Channel);
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"num_bits": 8})")).strategy, Strategy::Tensor);
  // aliases and legacy spellings
  const QuantArgs a = QuantArgs::from_json(
      json::parse(R"({"num_bits": 8, "type": "FLOAT", "strategy": "BLOCK", "block_structure": "64x32"})"));
  EXPECT_EQ(a.type, QuantType::Float);
  EXPECT_EQ((*a.block_structure)[0], 64);
  EXPECT_EQ((*a.block_structure)[1], 32);
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"group_size": 32, "actorder": "dynamic"})")).actorder, ActOrder::Group);
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"group_size": 32, "actorder": true})")).actorder, ActOrder::Group);
  EXPECT_EQ(QuantArgs::from_json(json::parse(R"({"group_size": 32, "actorder": "static"})")).actorder, ActOrder::Weight);
}

TEST(CtScheme, QuantArgsViolations) {
  auto bad = [](const char* text, const std::string& key, const std::string& msg = "") {
    std::vector<Violation> v;
    EXPECT_FALSE(QuantArgs::parse(json::parse(text), "w", v).has_value()) << text;
    EXPECT_TRUE(has_violation(v, key, msg)) << text << " -> " << (v.empty() ? "" : v[0].tensor_or_key + ": " + v[0].message);
  };
  bad(R"({"num_bits": 4, "foo": 1})", "w.foo", "unknown key");
  bad(R"({"num_bits": 4, "strategy": "group"})", "w.group_size", "requires group_size");
  bad(R"({"num_bits": 8, "strategy": "token"})", "w.dynamic", "dynamic");
  bad(R"({"num_bits": 8, "strategy": "token", "dynamic": false})", "w.dynamic", "dynamic");
  bad(R"({"num_bits": 8, "strategy": "block", "block_structure": [128]})", "w.block_structure", "two ints");
  bad(R"({"num_bits": 8, "strategy": "block"})", "w.block_structure", "requires block_structure");
  bad(R"({"num_bits": 8, "block_structure": [128, 128]})", "w.block_structure", "requires strategy");
  bad(R"({"num_bits": 4, "strategy": "channel", "actorder": "group"})", "w.actorder", "group");
  bad(R"({"num_bits": 4, "strategy": "channel", "group_size": 128})", "w.group_size", "requires strategy");
  bad(R"({"num_bits": 4, "group_size": -2})", "w.group_size", "invalid group size");
  bad(R"({"num_bits": "4"})", "w.num_bits", "integer");
  bad(R"({"type": "fp"})", "w.type");
  bad(R"({"symmetric": 1})", "w.symmetric", "boolean");
  bad(R"({"strategy": "row"})", "w.strategy", "unknown strategy");
  bad(R"({"dynamic": "yes"})", "w.dynamic");
  bad(R"({"num_bits": 8, "strategy": "channel", "dynamic": true})", "w.dynamic", "requires strategy");
  bad(R"({"num_bits": 6, "type": "float"})", "w.num_bits", "float");
}

TEST(CtScheme, ConfigGroupViolations) {
  std::vector<Violation> v;
  EXPECT_FALSE(ConfigGroup::parse(json::parse(R"({"targets": ["Linear"], "weights": {"num_bits": 4}, "extra": 1})"),
                                  "g", v));
  EXPECT_TRUE(has_violation(v, "g.extra", "unknown key"));
  v.clear();
  EXPECT_FALSE(ConfigGroup::parse(json::parse(R"({"weights": {"num_bits": 4}})"), "g", v));
  EXPECT_TRUE(has_violation(v, "g.targets", "missing"));
  v.clear();
  EXPECT_FALSE(ConfigGroup::parse(
      json::parse(R"({"targets": ["Linear"], "weights": {"num_bits": 8}, "format": "mixed-precision"})"), "g", v));
  EXPECT_TRUE(has_violation(v, "g.format", "mixed-precision"));
  v.clear();
  EXPECT_FALSE(ConfigGroup::parse(json::parse(R"({"targets": ["Linear"], "weights": {"num_bits": 8},
      "input_activations": {"num_bits": 8, "strategy": "channel"}})"), "g", v));
  EXPECT_TRUE(has_violation(v, "g.input_activations.strategy", "activation"));
}

TEST(CtScheme, QuantizationConfigRoundTrip) {
  QuantizationConfig c;
  c.format = "mixed-precision";
  c.ignore = {"lm_head", "re:.*mlp\\.gate$"};
  ConfigGroup a = presets::wna16(4, 128, true);
  a.targets = {"model.layers.0.self_attn.q_proj"};
  ConfigGroup b = presets::fp8_dynamic();
  b.targets = {"model.layers.0.mlp.down_proj"};
  c.config_groups = {{"group_0", a}, {"group_1", b}};
  const json j = c.to_json();
  EXPECT_EQ(j["quant_method"], "compressed-tensors");
  EXPECT_EQ(j["quantization_status"], "compressed");
  EXPECT_TRUE(j["kv_cache_scheme"].is_null());
  EXPECT_TRUE(j["global_compression_ratio"].is_null());
  EXPECT_EQ(j["sparsity_config"], json::object());
  EXPECT_EQ(j["transform_config"], json::object());
  EXPECT_EQ(j["version"], "0.12.2");
  const QuantizationConfig back = QuantizationConfig::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  ASSERT_EQ(back.config_groups.size(), 2u);
  EXPECT_TRUE(back.config_groups[1].second.same_scheme(b));

  std::vector<Violation> v;
  json bad = j;
  bad["quant_method"] = "gptq";
  bad["quantization_status"] = "frozen";
  bad["config_groups"]["group_2"] = json::array({"Linear"});  // preset-name form
  EXPECT_FALSE(QuantizationConfig::parse(bad, v));
  EXPECT_TRUE(has_violation(v, "quant_method", "compressed-tensors"));
  EXPECT_TRUE(has_violation(v, "quantization_status", "compressed"));
  EXPECT_TRUE(has_violation(v, "config_groups.group_2", "preset"));
}

TEST(CtScheme, RegexIsAnchoredAtStartLikePythonReMatch) {
  EXPECT_EQ(match_target("re:.*mlp", "model.layers.0.mlp.up_proj", true), MatchKind::Regex);
  EXPECT_EQ(match_target("re:mlp", "model.layers.0.mlp.up_proj", true), MatchKind::None);  // not a search
  EXPECT_EQ(match_target("re:model\\.layers\\.0", "model.layers.0.mlp.up_proj", true), MatchKind::Regex);  // prefix ok
  EXPECT_EQ(match_target("re:.*up_proj$", "model.layers.0.mlp.up_proj", true), MatchKind::Regex);
  EXPECT_EQ(match_target("re:.*up_proj$", "model.layers.0.mlp.up_proj_x", true), MatchKind::None);
  EXPECT_EQ(match_target("model.layers.0.mlp.up_proj", "model.layers.0.mlp.up_proj", false), MatchKind::Exact);
  EXPECT_EQ(match_target("model.layers.0.mlp", "model.layers.0.mlp.up_proj", true), MatchKind::None);  // exact only
  EXPECT_EQ(match_target("Linear", "model.layers.0.mlp.up_proj", true), MatchKind::Class);
  EXPECT_EQ(match_target("Linear", "model.embed_tokens", false), MatchKind::None);
  std::string err;
  EXPECT_FALSE(compile_target_regex("re:(unclosed", &err).has_value());
  EXPECT_FALSE(err.empty());
}

TEST(CtScheme, TargetMatcherPriorityAndIgnore) {
  QuantizationConfig c;
  c.format = "pack-quantized";
  c.ignore = {"lm_head", "re:.*layers\\.1\\..*", "model.layers.0.mlp.gate"};
  ConfigGroup lin = presets::wna16(4, 128, true);
  lin.targets = {"Linear"};
  ConfigGroup rx = presets::wna16(4, 64, true);
  rx.targets = {"re:.*down_proj$"};
  ConfigGroup ex = presets::wna16(8, -1, true);
  ex.targets = {"model.layers.0.mlp.down_proj"};
  c.config_groups = {{"group_0", lin}, {"group_1", rx}, {"group_2", ex}};
  TargetMatcher m(c);
  EXPECT_TRUE(m.regex_errors().empty());
  // exact > regex > class
  auto r = m.resolve("model.layers.0.mlp.down_proj", true);
  EXPECT_EQ(r.group, 2);
  EXPECT_EQ(r.kind, MatchKind::Exact);
  EXPECT_EQ(r.all_groups.size(), 3u);
  EXPECT_EQ(m.resolve("model.layers.2.mlp.down_proj", true).group, 1);
  EXPECT_EQ(m.resolve("model.layers.0.mlp.up_proj", true).group, 0);
  EXPECT_EQ(m.resolve("model.embed_tokens", false).group, -1);
  // ignore
  EXPECT_TRUE(m.is_ignored("lm_head", true));
  EXPECT_TRUE(m.is_ignored("model.layers.1.self_attn.q_proj", true));
  EXPECT_FALSE(m.is_ignored("model.layers.11.self_attn.q_proj", true));
  EXPECT_EQ(m.group_of("model.layers.1.mlp.down_proj", true), -1);
  EXPECT_EQ(m.group_of("model.layers.0.mlp.gate", true), -1);
  EXPECT_EQ(m.group_of("model.layers.0.mlp.gate_proj", true), 0);

  c.ignore.push_back("re:[bad");
  TargetMatcher bad(c);
  ASSERT_EQ(bad.regex_errors().size(), 1u);
  EXPECT_NE(bad.regex_errors()[0].tensor_or_key.find("ignore[3]"), std::string::npos);
}

TEST(CtScheme, LinearCandidates) {
  EXPECT_TRUE(is_linear_weight_candidate("model.layers.0.mlp.gate", {8, 64}));
  EXPECT_TRUE(is_linear_weight_candidate("lm_head", {32, 64}));
  EXPECT_FALSE(is_linear_weight_candidate("model.embed_tokens", {32, 64}));
  EXPECT_FALSE(is_linear_weight_candidate("transformer.wte", {32, 64}));
  EXPECT_FALSE(is_linear_weight_candidate("model.norm", {64}));
}

TEST(CtScheme, GeometryAndFallback) {
  const QuantArgs g = *presets::wna16(4, 128, true).weights;
  EXPECT_EQ(weight_scale_shape(g, 256, 512), (std::vector<int64_t>{256, 4}));
  EXPECT_EQ(weight_scale_shape(g, 256, 200), (std::vector<int64_t>{256, 2}));  // ceil, as CT
  EXPECT_EQ(weight_scale_shape(*presets::fp8_static().weights, 256, 512), (std::vector<int64_t>{1}));
  EXPECT_EQ(weight_scale_shape(*presets::fp8_dynamic().weights, 256, 512), (std::vector<int64_t>{256, 1}));
  EXPECT_EQ(weight_scale_shape(*presets::fp8_block().weights, 300, 512), (std::vector<int64_t>{3, 4}));

  const ConfigGroup grp = presets::wna16(4, 128, false, ActOrder::Group);
  const ConfigGroup same = with_channel_fallback(grp, 512);
  EXPECT_TRUE(same.same_scheme(grp));
  const ConfigGroup fb = with_channel_fallback(grp, 200);
  EXPECT_EQ(fb.weights->strategy, Strategy::Channel);
  EXPECT_FALSE(fb.weights->group_size.has_value());
  EXPECT_EQ(fb.weights->actorder, ActOrder::None);
  EXPECT_FALSE(fb.weights->symmetric);
  EXPECT_EQ(fb.format, grp.format);
}

TEST(CtScheme, EngineSchemeDescriptions) {
  EXPECT_NE(vllm_scheme_for(presets::fp8_static(), "float-quantized").find("CompressedTensorsW8A8Fp8"), std::string::npos);
  EXPECT_NE(vllm_scheme_for(presets::fp8_block(), "float-quantized").find("CompressedTensorsW8A8Fp8"), std::string::npos);
  EXPECT_NE(vllm_scheme_for(presets::int8_w8a8_dynamic(), "int-quantized").find("W8A8Int8"), std::string::npos);
  EXPECT_NE(vllm_scheme_for(presets::int8_w8a8_static(), "int-quantized").find("static"), std::string::npos);
  EXPECT_NE(vllm_scheme_for(presets::wna16(), "pack-quantized").find("WNA16"), std::string::npos);
  EXPECT_EQ(vllm_scheme_for(presets::w4a8_fp8(), "pack-quantized").rfind("none", 0), 0u);  // static FP8 input
  EXPECT_NE(vllm_scheme_for(presets::w4a8_fp8(128, presets::W4A8Input::DynamicToken), "pack-quantized").find("W4A8Fp8"),
            std::string::npos);
  // per-group format wins over the global one in vLLM
  EXPECT_NE(vllm_scheme_for(presets::fp8_dynamic(), "mixed-precision").find("W8A8Fp8"), std::string::npos);
  EXPECT_EQ(sglang_scheme_for(presets::fp8_dynamic(), "mixed-precision").rfind("none", 0), 0u);
}
