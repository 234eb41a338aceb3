// Scale analysis: the PNG writer (decoded back by an independent reader), histogram counts and
// stats, the rendered figure, and `angelslim analyze` end to end on stories260K.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/font.h"
#include "analysis/histogram.h"
#include "analysis/png.h"
#include "analysis/scale_analysis.h"
#include "common/error.h"
#include "common/file.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
namespace an = as::analysis;
using nlohmann::json;
using as::test::TempDir;

// ---- An independent PNG reader for what the writer produces: 8-bit truecolor or indexed, one or
// more IDAT chunks of stored deflate blocks, filter type 0. Fails the test on anything else.

uint32_t bitwise_crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

uint32_t be32(const uint8_t* p) { return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]; }

struct Decoded {
  int width = 0, height = 0, color_type = -1;
  std::vector<std::string> chunks;  // chunk types in order
  std::vector<uint8_t> rgb;         // width * height * 3
};

std::vector<uint8_t> inflate_stored(const std::string& z) {
  EXPECT_GE(z.size(), 6u);
  const auto* p = reinterpret_cast<const uint8_t*>(z.data());
  EXPECT_EQ(p[0] & 0x0F, 8) << "CM must be deflate";
  EXPECT_EQ((p[0] * 256 + p[1]) % 31, 0) << "zlib header check";
  EXPECT_EQ(p[1] & 0x20, 0) << "no preset dictionary";
  std::vector<uint8_t> out;
  size_t pos = 2;
  for (bool final = false; !final;) {
    if (pos + 5 > z.size()) {
      ADD_FAILURE() << "truncated deflate stream";
      return {};
    }
    final = p[pos] & 1;
    if (((p[pos] >> 1) & 3) != 0) {
      ADD_FAILURE() << "not a stored block";
      return {};
    }
    const uint16_t len = p[pos + 1] | (p[pos + 2] << 8), nlen = p[pos + 3] | (p[pos + 4] << 8);
    EXPECT_EQ(static_cast<uint16_t>(~len), nlen);
    pos += 5;
    if (pos + len > z.size()) {
      ADD_FAILURE() << "stored block runs past the stream";
      return {};
    }
    out.insert(out.end(), p + pos, p + pos + len);
    pos += len;
  }
  EXPECT_EQ(pos + 4, z.size()) << "trailing bytes after the adler32";
  uint32_t a = 1, b = 0;
  for (uint8_t v : out) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  EXPECT_EQ(be32(p + pos), (b << 16) | a) << "adler32";
  return out;
}

Decoded decode_png(const std::string& f) {
  Decoded d;
  const auto* p = reinterpret_cast<const uint8_t*>(f.data());
  EXPECT_GE(f.size(), 8u);
  EXPECT_EQ(f.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat, plte;
  size_t pos = 8;
  while (pos + 12 <= f.size()) {
    const uint32_t len = be32(p + pos);
    if (pos + 12 + len > f.size()) {
      ADD_FAILURE() << "chunk runs past the file";
      return d;
    }
    const std::string type(f.data() + pos + 4, 4);
    EXPECT_EQ(be32(p + pos + 8 + len), bitwise_crc32(p + pos + 4, len + 4)) << "CRC of " << type;
    const std::string data = f.substr(pos + 8, len);
    d.chunks.push_back(type);
    if (type == "IHDR") {
      EXPECT_EQ(len, 13u);
      d.width = static_cast<int>(be32(p + pos + 8));
      d.height = static_cast<int>(be32(p + pos + 12));
      EXPECT_EQ(data[8], 8) << "bit depth";
      d.color_type = data[9];
      EXPECT_EQ(data[10], 0);
      EXPECT_EQ(data[11], 0);
      EXPECT_EQ(data[12], 0);
    } else if (type == "PLTE") {
      plte = data;
    } else if (type == "IDAT") {
      idat += data;
    }
    pos += 12 + len;
  }
  EXPECT_EQ(pos, f.size());
  EXPECT_FALSE(d.chunks.empty());
  if (d.chunks.empty()) return d;
  EXPECT_EQ(d.chunks.front(), "IHDR");
  EXPECT_EQ(d.chunks.back(), "IEND");
  const auto raw = inflate_stored(idat);
  const int bpp = d.color_type == 3 ? 1 : 3;
  EXPECT_TRUE(d.color_type == 2 || d.color_type == 3);
  const size_t stride = static_cast<size_t>(d.width) * bpp + 1;
  EXPECT_EQ(raw.size(), stride * d.height);
  if (raw.size() != stride * d.height) return d;
  d.rgb.resize(static_cast<size_t>(d.width) * d.height * 3);
  for (int y = 0; y < d.height; ++y) {
    EXPECT_EQ(raw[stride * y], 0) << "filter type of row " << y;
    for (int x = 0; x < d.width; ++x) {
      uint8_t* o = &d.rgb[(static_cast<size_t>(y) * d.width + x) * 3];
      const uint8_t* s = &raw[stride * y + 1 + static_cast<size_t>(x) * bpp];
      if (bpp == 3) {
        std::memcpy(o, s, 3);
      } else {
        EXPECT_LT(size_t{s[0]} * 3 + 2, plte.size());
        std::memcpy(o, plte.data() + size_t{s[0]} * 3, 3);
      }
    }
  }
  return d;
}

bool has_color(const Decoded& d, an::Rgb c) {
  for (size_t i = 0; i + 2 < d.rgb.size(); i += 3)
    if (d.rgb[i] == c.r && d.rgb[i + 1] == c.g && d.rgb[i + 2] == c.b) return true;
  return false;
}

std::string q(const std::string& s) { return "'" + s + "'"; }
std::string stories() { return as::test::shared("models/stories260K/stories260K.bin"); }
std::string tinystories() { return as::test::shared("data/tinystories_val.txt"); }
json read_json(const std::string& path) { return json::parse(as::read_file(path)); }

int64_t sum(const json& counts) {
  int64_t s = 0;
  for (const auto& c : counts) s += c.get<int64_t>();
  return s;
}

// ---- PNG

TEST(Png, ChecksumsMatchKnownValues) {
  const std::string s = "123456789";
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  EXPECT_EQ(an::crc32(p, s.size()), 0xCBF43926u);
  EXPECT_EQ(an::crc32(p + 4, 5, an::crc32(p, 4)), 0xCBF43926u);  // running
  const std::string w = "Wikipedia";
  EXPECT_EQ(an::adler32(reinterpret_cast<const uint8_t*>(w.data()), w.size()), 0x11E60398u);
  std::vector<uint8_t> big(200000, 0xFF);  // exercises the deferred modulo
  uint32_t a = 1, b = 0;
  for (uint8_t v : big) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  EXPECT_EQ(an::adler32(big.data(), big.size()), (b << 16) | a);
}

TEST(Png, StoredZlibStreamSplitsIntoBlocks) {
  std::vector<uint8_t> data(65535 * 2 + 10);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  auto z = an::zlib_store(data.data(), data.size());
  EXPECT_EQ(z.size(), 2 + 3 * 5 + data.size() + 4);
  EXPECT_EQ(inflate_stored(z), data);
  auto empty = an::zlib_store(nullptr, 0);
  EXPECT_TRUE(inflate_stored(empty).empty());
}

TEST(Png, IndexedImageDecodesBackExactly) {
  an::Image img(37, 23, {255, 255, 255});
  img.fill_rect(3, 4, 20, 10, {31, 119, 180});
  img.fill_rect(40, 40, 10, 15, {230, 110, 0});  // corners swapped and clipped
  img.set(0, 0, {1, 2, 3});
  img.set(-1, 5, {9, 9, 9});  // clipped
  an::draw_text(img, 1, 12, "A0-", {0, 0, 0});
  auto d = decode_png(an::encode_png(img));
  EXPECT_EQ(d.color_type, 3);
  EXPECT_EQ(d.chunks, (std::vector<std::string>{"IHDR", "PLTE", "IDAT", "IEND"}));
  EXPECT_EQ(d.width, 37);
  EXPECT_EQ(d.height, 23);
  EXPECT_EQ(d.rgb, img.pixels());
  EXPECT_EQ(img.get(0, 0), (an::Rgb{1, 2, 3}));
  EXPECT_EQ(img.get(5, 5), (an::Rgb{31, 119, 180}));
  EXPECT_EQ(img.get(36, 22), (an::Rgb{230, 110, 0}));
}

TEST(Png, TruecolorImageOverManyBlocksDecodesAndWritesAtomically) {
  an::Image img(300, 120);  // 300 * 120 distinct colors -> truecolor, > 65535 raw bytes
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      img.set(x, y, {static_cast<uint8_t>(x), static_cast<uint8_t>(y), static_cast<uint8_t>((x * y) >> 4)});
  TempDir tmp;
  an::write_png(tmp / "t.png", img);
  const std::string f = as::read_file(tmp / "t.png");
  auto d = decode_png(f);
  EXPECT_EQ(d.color_type, 2);
  EXPECT_EQ(d.rgb, img.pixels());
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator{}), 1);  // no temp left
  // Cross-check with the real zlib when python3 is around (not required).
  if (as::test::run("command -v python3").code == 0) {
    auto r = as::test::run(
        "python3 -c \"import sys,zlib,struct\n"
        "f=open(sys.argv[1],'rb').read(); p=8; idat=b''\n"
        "while p<len(f):\n"
        "  n,=struct.unpack('>I',f[p:p+4]); t=f[p+4:p+8]; d=f[p+8:p+8+n]\n"
        "  assert struct.unpack('>I',f[p+8+n:p+12+n])[0]==zlib.crc32(t+d)\n"
        "  idat+=d if t==b'IDAT' else b''; p+=12+n\n"
        "print(len(zlib.decompress(idat)))\" " + q(tmp / "t.png"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(std::stoll(r.out), (300 * 3 + 1) * 120);
  }
}

// ---- histograms and stats

TEST(Histogram, CountsSumToNumelAndEdgesClamp) {
  auto x = torch::tensor({-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 7.0f, -9.0f});
  auto h = an::compute_histogram(x, 4, -1.0, 1.0);
  EXPECT_EQ(h.counts, (std::vector<int64_t>{2, 1, 1, 3}));
  EXPECT_EQ(h.total(), 7);
  EXPECT_DOUBLE_EQ(h.bin_center(0), -0.75);

  torch::manual_seed(0);
  auto r = torch::randn({123, 457}).to(torch::kBFloat16);
  const double m = an::symmetric_range({r});
  auto hr = an::compute_histogram(r, 256, -m, m);
  EXPECT_EQ(hr.total(), r.numel());
  EXPECT_GT(hr.counts[0] + hr.counts[255], 0);  // the absmax lands in an edge bin

  EXPECT_THROW(an::compute_histogram(torch::tensor({1.0f, NAN}), 4, -1, 1, "t"), as::Error);
  EXPECT_THROW(an::compute_histogram(x, 4, 1, 1), as::Error);
  EXPECT_DOUBLE_EQ(an::symmetric_range({torch::zeros({3})}), 1.0);
}

TEST(Histogram, StatsOfKnownDistributions) {
  auto s = an::tensor_stats(torch::tensor({1.0f, -3.0f, 1.0f, 2.0f}));
  EXPECT_EQ(s.count, 4);
  EXPECT_DOUBLE_EQ(s.min, -3.0);
  EXPECT_DOUBLE_EQ(s.max, 2.0);
  EXPECT_DOUBLE_EQ(s.absmax, 3.0);
  EXPECT_DOUBLE_EQ(s.mean, 0.25);
  EXPECT_EQ(s.distinct, 3);

  torch::manual_seed(1);
  auto g = torch::randn({200000});
  auto sg = an::tensor_stats(g);
  EXPECT_NEAR(sg.std, 1.0, 0.01);
  EXPECT_NEAR(sg.kurtosis, 3.0, 0.1);
  EXPECT_LT(sg.outlier_fraction, 1e-4);
  // A few huge outliers: heavy tails show up in kurtosis and the 6-sigma fraction.
  auto o = g.clone();
  o.index_put_({torch::arange(0, 200000, 1000)}, 100.0f);
  auto so = an::tensor_stats(o);
  EXPECT_GT(so.kurtosis, 50.0);
  EXPECT_NEAR(so.outlier_fraction, 200.0 / 200000, 1e-9);
  auto c = an::tensor_stats(torch::full({5}, 2.0f));
  EXPECT_EQ(c.kurtosis, 0.0);
  EXPECT_EQ(c.distinct, 1);
  EXPECT_THROW(an::tensor_stats(torch::empty({0})), as::Error);

  auto e = an::qdq_error(torch::tensor({1.0f, 2.0f}), torch::tensor({1.0f, 1.0f}));
  EXPECT_DOUBLE_EQ(e.mse, 0.5);
  EXPECT_DOUBLE_EQ(e.relative_mse, 0.5 / 2.5);
  EXPECT_THROW(an::qdq_error(torch::zeros({2}), torch::zeros({3})), as::Error);
}

TEST(Histogram, FigureDrawsBothPanels) {
  torch::manual_seed(2);
  auto x = torch::randn({4096});
  const double m = an::symmetric_range({x});
  an::HistogramFigure fig;
  fig.title = "TEST";
  fig.subtitle = "SUB";
  fig.panels.push_back({"A", an::kOriginalColor, an::compute_histogram(x, 64, -m, m), an::tensor_stats(x), ""});
  fig.panels.push_back({"B", an::kQuantizedColor, an::compute_histogram(x.round(), 64, -m, m), an::tensor_stats(x.round()), "X"});
  fig.plot_width = 256;
  fig.plot_height = 100;
  auto img = an::render_histogram_figure(fig);
  EXPECT_GT(img.width(), 256);
  EXPECT_GT(img.height(), 200);
  auto d = decode_png(an::encode_png(img));
  EXPECT_TRUE(has_color(d, an::kOriginalColor));
  EXPECT_TRUE(has_color(d, an::kQuantizedColor));
  fig.panels[1].hist.counts.pop_back();
  EXPECT_THROW(an::render_histogram_figure(fig), as::Error);
}

// ---- the model side, in process

TEST(ScaleAnalysis, FindsLinearsAndCollectsTheirInputs) {
  auto model = as::Model::load(stories());
  auto names = an::linear_names(*model);
  EXPECT_EQ(names.size(), 7u * model->num_layers());
  auto& down = an::find_linear(*model, "model.layers.0.mlp.down_proj");
  EXPECT_EQ(down.name, "model.layers.0.mlp.down_proj");
  for (const std::string bad : {"model.layers.0.mlp.nope", "model.layers.99.mlp.down_proj", "lm_head", "model.layers.x.mlp.up_proj"}) {
    try {
      an::find_linear(*model, bad);
      ADD_FAILURE() << bad;
    } catch (const as::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'" + bad + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("mlp.down_proj"), std::string::npos) << msg;
      EXPECT_NE(msg.find("self_attn.q_proj"), std::string::npos) << msg;
      EXPECT_NE(msg.find("0.." + std::to_string(model->num_layers() - 1)), std::string::npos) << msg;
    }
  }
  auto ids = torch::randint(3, 500, {2, 9}, torch::kLong);
  auto x = an::collect_linear_inputs(*model, "model.layers.1.self_attn.o_proj", ids);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{18, model->layer(1).o.w.size(1)}));
  // The same inputs as the full forward pass sees.
  torch::Tensor seen;
  as::ForwardHooks hooks;
  hooks.on_linear_input = [&](const std::string& n, const torch::Tensor& t) {
    if (n == "model.layers.1.self_attn.o_proj") seen = t.reshape({-1, t.size(-1)}).clone();
  };
  model->forward(ids, nullptr, &hooks);
  ASSERT_TRUE(seen.defined());
  EXPECT_TRUE(torch::allclose(x, seen, 1e-4, 1e-5)) << (x - seen).abs().max().item<float>();  // batched vs row by row
}

// ---- the command

TEST(AnalyzeCli, WeightsAndActivationsEndToEnd) {
  TempDir tmp;
  const std::string layer = "model.layers.0.mlp.down_proj";
  auto r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) + " --layer " + layer + " --data " +
                         q(tinystories()) + " --samples 3 --seq-len 64 --out " + q(tmp / "a") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const std::string f : {"weights_hist.png", "activations_hist.png"}) {
    auto d = decode_png(as::read_file(tmp / ("a/" + f)));
    EXPECT_GT(d.width, 1000) << f;
    EXPECT_TRUE(has_color(d, an::kOriginalColor)) << f;
    EXPECT_TRUE(has_color(d, an::kQuantizedColor)) << f;
  }
  json s = read_json(tmp / "a/summary.json");
  EXPECT_EQ(s["layer"], layer);

  const json& w = s["weight"];
  const int64_t wn = w["shape"][0].get<int64_t>() * w["shape"][1].get<int64_t>();
  EXPECT_EQ(w["original"]["count"], wn);
  EXPECT_EQ(w["after"]["scheme"], "fp8_e4m3_per_channel");
  EXPECT_GT(w["qdq_relative_mse"].get<double>(), 0.0);
  EXPECT_LT(w["qdq_relative_mse"].get<double>(), 5e-3);
  EXPECT_GT(w["qdq_mse"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(w["quantized"]["absmax"].get<double>(), w["original"]["absmax"].get<double>());  // amax maps to 448
  EXPECT_LE(w["quantized"]["distinct_values"].get<int64_t>(), w["original"]["distinct_values"].get<int64_t>());
  EXPECT_GT(w["original"]["std"].get<double>(), 0.0);
  EXPECT_GT(w["original"]["kurtosis"].get<double>(), 1.0);
  EXPECT_EQ(sum(w["histogram"]["counts_original"]), wn);
  EXPECT_EQ(sum(w["histogram"]["counts_quantized"]), wn);
  EXPECT_EQ(w["histogram"]["counts_original"].size(), 256u);

  const json& a = s["activations"];
  ASSERT_TRUE(a.is_object());
  EXPECT_EQ(a["tokens"].get<int64_t>(), a["samples"].get<int64_t>() * 64);
  EXPECT_EQ(a["samples"], 3);
  const int64_t an_ = a["tokens"].get<int64_t>() * a["features"].get<int64_t>();
  EXPECT_EQ(a["features"], w["shape"][1]);
  EXPECT_EQ(a["original"]["count"], an_);
  EXPECT_EQ(sum(a["histogram"]["counts_original"]), an_);
  EXPECT_EQ(sum(a["histogram"]["counts_quantized"]), an_);
  EXPECT_GT(a["qdq_relative_mse"].get<double>(), 0.0);
  EXPECT_LT(a["qdq_relative_mse"].get<double>(), 5e-3);
  EXPECT_NEAR(a["after"]["scale"].get<double>(), a["original"]["absmax"].get<double>() / 448.0, 1e-9);
  EXPECT_LE(a["quantized"]["distinct_values"].get<int64_t>(), 253);  // E4M3FN has 253 finite values
  EXPECT_GT(a["original"]["distinct_values"].get<int64_t>(), 253);
  EXPECT_GE(a["original"]["outlier_fraction_6sigma"].get<double>(), 0.0);

  // --json prints the same summary.
  auto end = r.out.find_last_not_of('\n');
  auto start = r.out.rfind('\n', end);
  json printed = json::parse(r.out.substr(start == std::string::npos ? 0 : start + 1));
  EXPECT_EQ(printed["weight"]["qdq_mse"], w["qdq_mse"]);
}

TEST(AnalyzeCli, WeightsOnlyWithoutDataAndUnknownLayerError) {
  TempDir tmp;
  auto r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) +
                         " --layer model.layers.2.self_attn.k_proj --out " + q(tmp / "w"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "w/weights_hist.png"));
  EXPECT_FALSE(fs::exists(tmp / "w/activations_hist.png"));
  json s = read_json(tmp / "w/summary.json");
  EXPECT_TRUE(s["activations"].is_null());
  EXPECT_GT(s["weight"]["qdq_relative_mse"].get<double>(), 0.0);

  r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) +
                    " --layer model.layers.0.mlp.down --out " + q(tmp / "x"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("angelslim: error: model has no linear 'model.layers.0.mlp.down'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mlp.down_proj"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp / "x/summary.json"));
}

TEST(AnalyzeCli, QuantizedCheckpointWeightIsTheAfterSide) {
  TempDir tmp;
  std::ofstream(tmp / "job.yaml") << "global: {output_dir: " << tmp / "q" << "}\n"
                                  << "model: {path: " << stories() << "}\n"
                                  << "compression:\n  quantization: {name: fp8_dynamic}\n";
  auto r = as::test::run(as::test::cli_bin() + " run --config " + q(tmp / "job.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string layer = "model.layers.1.mlp.gate_proj";
  r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) + " --layer " + layer + " --out " +
                    q(tmp / "fresh"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) + " --quantized " + q(tmp / "q/model") +
                    " --layer " + layer + " --out " + q(tmp / "ckpt"));
  ASSERT_EQ(r.code, 0) << r.out;
  json fresh = read_json(tmp / "fresh/summary.json")["weight"];
  json ckpt = read_json(tmp / "ckpt/summary.json")["weight"];
  EXPECT_EQ(ckpt["after"]["source"], "quantized_checkpoint");
  EXPECT_EQ(ckpt["after"]["checkpoint"], tmp / "q/model");
  // fp8_dynamic stores per-channel E4M3 weights, like the fresh QDQ; only the stored scales are
  // rounded (bf16), so the error is about the same but the values are not bit-identical.
  EXPECT_EQ(ckpt["original"], fresh["original"]);
  EXPECT_GT(ckpt["qdq_relative_mse"].get<double>(), 0.0);
  EXPECT_NEAR(ckpt["qdq_relative_mse"].get<double>(), fresh["qdq_relative_mse"].get<double>(),
              0.05 * fresh["qdq_relative_mse"].get<double>());
  EXPECT_NEAR(ckpt["quantized"]["absmax"].get<double>(), fresh["quantized"]["absmax"].get<double>(),
              0.01 * fresh["quantized"]["absmax"].get<double>());
  EXPECT_EQ(sum(ckpt["histogram"]["counts_quantized"]), ckpt["original"]["count"].get<int64_t>());
  EXPECT_NE(ckpt["histogram"]["counts_quantized"], ckpt["histogram"]["counts_original"]);
  EXPECT_TRUE(fs::exists(tmp / "ckpt/weights_hist.png"));

  r = as::test::run(as::test::cli_bin() + " analyze --model " + q(stories()) + " --quantized " + q(tmp / "nope") +
                    " --layer " + layer + " --out " + q(tmp / "bad"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
}

}  // namespace
