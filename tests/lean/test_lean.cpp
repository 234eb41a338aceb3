// Lean runtime: pack stories260K (converted to an HF directory with the torch-free llama2.c reader)
// and compare against the float32 reference goldens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "io/gguf/gguf.h"
#include "io/llama2c.h"
#include "runtime/lean/lean.h"
#include "runtime/lean/weights.h"

namespace fs = std::filesystem;
using namespace as;

namespace {

const std::string kShared = ANGELSLIM_SHARED_DIR;

// stories260K as an HF llama directory (q/k rows permuted to the rotate-half layout), once.
std::string hf_dir() {
  static std::string dir = [] {
    const std::string d = (fs::temp_directory_path() / ("lean_test_hf_" + std::to_string(::getpid()))).string();
    auto ck = read_llama2c(kShared + "/models/stories260K/stories260K.bin");
    const auto& h = ck.h;
    const int64_t D = h.dim, F = h.hidden_dim, V = h.vocab_size, KV = ck.kv_dim(), hd = ck.head_dim();
    SafetensorsWriter w;
    auto mat = [&](const std::string& n, const float* p, int64_t r, int64_t c) { w.add(n, DType::F32, {r, c}, p); };
    auto vec = [&](const std::string& n, const float* p, int64_t c) { w.add(n, DType::F32, {c}, p); };
    auto permuted = [&](const std::string& n, const float* p, int64_t heads) {
      std::vector<float> o(size_t(heads * hd * D));
      for (int64_t hh = 0; hh < heads; ++hh)
        for (int64_t j = 0; j < hd / 2; ++j)
          for (int64_t par = 0; par < 2; ++par)
            std::memcpy(&o[size_t((hh * hd + j + par * hd / 2) * D)], p + (hh * hd + 2 * j + par) * D, size_t(D) * 4);
      w.add(n, DType::F32, {heads * hd, D}, o.data());
    };
    mat("model.embed_tokens.weight", ck.token_embedding, V, D);
    for (int64_t l = 0; l < h.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      vec(p + "input_layernorm.weight", ck.rms_att + l * D, D);
      vec(p + "post_attention_layernorm.weight", ck.rms_ffn + l * D, D);
      permuted(p + "self_attn.q_proj.weight", ck.wq + l * D * D, h.n_heads);
      permuted(p + "self_attn.k_proj.weight", ck.wk + l * KV * D, h.n_kv_heads);
      mat(p + "self_attn.v_proj.weight", ck.wv + l * KV * D, KV, D);
      mat(p + "self_attn.o_proj.weight", ck.wo + l * D * D, D, D);
      mat(p + "mlp.gate_proj.weight", ck.w1 + l * F * D, F, D);
      mat(p + "mlp.down_proj.weight", ck.w2 + l * D * F, D, F);
      mat(p + "mlp.up_proj.weight", ck.w3 + l * F * D, F, D);
    }
    vec("model.norm.weight", ck.rms_final, D);
    if (!h.shared_classifier) mat("lm_head.weight", ck.wcls, V, D);
    fs::create_directories(d);
    w.write(d + "/model.safetensors");
    nlohmann::json cfg{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", D},
                       {"intermediate_size", F}, {"num_hidden_layers", h.n_layers}, {"num_attention_heads", h.n_heads},
                       {"num_key_value_heads", h.n_kv_heads}, {"vocab_size", V}, {"max_position_embeddings", h.seq_len},
                       {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"tie_word_embeddings", h.shared_classifier},
                       {"bos_token_id", 1}, {"eos_token_id", 2}};
    write_file_atomic(d + "/config.json", cfg.dump(2));
    write_file_atomic(d + "/tokenizer.bin", read_file(kShared + "/models/stories260K/tok512.bin"));
    return d;
  }();
  return dir;
}

// Removes the temporary directories at exit.
struct Cleanup : ::testing::Environment {
  void TearDown() override {
    const std::string base = "lean_test_hf_" + std::to_string(::getpid());
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec))
      if (e.path().filename().string().rfind(base, 0) == 0) fs::remove_all(e.path(), ec);
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

std::string packed_dir(const std::string& type, const std::string& lm_head) {
  const std::string out = hf_dir() + "_" + type + "_" + lm_head;
  if (!fs::exists(out + "/config.json")) lean::pack_model(hf_dir(), out, {type, lm_head});
  return out;
}

struct Goldens {
  std::vector<int32_t> ids;
  std::vector<std::vector<float>> logits;
  std::vector<int32_t> greedy;
};
const Goldens& goldens() {
  static Goldens g = [] {
    Goldens g;
    auto lj = nlohmann::json::parse(read_file(kShared + "/goldens/stories260K_logits.json"));
    g.ids = lj["ids"].get<std::vector<int32_t>>();
    g.logits = lj["logits"].get<std::vector<std::vector<float>>>();
    auto gj = nlohmann::json::parse(read_file(kShared + "/goldens/stories260K_greedy.json"));
    for (const auto& e : gj)
      if (e["prompt"] == "") g.greedy = e["greedy_ids"].get<std::vector<int32_t>>();
    return g;
  }();
  return g;
}

float max_logit_diff(lean::LeanModel& m) {
  const auto& g = goldens();
  m.reset();
  const float* lg = m.forward(g.ids.data(), int64_t(g.ids.size()), true);
  const int64_t V = m.config().vocab;
  float md = 0;
  for (size_t i = 0; i < g.logits.size(); ++i)
    for (int64_t v = 0; v < V; ++v) md = std::max(md, std::fabs(lg[int64_t(i) * V + v] - g.logits[i][size_t(v)]));
  return md;
}

std::vector<int32_t> greedy(lean::LeanModel& m, int n) {
  m.reset();
  lean::GenOptions o;
  o.max_new_tokens = n;
  o.stop_at_eos = false;
  return lean::generate(m, nullptr, {1}, o).ids;
}

}  // namespace

TEST(Lean, F32PassthroughMatchesGoldens) {
  lean::LeanModel m(packed_dir("f32", "f32"), 256, kernels::KvType::F32);
  EXPECT_EQ(m.packed_type(), "f32");
  EXPECT_LT(max_logit_diff(m), 1e-4f);
  auto ids = greedy(m, 60);
  const auto& g = goldens().greedy;
  ASSERT_GE(g.size(), 60u);
  EXPECT_EQ(ids, std::vector<int32_t>(g.begin(), g.begin() + 60));
}

TEST(Lean, Q8MatchesGoldens) {
  const std::string dir = packed_dir("q8_g32", "q8_g32");
  EXPECT_TRUE(lean::is_packed_dir(dir));
  EXPECT_FALSE(lean::is_packed_dir(hf_dir()));
  auto cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
  // down_proj has K = 172, not a multiple of 32: split into 160 q8_g32 columns and a 12-column F32 tail.
  EXPECT_EQ(cfg["angelslim_packed"]["f32_linears"].size(), 0u);
  EXPECT_EQ(cfg["angelslim_packed"]["split_linears"]["model.layers.0.mlp.down_proj"]["k_main"], 160);
  lean::LeanModel m(dir, 256);
  const float d = max_logit_diff(m);
  std::printf("q8_g32 max |logit - golden| = %g\n", d);
  // Weights and activations both go through int8 (W8A8), on a 64-wide model: logits span about
  // [-7, 9]; the measured worst case is ~0.33.
  EXPECT_LT(d, 0.5f);
  auto ids = greedy(m, 20);
  const auto& g = goldens().greedy;
  EXPECT_EQ(ids, std::vector<int32_t>(g.begin(), g.begin() + 20));
}

// Logits of two models on the golden prompt: max |a - b| relative to max |a|.
float rel_logit_diff(lean::LeanModel& a, lean::LeanModel& b) {
  const auto& g = goldens();
  const int64_t V = a.config().vocab, n = int64_t(g.ids.size());
  a.reset();
  b.reset();
  const float* la = a.forward(g.ids.data(), n, true);
  std::vector<float> ka(la, la + n * V);
  const float* lb = b.forward(g.ids.data(), n, true);
  float md = 0, mx = 0;
  for (int64_t i = 0; i < n * V; ++i) md = std::max(md, std::fabs(ka[size_t(i)] - lb[i])), mx = std::max(mx, std::fabs(ka[size_t(i)]));
  return md / mx;
}

// Runs open() with the environment variable `var` set to "0" (a load-time switch), then unsets it.
template <class Open>
auto open_with_off(const char* var, Open open) {
  ::setenv(var, "0", 1);
  auto m = open();
  ::unsetenv(var);
  return m;
}

// Opens the same model twice: linears in their interleaved layout (rows8 / rows32, the default) and
// in the row layout (ANGELSLIM_INTERLEAVE=0). Same int8 activations and integer dots: only fp32 summation order differs.
template <class Open>
void expect_interleaved_equivalent(Open open, int64_t want_interleaved) {
  auto a = open();
  auto b = open_with_off("ANGELSLIM_INTERLEAVE", open);
  EXPECT_EQ(a->interleaved_linears(), want_interleaved);
  EXPECT_EQ(b->interleaved_linears(), 0);
  EXPECT_LT(rel_logit_diff(*a, *b), 1e-5f);
  EXPECT_EQ(greedy(*a, 20), greedy(*b, 20));
}

// q4_g32 packed: q/k/v/o (N = 64 or 32), down_proj's 160-column main part (N = 64) and lm_head
// (N = 512) go to rows8; gate/up (N = 172, not a multiple of 8) stay in the row layout.
TEST(Lean, Q4Rows8MatchesTheRowLayout) {
  const std::string dir = packed_dir("q4_g32", "q4_g32");
  expect_interleaved_equivalent([&] { return std::make_unique<lean::LeanModel>(dir, 256); }, 5 * 5 + 1);
}

// sherry125_pc packed: only down_proj has K >= 128 (its 128-column main part, N = 64), and it moves
// to the 32-row table-lookup layout (rows32). The table-lookup kernel sums the same integers as the
// row kernel, so again only fp32 summation order differs.
TEST(Lean, SherryRows32MatchesTheRowLayout) {
  const std::string dir = packed_dir("sherry125_pc", "q8_g32");
  expect_interleaved_equivalent([&] { return std::make_unique<lean::LeanModel>(dir, 256); }, 5);
}

// q/k/v and gate/up fused into one matrix per group (the default) compute what the separate
// linears compute: every output row is the same row dot product, only the task split differs.
TEST(Lean, FusedLinearsMatchSeparateOnes) {
  for (const char* type : {"q8_g32", "q4_g32"}) {
    const std::string dir = packed_dir(type, "q8_g32");
    lean::LeanModel fused(dir, 256);
    auto separate = open_with_off("ANGELSLIM_FUSE", [&] { return std::make_unique<lean::LeanModel>(dir, 256); });
    EXPECT_LT(rel_logit_diff(fused, *separate), 1e-6f) << type;
    EXPECT_EQ(greedy(fused, 20), greedy(*separate, 20)) << type;
  }
}

// qwen2-style q/k/v biases: the fused matrix carries each part's bias at its offset. The same
// model with random biases added, packed, run fused and separate; the biases must matter.
TEST(Lean, FusedQkvCarriesEachPartsBias) {
  const std::string src = hf_dir() + "_bias", out = src + "_q8";
  if (!fs::exists(out + "/config.json")) {
    SafetensorsFile f(hf_dir() + "/model.safetensors");
    SafetensorsWriter w;
    for (const auto& n : f.names()) {
      const TensorView& t = f.get(n);
      w.add(n, t.dtype, t.shape, t.data);
    }
    uint64_t st = 7;
    for (const auto& n : f.names()) {
      const auto pos = n.find("_proj.weight");
      const std::string base = n.substr(0, pos);
      if (pos == std::string::npos || base.find("self_attn.") == std::string::npos || base.find("o_proj") != std::string::npos)
        continue;
      std::vector<float> b(size_t(f.get(n).shape[0]));
      for (auto& v : b) v = float(int((st = st * 6364136223846793005ull + 1442695040888963407ull) >> 54) - 512) / 2048.0f;
      w.add(base + "_proj.bias", DType::F32, {int64_t(b.size())}, b.data());
    }
    fs::create_directories(src);
    w.write(src + "/model.safetensors");
    for (const char* c : {"config.json", "tokenizer.bin"}) write_file_atomic(src + "/" + c, read_file(hf_dir() + "/" + c));
    lean::pack_model(src, out, {"q8_g32", "q8_g32"});
  }
  lean::LeanModel fused(out, 256);
  auto separate = open_with_off("ANGELSLIM_FUSE", [&] { return std::make_unique<lean::LeanModel>(out, 256); });
  EXPECT_LT(rel_logit_diff(fused, *separate), 1e-6f);
  lean::LeanModel no_bias(packed_dir("q8_g32", "q8_g32"), 256);
  EXPECT_GT(rel_logit_diff(fused, no_bias), 1e-2f);
}

TEST(Lean, PrefillEqualsTokenByToken) {
  lean::LeanModel m(packed_dir("q8_g32", "q8_g32"), 256);
  const auto& g = goldens();
  const int64_t V = m.config().vocab, n = int64_t(g.ids.size());
  const float* lg = m.forward(g.ids.data(), n, true);
  std::vector<float> batch(lg, lg + n * V);
  m.reset();
  int64_t flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* one = m.forward(&g.ids[size_t(i)], 1);
    // Same integer arithmetic, different fp32 summation order (GEMM tiles vs GEMV). A last-bit
    // difference can flip one int8 activation rounding in a later layer, which on this 64-wide
    // model moves logits by up to ~0.2 (measured): most positions must agree to 2e-3, none by more
    // than 0.3, and every argmax must be the same.
    float md = 0;
    for (int64_t v = 0; v < V; ++v) md = std::max(md, std::fabs(one[v] - batch[size_t(i * V + v)]));
    EXPECT_LT(md, 0.3f) << "pos " << i;
    flipped += md > 2e-3f;
    EXPECT_EQ(std::max_element(one, one + V) - one,
              std::max_element(&batch[size_t(i * V)], &batch[size_t(i * V + V)]) - &batch[size_t(i * V)])
        << "pos " << i;
  }
  EXPECT_LE(flipped, n / 4);
}

TEST(Lean, SeededSamplingIsReproducible) {
  lean::LeanModel m(packed_dir("q8_g32", "q8_g32"), 256);
  lean::GenOptions o;
  o.max_new_tokens = 30;
  o.stop_at_eos = false;
  o.sampling = {0.8f, 40, 0.95f, 7};
  m.reset();
  auto a = lean::generate(m, nullptr, {1}, o).ids;
  m.reset();
  auto b = lean::generate(m, nullptr, {1}, o).ids;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 30u);
}

TEST(Lean, PackRejectsUnknownType) {
  EXPECT_THROW(lean::pack_model(hf_dir(), hf_dir() + "_bad", {"q9_bogus", "f32"}), as::Error);
}

// ---- GGUF files on the lean runtime ----
namespace {

// stories260K as a GGUF in llama.cpp's llama layout: the llama2.c q/k rows are already ordered for
// RoPE over adjacent pairs, which is what llama.cpp stores. Linears whose K is a multiple of 32 get
// `type`, the rest (down_proj, K = 172) F32. Written with the torch-free GGUF writer.
std::string stories_gguf(gguf::GGMLType type, const std::string& tag, bool bad_q_shape = false) {
  const std::string path = hf_dir() + "_" + tag + ".gguf";
  auto ck = read_llama2c(kShared + "/models/stories260K/stories260K.bin");
  const auto& h = ck.h;
  const int64_t D = h.dim, F = h.hidden_dim, V = h.vocab_size, KV = ck.kv_dim();
  gguf::GGUFWriter w;
  w.add_kv("general.architecture", std::string("llama"));
  auto mat = [&](const std::string& n, const float* p, int64_t rows, int64_t cols) {
    const gguf::GGMLType t = cols % 32 == 0 ? type : gguf::GGMLType::F32;
    w.add_tensor_from_f32(n, t, {cols, rows}, p);
  };
  auto vec = [&](const std::string& n, const float* p, int64_t c) {
    w.add_tensor_from_f32(n, gguf::GGMLType::F32, {c}, p);
  };
  mat("token_embd.weight", ck.token_embedding, V, D);
  for (int64_t l = 0; l < h.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vec(p + "attn_norm.weight", ck.rms_att + l * D, D);
    vec(p + "ffn_norm.weight", ck.rms_ffn + l * D, D);
    mat(p + "attn_q.weight", ck.wq + l * D * D, bad_q_shape ? D - 32 : D, D);
    mat(p + "attn_k.weight", ck.wk + l * KV * D, KV, D);
    mat(p + "attn_v.weight", ck.wv + l * KV * D, KV, D);
    mat(p + "attn_output.weight", ck.wo + l * D * D, D, D);
    mat(p + "ffn_gate.weight", ck.w1 + l * F * D, F, D);
    mat(p + "ffn_down.weight", ck.w2 + l * D * F, D, F);
    mat(p + "ffn_up.weight", ck.w3 + l * F * D, F, D);
  }
  vec("output_norm.weight", ck.rms_final, D);
  w.write(path);
  return path;
}

lean::LeanConfig stories_config() {
  return lean::parse_config(nlohmann::json::parse(read_file(hf_dir() + "/config.json")), "stories260K");
}

}  // namespace

TEST(LeanGguf, F32FileMatchesGoldens) {
  auto f = std::make_shared<const gguf::GGUFFile>(stories_gguf(gguf::GGMLType::F32, "f32"));
  lean::LeanModel m(f, stories_config(), /*rope_adjacent=*/true, 256, kernels::KvType::F32);
  EXPECT_EQ(m.packed_type(), "gguf:f32");
  EXPECT_LT(max_logit_diff(m), 1e-4f);
  auto ids = greedy(m, 60);
  const auto& g = goldens().greedy;
  EXPECT_EQ(ids, std::vector<int32_t>(g.begin(), g.begin() + 60));
}

TEST(LeanGguf, Q8_0IsUsedInPlaceAndMatchesGoldens) {
  auto f = std::make_shared<const gguf::GGUFFile>(stories_gguf(gguf::GGMLType::Q8_0, "q8_0"));
  lean::LeanModel m(f, stories_config(), true, 256);
  EXPECT_EQ(m.packed_type(), "gguf:f32+q8_0");  // down_proj (K = 172) is F32
  EXPECT_EQ(m.lm_head_type(), "gguf:q8_0");     // tied: the Q8_0 embedding, in place
  EXPECT_TRUE(m.load_notes().empty());
  EXPECT_LT(max_logit_diff(m), 0.5f);
  auto ids = greedy(m, 20);
  const auto& g = goldens().greedy;
  EXPECT_EQ(ids, std::vector<int32_t>(g.begin(), g.begin() + 20));
  // Without the adjacent-pair RoPE the same file computes something else.
  lean::LeanModel wrong(f, stories_config(), false, 256);
  EXPECT_GT(max_logit_diff(wrong), 0.5f);
}

// An F16 GGUF: its F16 linears are used in place as the f16 packed type (not widened to fp32).
TEST(LeanGguf, F16IsUsedInPlaceAndMatchesGoldens) {
  auto f = std::make_shared<const gguf::GGUFFile>(stories_gguf(gguf::GGMLType::F16, "f16"));
  lean::LeanModel m(f, stories_config(), true, 256);
  EXPECT_EQ(m.packed_type(), "gguf:f16+f32");  // down_proj (K = 172) is F32
  EXPECT_EQ(m.lm_head_type(), "gguf:f16");      // tied: the F16 embedding, in place
  EXPECT_TRUE(m.load_notes().empty());
  EXPECT_LT(max_logit_diff(m), 0.05f);
  auto ids = greedy(m, 40);
  const auto& g = goldens().greedy;
  EXPECT_EQ(ids, std::vector<int32_t>(g.begin(), g.begin() + 40));
}

// A Q4_0 GGUF: its Q4_0 linears move to rows8 at load (the tied output stays readable for the
// embedding rows) and compute what the in-place row layout computes.
TEST(LeanGguf, Q4_0Rows8MatchesTheRowLayout) {
  auto f = std::make_shared<const gguf::GGUFFile>(stories_gguf(gguf::GGMLType::Q4_0, "q4_0"));
  expect_interleaved_equivalent([&] { return std::make_unique<lean::LeanModel>(f, stories_config(), true, 256); },
                          5 * 4 + 1);
}

TEST(LeanGguf, WrongTensorShapeNamesTheTensor) {
  auto f = std::make_shared<const gguf::GGUFFile>(stories_gguf(gguf::GGMLType::F32, "bad", true));
  try {
    lean::LeanModel m(f, stories_config(), true, 256);
    FAIL() << "no error";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
}

// The loader repacks TQ2_0 / TQ1_0 into tern2_g128 and calls that exact: check it on random ternary
// rows with one scale per 256 weights (what those formats hold).
TEST(LeanGguf, TernaryGgufRepackIsExact) {
  const int64_t N = 6, K = 512;
  std::vector<float> w(size_t(N * K));
  uint64_t s = 99;
  auto rnd = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (int64_t b = 0; b < N * K / 256; ++b) {
    const float d = 0.01f + float(rnd() % 1000) * 1e-4f;
    for (int64_t i = 0; i < 256; ++i) w[size_t(b * 256 + i)] = float(int(rnd() % 3) - 1) * d;
  }
  for (gguf::GGMLType t : {gguf::GGMLType::TQ2_0, gguf::GGMLType::TQ1_0}) {
    const auto bytes = gguf::quantize(t, w.data(), N * K);
    std::vector<float> deq(w.size()), back(w.size());
    gguf::dequantize(t, bytes.data(), deq.data(), N * K);
    std::vector<uint8_t> p(packed::packed_bytes(packed::QuantType::TERN2_G128, N, K));
    packed::quantize_rows(packed::QuantType::TERN2_G128, deq.data(), N, K, p.data());
    packed::dequantize_rows(packed::QuantType::TERN2_G128, p.data(), N, K, back.data());
    EXPECT_EQ(back, deq) << gguf::type_name(t);
  }
}

// The loader repacks STQ1_0 (3:4 sparse ternary, one scale per 256 weights) into sherry125_g128 and
// calls that exact: check it on random STQ1_0 rows.
TEST(LeanGguf, Stq1_0RepackIsExact) {
  const int64_t N = 4, K = 512;
  std::vector<float> w(size_t(N * K));
  uint64_t s = 5;
  auto rnd = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (auto& v : w) v = float(int64_t(rnd() % 2001) - 1000) * 1e-3f;
  const auto bytes = gguf::quantize(gguf::GGMLType::STQ1_0, w.data(), N * K);
  std::vector<float> deq(w.size()), back(w.size());
  gguf::dequantize(gguf::GGMLType::STQ1_0, bytes.data(), deq.data(), N * K);
  std::vector<uint8_t> p(packed::packed_bytes(packed::QuantType::SHERRY125_G128, N, K));
  packed::quantize_rows(packed::QuantType::SHERRY125_G128, deq.data(), N, K, p.data());
  packed::dequantize_rows(packed::QuantType::SHERRY125_G128, p.data(), N, K, back.data());
  EXPECT_EQ(back, deq);
}

// A one-layer llama (hidden 256, ffn 512) written as STQ1_0: every linear and the output load as
// sherry125_g128 in the rows32 layout, and the logits equal (up to int8 activations) those of the
// same weights written as F32 after STQ1_0 dequantization.
TEST(LeanGguf, Stq1_0FileRunsAsSherry) {
  const int64_t D = 256, F = 512, V = 512, H = 4;
  uint64_t s = 11;
  auto rnd = [&] { return float(int64_t((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33) % 2001 - 1000) * 1e-3f; };
  auto write = [&](const std::string& path, bool stq) {
    s = 11;
    gguf::GGUFWriter w;
    w.add_kv("general.architecture", std::string("llama"));
    auto mat = [&](const std::string& n, int64_t rows, int64_t cols, float scale) {
      std::vector<float> m(size_t(rows * cols));
      for (auto& v : m) v = rnd() * scale;
      if (!stq) {  // the values an STQ1_0 file holds
        const auto q = gguf::quantize(gguf::GGMLType::STQ1_0, m.data(), rows * cols);
        gguf::dequantize(gguf::GGMLType::STQ1_0, q.data(), m.data(), rows * cols);
      }
      w.add_tensor_from_f32(n, stq ? gguf::GGMLType::STQ1_0 : gguf::GGMLType::F32, {cols, rows}, m.data());
    };
    std::vector<float> ones(size_t(D), 1.0f), emb(size_t(V * D));
    for (auto& v : emb) v = rnd();
    w.add_tensor_from_f32("token_embd.weight", gguf::GGMLType::F32, {D, V}, emb.data());
    w.add_tensor_from_f32("blk.0.attn_norm.weight", gguf::GGMLType::F32, {D}, ones.data());
    w.add_tensor_from_f32("blk.0.ffn_norm.weight", gguf::GGMLType::F32, {D}, ones.data());
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) mat(std::string("blk.0.") + n + ".weight", D, D, 0.06f);
    mat("blk.0.ffn_gate.weight", F, D, 0.06f);
    mat("blk.0.ffn_up.weight", F, D, 0.06f);
    mat("blk.0.ffn_down.weight", D, F, 0.04f);
    w.add_tensor_from_f32("output_norm.weight", gguf::GGMLType::F32, {D}, ones.data());
    mat("output.weight", V, D, 0.06f);
    w.write(path);
  };
  const std::string a = hf_dir() + "_stq1_0.gguf", b = hf_dir() + "_stq1_0_f32.gguf";
  write(a, true);
  write(b, false);
  const auto cfg = lean::parse_config(nlohmann::json{{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", D},
                                                     {"intermediate_size", F}, {"num_hidden_layers", 1},
                                                     {"num_attention_heads", H}, {"num_key_value_heads", H},
                                                     {"vocab_size", V}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
                                                     {"max_position_embeddings", 256}},
                                      "stq1_0 test");
  lean::LeanModel ms(std::make_shared<const gguf::GGUFFile>(a), cfg, true, 64);
  lean::LeanModel mf(std::make_shared<const gguf::GGUFFile>(b), cfg, true, 64, kernels::KvType::F32);
  EXPECT_EQ(ms.interleaved_linears(), 8);  // 7 layer linears + output
  EXPECT_EQ(ms.packed_type(), "gguf:stq1_0");
  EXPECT_TRUE(ms.load_notes().empty());
  const std::vector<int32_t> ids{1, 7, 300, 42, 5, 511};
  const float* ls = ms.forward(ids.data(), int64_t(ids.size()), true);
  std::vector<float> ks(ls, ls + ids.size() * V);
  const float* lf = mf.forward(ids.data(), int64_t(ids.size()), true);
  float md = 0, mx = 0;
  for (size_t i = 0; i < ks.size(); ++i) md = std::max(md, std::fabs(ks[i] - lf[i])), mx = std::max(mx, std::fabs(lf[i]));
  std::printf("stq1_0 vs f32 of the same values: max |diff| %g of max |logit| %g\n", md, mx);
  EXPECT_GT(mx, 0.1f);
  EXPECT_LT(md, 0.03f * mx);  // int8 activations (and the fp16 KV cache) against fp32
}

// A random one-layer llama, hidden 256 / ffn 512 (every K a multiple of 256), as an HF directory.
std::string wide_hf_dir() {
  static std::string dir = [] {
    const std::string d = hf_dir() + "_wide";
    const int64_t D = 256, F = 512, V = 512;
    uint64_t s = 3;
    auto rnd = [&](float scale) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return float(int64_t(s >> 33) % 2001 - 1000) * 1e-3f * scale;
    };
    SafetensorsWriter w;
    auto mat = [&](const std::string& n, int64_t r, int64_t c, float scale) {
      std::vector<float> m(size_t(r * c));
      for (auto& v : m) v = rnd(scale);
      w.add(n, DType::F32, {r, c}, m.data());
    };
    std::vector<float> ones(size_t(D), 1.0f);
    mat("model.embed_tokens.weight", V, D, 1.0f);
    w.add("model.layers.0.input_layernorm.weight", DType::F32, {D}, ones.data());
    w.add("model.layers.0.post_attention_layernorm.weight", DType::F32, {D}, ones.data());
    for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"}) mat(std::string("model.layers.0.self_attn.") + n + ".weight", D, D, 0.1f);
    mat("model.layers.0.mlp.gate_proj.weight", F, D, 0.1f);
    mat("model.layers.0.mlp.up_proj.weight", F, D, 0.1f);
    mat("model.layers.0.mlp.down_proj.weight", D, F, 0.07f);
    w.add("model.norm.weight", DType::F32, {D}, ones.data());
    mat("lm_head.weight", V, D, 0.1f);
    fs::create_directories(d);
    w.write(d + "/model.safetensors");
    nlohmann::json cfg{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", D},
                       {"intermediate_size", F}, {"num_hidden_layers", 1}, {"num_attention_heads", 4},
                       {"num_key_value_heads", 4}, {"vocab_size", V}, {"max_position_embeddings", 256},
                       {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false},
                       {"bos_token_id", 1}, {"eos_token_id", 2}};
    write_file_atomic(d + "/config.json", cfg.dump(2));
    return d;
  }();
  return dir;
}

// The wide model packed as tern167_pc (lm_head q8_g32).
std::string wide_tern167_dir() {
  const std::string out = wide_hf_dir() + "_tern167_pc";
  if (!fs::exists(out + "/config.json")) lean::pack_model(wide_hf_dir(), out, {"tern167_pc", "q8_g32"});
  return out;
}

// The two models' logits for the first M of a fixed prompt, for each M, agree to rel * max |logit|.
void expect_same_logits(lean::LeanModel& a, lean::LeanModel& b, std::initializer_list<int64_t> Ms, float rel) {
  const std::vector<int32_t> ids{1, 9, 300, 42, 77, 5, 6, 7, 8};
  const int64_t V = a.config().vocab;
  for (int64_t M : Ms) {
    a.reset();
    b.reset();
    const float* la = a.forward(ids.data(), M, true);
    std::vector<float> ka(la, la + M * V);
    const float* lb = b.forward(ids.data(), M, true);
    float md = 0, mx = 0;
    for (size_t i = 0; i < ka.size(); ++i) md = std::max(md, std::fabs(ka[i] - lb[i])), mx = std::max(mx, std::fabs(lb[i]));
    EXPECT_GT(mx, 0.1f);
    EXPECT_LT(md, rel * mx) << "M=" << M;
  }
}

// tern167_pc: on CPUs with AVX-512 VBMI every linear moves to the digit layout (packed.h) and
// computes what the row layout computes (same int8 activations and integer sums); elsewhere
// nothing moves and the two opens are the same model.
TEST(Lean, Tern167DigitLayoutMatchesTheRowLayout) {
  const std::string out = wide_tern167_dir();
  const int64_t want = packed::interleave_rows(packed::QuantType::TERN167_PC) == 1 ? 7 : 0;
  std::printf("tern167 digit layout %s here\n", want ? "used" : "not used (no AVX-512 VBMI)");
  auto open = [&] { return std::make_unique<lean::LeanModel>(out, 64); };
  auto a = open();
  auto b = open_with_off("ANGELSLIM_INTERLEAVE", open);
  EXPECT_EQ(a->interleaved_linears(), want);
  EXPECT_EQ(b->interleaved_linears(), 0);
  expect_same_logits(*a, *b, {1, 5, 9}, 1e-5f);  // GEMV, small-M GEMV loop, tiled GEMM
}

// tern167_pc re-encoded as tern2_pc at load (the default on CPUs without AVX-512 VBMI, where the
// 2-bit kernels beat the base-3 decode; forced here with ANGELSLIM_RECODE=1 so every CPU runs it):
// the same weights, 64 bytes read per 256 weights instead of 52, the same model up to the activation
// blocks (int8 per 128 against per 256).
TEST(Lean, Tern167RecodedAsTern2RunsTheSameWeights) {
  const std::string out = wide_tern167_dir();
  auto open = [&](const char* recode) {
    ::setenv("ANGELSLIM_RECODE", recode, 1);
    std::unique_ptr<lean::LeanModel> m;
    try {
      m = std::make_unique<lean::LeanModel>(out, 64);
    } catch (...) {
      ::unsetenv("ANGELSLIM_RECODE");
      throw;
    }
    ::unsetenv("ANGELSLIM_RECODE");
    return m;
  };
  try {
    open("off");
    FAIL() << "ANGELSLIM_RECODE=off accepted";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ANGELSLIM_RECODE must be 0 or 1"), std::string::npos) << e.what();
  }
  auto a = open("1"), b = open("0");
  EXPECT_EQ(a->recoded_linears(), 7);  // the layer's linears (lm_head is q8_g32)
  EXPECT_EQ(b->recoded_linears(), 0);
  EXPECT_EQ(a->interleaved_linears(), 0);
  EXPECT_EQ(a->weight_bytes(), b->weight_bytes());  // the file
  // 12 more bytes per 256 weights: q/k/v/o and gate/up have K = 256 (256 + 256 + 256 + 256 + 512 +
  // 512 rows), down_proj K = 512 (256 rows).
  EXPECT_EQ(a->decode_bytes_per_token() - b->decode_bytes_per_token(), uint64_t(12 * 2048 + 24 * 256));
  expect_same_logits(*a, *b, {1, 9}, 0.02f);
}

// A 128-block type on a 64-wide model: K = 64 is not a multiple of 128, so those linears fall back to
// q8_g32 (listed per linear) and down_proj (K = 172, not a multiple of 32) stays F32; the runtime
// runs the mix.
// down_proj (K = 172 > 128) is split: 128 columns ternary, the last 44 in F32 (44 is not a multiple
// of 32). The split arithmetic is checked against dequantized weights in LeanSplit below; here the
// directory's bookkeeping and a run of the whole mix. (Round-to-nearest ternary of a pretrained
// float model is far from the float goldens, so they are not compared.)
TEST(Lean, LinearsThatDoNotFitTheBlockFallBackPerLinear) {
  const std::string dir = packed_dir("tern2_pc", "q8_g32");
  auto cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
  const auto& ap = cfg["angelslim_packed"];
  EXPECT_EQ(ap["f32_linears"].size(), 0u);
  ASSERT_EQ(ap["fallback_linears"].size(), 30u);
  EXPECT_EQ(ap["fallback_linears"]["model.layers.0.self_attn.q_proj"], "q8_g32");
  ASSERT_EQ(ap["split_linears"].size(), 5u);
  EXPECT_EQ(ap["split_linears"]["model.layers.4.mlp.down_proj"]["k_main"], 128);
  EXPECT_EQ(ap["split_linears"]["model.layers.4.mlp.down_proj"]["tail"], "f32");
  lean::LeanModel m(dir, 256);
  const float d = max_logit_diff(m);
  EXPECT_TRUE(std::isfinite(d));
  auto a = greedy(m, 20), b = greedy(m, 20);
  EXPECT_EQ(a, b);
  for (int32_t id : a) EXPECT_TRUE(id >= 0 && id < m.config().vocab);
}

// A split linear (first K0 columns packed, the rest a q8_g32 or fp32 tail) against the float
// product of its dequantized parts, for decode (M = 1) and prefill (M = 9, the tiled GEMM) rows.
namespace {
void check_split(packed::QuantType main_t, int64_t K0, int64_t Kt, bool tail_q8) {
  const int64_t N = 24, K = K0 + Kt;
  std::vector<float> w(size_t(N * K));
  uint64_t s = 5;
  auto rnd = [&] { return float(int((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 41) % 2001 - 1000) / 1000.0f; };
  for (auto& v : w) v = rnd();
  std::vector<float> wm(size_t(N * K0)), wt(size_t(N * Kt));
  for (int64_t n = 0; n < N; ++n) {
    std::copy_n(&w[size_t(n * K)], K0, &wm[size_t(n * K0)]);
    std::copy_n(&w[size_t(n * K + K0)], Kt, &wt[size_t(n * Kt)]);
  }
  lean::detail::Linear L;
  L.N = N, L.K = K, L.k_main = K0, L.is_packed = true, L.type = main_t;
  L.owned_packed.resize(packed::packed_bytes(main_t, N, K0));
  packed::quantize_rows(main_t, wm.data(), N, K0, L.owned_packed.data());
  L.data = L.owned_packed.data();
  std::vector<float> deq(size_t(N * K0));
  packed::dequantize_rows(main_t, L.data, N, K0, deq.data());
  L.tail = std::make_shared<lean::detail::Linear>();
  auto& T = *L.tail;
  T.N = N, T.K = Kt;
  std::vector<float> deqt = wt;
  if (tail_q8) {
    T.is_packed = true, T.type = packed::QuantType::Q8_G32;
    T.owned_packed.resize(packed::packed_bytes(T.type, N, Kt));
    packed::quantize_rows(T.type, wt.data(), N, Kt, T.owned_packed.data());
    T.data = T.owned_packed.data();
    packed::dequantize_rows(T.type, T.data, N, Kt, deqt.data());
  } else {
    T.owned = wt;
    T.data = reinterpret_cast<const uint8_t*>(T.owned.data());
  }
  for (int64_t M : {1, 9}) {
    std::vector<float> X(size_t(M * K)), Y(size_t(M * N));
    for (auto& v : X) v = rnd();
    L.apply(X.data(), M, Y.data());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < K0; ++k) ref += double(deq[size_t(n * K0 + k)]) * X[size_t(m * K + k)];
        for (int64_t k = 0; k < Kt; ++k) ref += double(deqt[size_t(n * Kt + k)]) * X[size_t(m * K + K0 + k)];
        for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(X[size_t(m * K + k)]));
        // int8 activations: at most half a step (max|x| / 254) per weight of magnitude <= 1.
        EXPECT_NEAR(Y[size_t(m * N + n)], ref, mag / 254.0 + 1e-4) << "M=" << M << " m=" << m << " n=" << n;
      }
  }
}
}  // namespace

TEST(LeanSplit, SplitLinearEqualsItsParts) {
  check_split(packed::QuantType::TERN2_PC, 256, 64, true);
  check_split(packed::QuantType::Q8_G32, 160, 12, false);
  check_split(packed::QuantType::Q4_G32, 64, 44, false);
}
