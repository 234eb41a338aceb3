// write -> validate -> read round trips for every preset the project exports.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "ct_test_model.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_pack.h"
#include "io/compressed_tensors/ct_reader.h"
#include "io/compressed_tensors/ct_validate.h"
#include "io/compressed_tensors/ct_writer.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace as::ct;
using namespace as::ct::test;
using nlohmann::json;

namespace {

json read_config(const std::string& dir) { return json::parse(as::read_file(dir + "/config.json")); }

// Writes `m`, checks validation passed, re-reads every linear and compares with the inputs.
void round_trip(const ExportModel& m, const WriterOptions& opt = {}) {
  as::test::TempDir tmp;
  const std::string dir = tmp / "out";
  const WriteResult res = write_compressed_tensors(dir, m, opt);
  ASSERT_TRUE(res.report.ok) << res.report.summary();
  EXPECT_EQ(res.report.quantized_modules, m.linears.size());

  CompressedTensorsReader rd(dir);
  ASSERT_EQ(rd.quantized_modules().size(), m.linears.size());
  for (const QuantizedLinear& l : m.linears) {
    SCOPED_TRACE(l.name);
    ASSERT_TRUE(rd.is_quantized(l.name));
    ASSERT_TRUE(rd.is_quantized(l.name + ".weight"));
    const auto shape = rd.weight_shape(l.name);
    EXPECT_EQ(shape[0], l.out_features);
    EXPECT_EQ(shape[1], l.in_features);
    EXPECT_TRUE(rd.scheme(l.name).weights->same_quantization(*l.scheme.weights));
    const std::vector<float> got = rd.dequantize_weight(l.name);
    const std::vector<float> want = reference_dequant(l, opt.scale_dtype);
    ASSERT_EQ(got.size(), want.size());
    size_t diff = 0;
    for (size_t i = 0; i < got.size(); ++i) diff += got[i] != want[i];  // exact equality
    EXPECT_EQ(diff, 0u);
    if (l.scheme.weights->type == QuantType::Int) {
      EXPECT_EQ(rd.int_codes(l.name), l.codes);
    }
    if (l.input_scale) {
      ASSERT_TRUE(rd.input_scale(l.name).has_value());
      EXPECT_EQ(*rd.input_scale(l.name), round_scale(*l.input_scale, opt.scale_dtype));
    } else {
      EXPECT_FALSE(rd.input_scale(l.name).has_value());
    }
    if (l.input_zero_point) {
      EXPECT_EQ(rd.input_zero_point(l.name).value(), *l.input_zero_point);
    }
  }
  EXPECT_FALSE(rd.is_quantized("lm_head"));
  EXPECT_FALSE(rd.is_quantized("model.embed_tokens"));
  // plain tensors are stored byte-for-byte
  for (const PlainTensor& t : m.tensors) {
    const as::TensorView& v = rd.checkpoint().get(t.name);
    EXPECT_EQ(v.dtype, t.dtype);
    EXPECT_EQ(v.shape, t.shape);
    if (!t.bytes.empty()) {
      EXPECT_EQ(0, std::memcmp(v.data, t.bytes.data(), t.bytes.size())) << t.name;
    }
  }
  const json cfg = read_config(dir);
  EXPECT_EQ(cfg["model_type"], "llama");  // the original config is kept
  EXPECT_EQ(cfg["quantization_config"]["quant_method"], "compressed-tensors");
  EXPECT_EQ(cfg["quantization_config"]["quantization_status"], "compressed");
}

}  // namespace

TEST(CtRoundTrip, Fp8Static) {
  const ExportModel m = make_model(presets::fp8_static());
  round_trip(m);
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", m);
  const json q = read_config(tmp / "o")["quantization_config"];
  EXPECT_EQ(q["format"], "float-quantized");
  EXPECT_EQ(q["config_groups"]["group_0"]["targets"], json::array({"Linear"}));
  EXPECT_EQ(q["ignore"], json::array({"lm_head"}));
  as::Checkpoint ck(tmp / "o");
  const auto& w = ck.get("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(w.dtype, as::DType::F8_E4M3);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{kHidden, kHidden}));
  EXPECT_EQ(ck.get("model.layers.0.self_attn.q_proj.weight_scale").shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(ck.get("model.layers.0.self_attn.q_proj.weight_scale").dtype, as::DType::BF16);
  EXPECT_EQ(ck.get("model.layers.0.self_attn.q_proj.input_scale").shape, (std::vector<int64_t>{1}));
  EXPECT_FALSE(ck.contains("model.layers.0.self_attn.q_proj.weight_zero_point"));
}

TEST(CtRoundTrip, Fp8Dynamic) {
  const ExportModel m = make_model(presets::fp8_dynamic());
  round_trip(m);
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", m);
  as::Checkpoint ck(tmp / "o");
  EXPECT_EQ(ck.get("model.layers.0.mlp.up_proj.weight_scale").shape, (std::vector<int64_t>{kInter, 1}));
  EXPECT_FALSE(ck.contains("model.layers.0.mlp.up_proj.input_scale"));
}

TEST(CtRoundTrip, Fp8BlockWithPartialBlocks) {
  round_trip(make_model(presets::fp8_block()));
  // 32x32 blocks over 48 / 96 wide layers: ceil-shaped scales with partial edge blocks.
  const ExportModel m = make_model(presets::fp8_block(32), 48, 96);
  round_trip(m);
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", m);
  as::Checkpoint ck(tmp / "o");
  EXPECT_EQ(ck.get("model.layers.0.self_attn.k_proj.weight_scale").shape, (std::vector<int64_t>{1, 2}));  // [24,48]
  EXPECT_EQ(ck.get("model.layers.0.mlp.down_proj.weight_scale").shape, (std::vector<int64_t>{2, 3}));     // [48,96]
}

TEST(CtRoundTrip, Int8W8A8DynamicAndStatic) {
  round_trip(make_model(presets::int8_w8a8_dynamic()));
  round_trip(make_model(presets::int8_w8a8_static()));
  const ExportModel asym = make_model(presets::int8_w8a8_static(false));
  round_trip(asym);
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", asym);
  as::Checkpoint ck(tmp / "o");
  EXPECT_EQ(ck.get("model.layers.0.mlp.up_proj.weight").dtype, as::DType::I8);
  EXPECT_EQ(ck.get("model.layers.0.mlp.up_proj.input_zero_point").dtype, as::DType::I8);
  EXPECT_EQ(read_config(tmp / "o")["quantization_config"]["format"], "int-quantized");
}

TEST(CtRoundTrip, Wna16AllWidthsSymAsymGroupChannel) {
  for (int bits : {2, 3, 4, 8})
    for (bool sym : {true, false})
      for (int gs : {32, -1}) {
        SCOPED_TRACE(std::to_string(bits) + "-bit sym=" + std::to_string(sym) + " group=" + std::to_string(gs));
        round_trip(make_model(presets::wna16(bits, gs, sym)));
      }
}

TEST(CtRoundTrip, Wna16TensorLayout) {
  const ExportModel m = make_model(presets::wna16(4, 32, false));
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", m);
  as::Checkpoint ck(tmp / "o");
  const std::string p = "model.layers.0.self_attn.k_proj";  // [32, 64]
  const auto& wp = ck.get(p + ".weight_packed");
  EXPECT_EQ(wp.dtype, as::DType::I32);
  EXPECT_EQ(wp.shape, (std::vector<int64_t>{32, 8}));
  const auto& ws = ck.get(p + ".weight_shape");
  EXPECT_EQ(ws.dtype, as::DType::I64);
  int64_t shape[2];
  std::memcpy(shape, ws.data, 16);
  EXPECT_EQ(shape[0], 32);
  EXPECT_EQ(shape[1], 64);
  const auto& zp = ck.get(p + ".weight_zero_point");
  EXPECT_EQ(zp.dtype, as::DType::I32);
  EXPECT_EQ(zp.shape, (std::vector<int64_t>{4, 2}));  // [ceil(32/8), 64/32]
  EXPECT_FALSE(ck.contains(p + ".weight"));
  // first word equals pack_word over the first 8 codes of row 0
  const QuantizedLinear& l = m.linears[1];
  ASSERT_EQ(l.name, p);
  int32_t w0;
  std::memcpy(&w0, wp.data, 4);
  EXPECT_EQ(w0, pack_word(l.codes.data(), 8, 4));
  // zero-point word [0][1]: rows 0..7 of group 1
  int8_t col[8];
  for (int j = 0; j < 8; ++j) col[j] = l.weight_zero_point[j * 2 + 1];
  int32_t z01;
  std::memcpy(&z01, zp.data + 4, 4);
  EXPECT_EQ(z01, pack_word(col, 8, 4));
}

TEST(CtRoundTrip, Wna16ActOrderGroup) {
  const ExportModel m = make_model(presets::wna16(4, 32, true, ActOrder::Group));
  round_trip(m);
  as::test::TempDir tmp;
  write_compressed_tensors(tmp / "o", m);
  as::Checkpoint ck(tmp / "o");
  const auto& g = ck.get("model.layers.0.mlp.down_proj.weight_g_idx");
  EXPECT_EQ(g.dtype, as::DType::I32);
  EXPECT_EQ(g.shape, (std::vector<int64_t>{kInter}));
  EXPECT_EQ(read_config(tmp / "o")["quantization_config"]["config_groups"]["group_0"]["weights"]["actorder"], "group");
}

TEST(CtRoundTrip, W4A8Fp8StaticAndDynamic) {
  const ExportModel st = make_model(presets::w4a8_fp8());
  round_trip(st);
  as::test::TempDir tmp;
  const WriteResult r = write_compressed_tensors(tmp / "o", st);
  as::Checkpoint ck(tmp / "o");
  EXPECT_TRUE(ck.contains("model.layers.0.mlp.up_proj.input_scale"));
  const json in = read_config(tmp / "o")["quantization_config"]["config_groups"]["group_0"]["input_activations"];
  EXPECT_EQ(in["type"], "float");
  EXPECT_EQ(in["strategy"], "tensor");
  EXPECT_EQ(in["dynamic"], false);
  // vLLM has no kernel for int4 weights with a static FP8 input: reported as a warning.
  ASSERT_EQ(r.report.vllm_schemes.size(), 1u);
  EXPECT_EQ(r.report.vllm_schemes[0].second.rfind("none", 0), 0u);
  EXPECT_FALSE(r.report.warnings.empty());

  // With 128-wide groups over a 128-wide input (down_proj) and 64-wide inputs falling back.
  round_trip(make_model(presets::w4a8_fp8(128, presets::W4A8Input::DynamicToken)));
}

TEST(CtRoundTrip, F32ScalesAndF16Scales) {
  WriterOptions o;
  o.scale_dtype = as::DType::F32;
  ExportModel m = make_model([](const std::string&, int64_t) { return presets::wna16(4, 32, false); }, kHidden, kInter,
                             as::DType::F32);
  round_trip(m, o);
  o.scale_dtype = as::DType::F16;
  m = make_model([](const std::string&, int64_t) { return presets::fp8_static(); }, kHidden, kInter, as::DType::F16);
  round_trip(m, o);
}

TEST(CtRoundTrip, MixedPrecisionChannelFallback) {
  // group 64: gate/up/q/k/v/o have K = 64 (divisible); down_proj has K = 96 -> per-channel.
  const ConfigGroup base = presets::wna16(4, 64, true);
  const ExportModel m =
      make_model([&](const std::string&, int64_t k) { return with_channel_fallback(base, k); }, kHidden, 96);
  round_trip(m);
  as::test::TempDir tmp;
  const WriteResult r = write_compressed_tensors(tmp / "o", m);
  const json q = read_config(tmp / "o")["quantization_config"];
  ASSERT_EQ(q["config_groups"].size(), 2u);
  EXPECT_EQ(q["format"], "pack-quantized");  // same format in both groups: not mixed-precision
  const json g0 = q["config_groups"]["group_0"], g1 = q["config_groups"]["group_1"];
  EXPECT_EQ(g0["weights"]["strategy"], "group");
  EXPECT_EQ(g1["weights"]["strategy"], "channel");
  EXPECT_EQ(g1["targets"], json::array({"model.layers.0.mlp.down_proj"}));
  EXPECT_EQ(g0["targets"].size(), 6u);  // exact names, never "Linear" next to exact names
  for (const auto& t : g0["targets"]) EXPECT_NE(t.get<std::string>(), "Linear");
  as::Checkpoint ck(tmp / "o");
  EXPECT_EQ(ck.get("model.layers.0.mlp.down_proj.weight_scale").shape, (std::vector<int64_t>{kHidden, 1}));
  EXPECT_TRUE(r.report.ok);
}

TEST(CtRoundTrip, MixedFormatsBecomeMixedPrecision) {
  // attention in FP8 dynamic, MLP in W4A16.
  const ExportModel m = make_model([](const std::string& name, int64_t) {
    return name.find("self_attn") != std::string::npos ? presets::fp8_dynamic() : presets::wna16(4, 32, true);
  });
  round_trip(m);
  as::test::TempDir tmp;
  const WriteResult r = write_compressed_tensors(tmp / "o", m);
  const json q = read_config(tmp / "o")["quantization_config"];
  EXPECT_EQ(q["format"], "mixed-precision");
  EXPECT_EQ(q["config_groups"]["group_0"]["format"], "float-quantized");
  EXPECT_EQ(q["config_groups"]["group_1"]["format"], "pack-quantized");
  EXPECT_EQ(r.report.format, "mixed-precision");
}

TEST(CtRoundTrip, ShardedWithIndexAndExtraFiles) {
  as::test::TempDir tmp;
  const std::string src = tmp / "src";
  std::filesystem::create_directories(src);
  as::write_file_atomic(src + "/tokenizer.json", "{\"version\": \"1.0\"}");
  as::write_file_atomic(src + "/generation_config.json", "{\"do_sample\": false}");
  ExportModel m = make_model(presets::wna16(4, 32, true));
  m.extra_files = {src + "/tokenizer.json", src + "/generation_config.json"};
  WriterOptions o;
  o.max_shard_bytes = 8000;
  const std::string dir = tmp / "out";
  // a stale shard from an earlier export must disappear
  std::filesystem::create_directories(dir);
  as::write_file_atomic(dir + "/model-00001-of-00009.safetensors", "stale");
  const WriteResult r = write_compressed_tensors(dir, m, o);
  EXPECT_TRUE(as::file_exists(dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(as::file_exists(dir + "/model-00001-of-00009.safetensors"));
  EXPECT_FALSE(as::file_exists(dir + "/model.safetensors"));
  EXPECT_GT(r.files.size(), 4u);
  EXPECT_EQ(as::read_file(dir + "/tokenizer.json"), "{\"version\": \"1.0\"}");
  EXPECT_TRUE(as::file_exists(dir + "/generation_config.json"));
  CompressedTensorsReader rd(dir);
  EXPECT_EQ(rd.quantized_modules().size(), 7u);
  EXPECT_EQ(rd.dequantize_weight("model.layers.0.mlp.down_proj"), reference_dequant(m.linears[6]));

  // rewriting the same directory unsharded removes the index and the shards
  o.max_shard_bytes = 0;
  write_compressed_tensors(dir, m, o);
  EXPECT_TRUE(as::file_exists(dir + "/model.safetensors"));
  EXPECT_FALSE(as::file_exists(dir + "/model.safetensors.index.json"));
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_NE(e.path().filename().string().rfind("model-", 0), 0u) << e.path();
  EXPECT_TRUE(validate_compressed_tensors(dir).ok);
}

TEST(CtRoundTrip, AutoIgnoreAndExactNameTargets) {
  ExportModel m = make_model(presets::fp8_dynamic());
  m.ignore = {};
  m.tensors.push_back(bf16_tensor("model.layers.0.mlp.gate.weight", {4, kHidden}, 9));  // MoE-router-like linear
  WriterOptions o;
  o.targets = TargetStyle::ExactNames;
  as::test::TempDir tmp;
  const WriteResult r = write_compressed_tensors(tmp / "o", m, o);
  EXPECT_EQ(r.config.ignore, (std::vector<std::string>{"lm_head", "model.layers.0.mlp.gate"}));
  EXPECT_EQ(r.config.config_groups[0].second.targets.size(), 7u);
  EXPECT_TRUE(r.report.ok) << r.report.summary();
}

TEST(CtRoundTrip, WriterRejectsBadInput) {
  as::test::TempDir tmp;
  {
    ExportModel m = make_model(presets::wna16(4, 32, true));
    m.linears[0].codes[5] = 9;  // outside [-8, 7]
    EXPECT_THROW(write_compressed_tensors(tmp / "a", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::fp8_static());
    m.linears[0].fp8[0] = 0x7F;  // NaN
    EXPECT_THROW(write_compressed_tensors(tmp / "b", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::wna16(4, 32, false));
    m.linears[2].weight_zero_point.clear();  // asymmetric without zero points
    EXPECT_THROW(write_compressed_tensors(tmp / "c", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::fp8_static());
    m.linears[3].input_scale.reset();  // static input without input_scale
    EXPECT_THROW(write_compressed_tensors(tmp / "d", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::fp8_dynamic());
    m.linears[0].weight_scale[3] = 0.0f;
    EXPECT_THROW(write_compressed_tensors(tmp / "e", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::fp8_dynamic());
    m.ignore = {"re:.*q_proj"};  // ignores a quantized linear
    EXPECT_THROW(write_compressed_tensors(tmp / "f", m), as::Error);
  }
  {
    ExportModel m = make_model(presets::fp8_dynamic());
    m.extra_files = {tmp / "missing.json"};
    EXPECT_THROW(write_compressed_tensors(tmp / "g", m), as::Error);
    EXPECT_FALSE(as::file_exists(tmp / "g/config.json"));
  }
  {
    ExportModel m = make_model(presets::fp8_dynamic());
    m.tensors.push_back(bf16_tensor("model.layers.0.mlp.up_proj.weight", {kInter, kHidden}, 1));
    EXPECT_THROW(write_compressed_tensors(tmp / "h", m), as::Error);
  }
}
