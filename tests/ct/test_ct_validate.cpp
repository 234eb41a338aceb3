// The validator passes good exports and names each defect of hand-corrupted ones.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "ct_test_model.h"
#include "io/compressed_tensors/ct_validate.h"
#include "io/compressed_tensors/ct_writer.h"
#include "io/safetensors.h"
#include "kernels/half.h"
#include "test_util.h"

using namespace as::ct;
using namespace as::ct::test;
using nlohmann::json;

namespace {

const std::string kQ = "model.layers.0.self_attn.q_proj";
const std::string kK = "model.layers.0.self_attn.k_proj";
const std::string kDown = "model.layers.0.mlp.down_proj";

struct Raw {
  std::string name;
  as::DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Rewrites model.safetensors after `f` edits the tensor list.
void rewrite(const std::string& dir, const std::function<void(std::vector<Raw>&)>& f) {
  std::vector<Raw> ts;
  {
    as::Checkpoint ck(dir);
    for (const auto& n : ck.names()) {
      const auto& v = ck.get(n);
      ts.push_back({n, v.dtype, v.shape, std::vector<uint8_t>(v.data, v.data + v.nbytes)});
    }
  }
  f(ts);
  as::SafetensorsWriter w;
  for (auto& t : ts) w.add(t.name, t.dtype, t.shape, std::move(t.bytes));
  w.write(dir + "/model.safetensors");
}

Raw& find(std::vector<Raw>& ts, const std::string& name) {
  for (auto& t : ts)
    if (t.name == name) return t;
  throw as::Error("test: no tensor " + name);
}

void drop(std::vector<Raw>& ts, const std::string& name) {
  std::erase_if(ts, [&](const Raw& t) { return t.name == name; });
}

void edit_config(const std::string& dir, const std::function<void(json&)>& f) {
  json c = json::parse(as::read_file(dir + "/config.json"));
  f(c);
  as::write_file_atomic(dir + "/config.json", c.dump(2));
}

// Writes a valid export of `m` into a fresh directory of `tmp`.
std::string export_to(const as::test::TempDir& tmp, const ExportModel& m, const std::string& sub = "ok") {
  const std::string dir = tmp / sub;
  write_compressed_tensors(dir, m);
  return dir;
}

::testing::AssertionResult has_violation(const ValidationReport& r, const std::string& key, const std::string& msg) {
  for (const auto& v : r.violations)
    if (v.tensor_or_key.find(key) != std::string::npos && v.message.find(msg) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no violation {" << key << " : " << msg << "} in:\n" << r.summary(50);
}

}  // namespace

TEST(CtValidate, GoodExportsPassAndJsonForm) {
  as::test::TempDir tmp;
  int i = 0;
  for (const ConfigGroup& g :
       {presets::fp8_static(), presets::fp8_dynamic(), presets::fp8_block(), presets::int8_w8a8_dynamic(),
        presets::int8_w8a8_static(), presets::wna16(4, 32, false, ActOrder::Group), presets::wna16(8, -1, true),
        presets::w4a8_fp8()}) {
    std::string sub = "m";
    sub += std::to_string(i++);
    const std::string dir = export_to(tmp, make_model(g), sub);
    const ValidationReport r = validate_compressed_tensors(dir);
    EXPECT_TRUE(r.ok) << r.summary();
    EXPECT_EQ(r.quantized_modules, 7u);
    const json j = r.to_json();
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["format"], *g.format);
    EXPECT_TRUE(j["violations"].is_array());
    EXPECT_TRUE(j["violations"].empty());
    EXPECT_TRUE(j["vllm_schemes"].contains("group_0"));
  }
}

TEST(CtValidate, MissingConfig) {
  as::test::TempDir tmp;
  const ValidationReport r = validate_compressed_tensors(tmp.str());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(has_violation(r, "config.json", "missing"));
  const json j = r.to_json();
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["violations"][0]["tensor_or_key"], "config.json");
}

TEST(CtValidate, MissingTensor) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  rewrite(dir, [](auto& ts) { drop(ts, kQ + ".weight_scale"); });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_scale", "missing"));
}

TEST(CtValidate, WrongDtype) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  rewrite(dir, [](auto& ts) {
    Raw& t = find(ts, kQ + ".weight_packed");
    t.dtype = as::DType::F32;  // same byte size, wrong dtype
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_packed", "wrong dtype F32"));
}

TEST(CtValidate, WrongShape) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  rewrite(dir, [](auto& ts) {
    Raw& t = find(ts, kQ + ".weight_scale");  // [64, 2] BF16
    t.shape = {32, 4};
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_scale", "wrong shape [32, 4]"));
}

TEST(CtValidate, WrongWeightShape) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  rewrite(dir, [](auto& ts) {
    Raw& t = find(ts, kQ + ".weight_shape");
    const int64_t v[2] = {64, 72};  // packed [64, 8] holds K <= 64
    std::memcpy(t.bytes.data(), v, 16);
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_shape", "disagree with weight_packed"));
}

TEST(CtValidate, AsymmetricWithoutZeroPoint) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, false)));
  rewrite(dir, [](auto& ts) { drop(ts, kK + ".weight_zero_point"); });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kK + ".weight_zero_point", "asymmetric"));

  // config says asymmetric, tensors were written symmetric
  const std::string d2 = export_to(tmp, make_model(presets::wna16(4, 32, true)), "sym");
  edit_config(d2, [](json& c) { c["quantization_config"]["config_groups"]["group_0"]["weights"]["symmetric"] = false; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(d2), kDown + ".weight_zero_point", "missing"));
}

TEST(CtValidate, SymmetricWithStrayZeroPoint) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  rewrite(dir, [](auto& ts) { ts.push_back({kQ + ".weight_zero_point", as::DType::I8, {64, 1}, std::vector<uint8_t>(64)}); });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_zero_point", "symmetric"));
}

TEST(CtValidate, UnknownQuantArgsKey) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_static()));
  edit_config(dir, [](json& c) { c["quantization_config"]["config_groups"]["group_0"]["weights"]["scale_bits"] = 8; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "config_groups.group_0.weights.scale_bits", "unknown key"));
}

TEST(CtValidate, GroupStrategyWithoutGroupSize) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  edit_config(dir, [](json& c) { c["quantization_config"]["config_groups"]["group_0"]["weights"]["group_size"] = nullptr; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "group_0.weights.group_size", "requires group_size"));
}

TEST(CtValidate, TokenStrategyRequiresDynamicAndBadBlockStructure) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  edit_config(dir, [](json& c) {
    c["quantization_config"]["config_groups"]["group_0"]["input_activations"]["dynamic"] = false;
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "group_0.input_activations.dynamic", "token"));
  const std::string d2 = export_to(tmp, make_model(presets::fp8_block()), "blk");
  edit_config(d2, [](json& c) {
    c["quantization_config"]["config_groups"]["group_0"]["weights"]["block_structure"] = json::array({128, 128, 1});
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(d2), "group_0.weights.block_structure", "two ints"));
}

TEST(CtValidate, IgnoredLayerMissing) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  edit_config(dir, [](json& c) { c["quantization_config"]["ignore"].push_back("model.layers.0.mlp.shared_expert"); });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "ignore[1]", "missing"));

  // untied lm_head listed in ignore but absent
  const std::string d2 = export_to(tmp, make_model(presets::fp8_dynamic()), "nohead");
  rewrite(d2, [](auto& ts) { drop(ts, "lm_head.weight"); });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(d2), "ignore[0]", "lm_head"));
  // ... which is fine when the embeddings are tied
  edit_config(d2, [](json& c) { c["tie_word_embeddings"] = true; });
  EXPECT_TRUE(validate_compressed_tensors(d2).ok) << validate_compressed_tensors(d2).summary();
}

TEST(CtValidate, IgnoredLayerStoredQuantizedOrWithStrayTensors) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  rewrite(dir, [](auto& ts) {
    ts.push_back({"lm_head.weight_scale", as::DType::BF16, {32, 1}, std::vector<uint8_t>(64, 0x3F)});
    Raw& h = find(ts, "lm_head.weight");  // BF16 [32, 64] -> pretend I16 codes
    h.dtype = as::DType::I16;
  });
  const ValidationReport r = validate_compressed_tensors(dir);
  EXPECT_TRUE(has_violation(r, "lm_head.weight_scale", "stray quantization tensor"));
  EXPECT_TRUE(has_violation(r, "lm_head.weight", "float dtype"));
}

TEST(CtValidate, UnignoredUnquantizedLinear) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  edit_config(dir, [](json& c) { c["quantization_config"]["ignore"] = json::array(); });
  // "Linear" now claims lm_head, which is stored unquantized
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "lm_head.weight_scale", "missing"));
}

TEST(CtValidate, NanFp8Byte) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_static()));
  rewrite(dir, [](auto& ts) { find(ts, kDown + ".weight").bytes[130] = 0xFF; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kDown + ".weight", "NaN"));
  rewrite(dir, [](auto& ts) { find(ts, kDown + ".weight").bytes[130] = 0x7F; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kDown + ".weight", "first at [1, 2]"));
}

TEST(CtValidate, PaddingBitsAndCodeRanges) {
  as::test::TempDir tmp;
  // 3-bit: the top two bits of every word are padding
  const std::string dir = export_to(tmp, make_model(presets::wna16(3, 32, true)));
  rewrite(dir, [](auto& ts) { find(ts, kQ + ".weight_packed").bytes[3] |= 0x80; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_packed", "padding"));
  // 4-bit int-quantized codes stored as I8 must stay in [-8, 7]
  ConfigGroup w4a8int = presets::int8_w8a8_dynamic();
  w4a8int.weights->num_bits = 4;
  const std::string d2 = export_to(tmp, make_model(w4a8int), "int4");
  rewrite(d2, [](auto& ts) { find(ts, kQ + ".weight").bytes[0] = 100; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(d2), kQ + ".weight", "outside the 4-bit range"));
}

TEST(CtValidate, ScalesMustBePositiveAndFinite) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()));
  rewrite(dir, [](auto& ts) {
    Raw& s = find(ts, kQ + ".weight_scale");
    const uint16_t zero = 0, inf = 0x7F80;
    std::memcpy(s.bytes.data() + 2 * 5, &zero, 2);
    std::memcpy(s.bytes.data() + 2 * 6, &inf, 2);
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_scale", "2 scales"));
}

TEST(CtValidate, GidxOutOfRange) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true, ActOrder::Group)));
  rewrite(dir, [](auto& ts) {
    const int32_t bad = 2;  // K = 64, group 32 -> groups 0, 1
    std::memcpy(find(ts, kQ + ".weight_g_idx").bytes.data() + 4 * 10, &bad, 4);
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kQ + ".weight_g_idx", "outside [0, 2)"));
}

TEST(CtValidate, ModuleMatchedByTwoGroups) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::wna16(4, 32, true)));
  edit_config(dir, [](json& c) {
    json g = c["quantization_config"]["config_groups"]["group_0"];
    g["targets"] = json::array({"re:.*q_proj$"});
    g["weights"]["num_bits"] = 8;
    c["quantization_config"]["config_groups"]["group_1"] = g;
  });
  const ValidationReport r = validate_compressed_tensors(dir);
  EXPECT_TRUE(has_violation(r, kQ, "matched by config groups"));
  // the regex group wins over "Linear" (CT priority), so the 4-bit tensors no longer fit
  EXPECT_TRUE(has_violation(r, kQ + ".weight_shape", "disagree"));
}

TEST(CtValidate, FusedShardsMustShareScheme) {
  as::test::TempDir tmp;
  const ExportModel m = make_model([](const std::string& name, int64_t) {
    return name.find("k_proj") != std::string::npos ? presets::wna16(8, -1, true) : presets::wna16(4, 32, true);
  });
  const std::string dir = tmp / "fused";
  EXPECT_THROW(write_compressed_tensors(dir, m), as::Error);  // the writer validates and refuses
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), kK, "fuses"));
}

TEST(CtValidate, MixedFormatsNeedMixedPrecision) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model([](const std::string& name, int64_t) {
    return name.find("mlp") != std::string::npos ? presets::fp8_dynamic() : presets::wna16(4, 32, true);
  }));
  edit_config(dir, [](json& c) { c["quantization_config"]["format"] = "pack-quantized"; });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "quantization_config.format", "mixed-precision"));
}

TEST(CtValidate, TargetNamingNoModule) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_dynamic()), "t");
  edit_config(dir, [](json& c) {
    c["quantization_config"]["config_groups"]["group_0"]["targets"].push_back("model.layers.7.mlp.up_proj");
  });
  EXPECT_TRUE(has_violation(validate_compressed_tensors(dir), "group_0.targets[1]", "names no module"));
}

TEST(CtValidate, ValueScanCanBeSkipped) {
  as::test::TempDir tmp;
  const std::string dir = export_to(tmp, make_model(presets::fp8_static()));
  rewrite(dir, [](auto& ts) { find(ts, kDown + ".weight").bytes[0] = 0x7F; });
  ValidateOptions o;
  o.scan_values = false;
  EXPECT_TRUE(validate_compressed_tensors(dir, o).ok);
  EXPECT_FALSE(validate_compressed_tensors(dir).ok);
}
