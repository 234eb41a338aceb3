// GGUF export and import without llama.cpp: metadata, tensor names and types, the llama q/k
// permutation, exact round trips through our codecs, llama3 rope recovery, and the tokenizers
// rebuilt from GGUF vocabularies against the Hugging Face / sentencepiece goldens.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "export/gguf_export.h"
#include "export/gguf_import.h"
#include "io/gguf/gguf.h"
#include "model/llama2c_import.h"
#include "model/model.h"
#include "model/synth.h"
#include "test_util.h"

using namespace as;
using as::gguf::GGMLType;
using as::gguf::GGUFFile;

namespace {

std::string stories_bin() { return test::shared("models/stories260K/stories260K.bin"); }

LoadOptions no_tok() {
  LoadOptions o;
  o.load_tokenizer = false;
  return o;
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong).view({1, -1});
}

torch::Tensor logits(Model& m, const std::vector<int64_t>& ids) { return m.forward(ids_tensor(ids))[0]; }

struct SynthSpec {
  std::string arch = "llama";
  int64_t hidden = 256, ffn = 512, layers = 2, heads = 4, kv_heads = 2, vocab = 320;
  bool tie = false;
  float init_std = 0.02f;
  std::string tokenizer;
  RopeScaling rope;
};

std::string synth(const std::string& dir, const SynthSpec& s) {
  const std::map<std::string, std::string> archs{
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  nlohmann::json cfg{{"architectures", {archs.at(s.arch)}},
                     {"hidden_size", s.hidden},
                     {"intermediate_size", s.ffn},
                     {"num_hidden_layers", s.layers},
                     {"num_attention_heads", s.heads},
                     {"num_key_value_heads", s.kv_heads},
                     {"vocab_size", s.vocab},
                     {"max_position_embeddings", 4096},
                     {"rms_norm_eps", 1e-6},
                     {"rope_theta", s.arch == "llama" ? 10000.0 : 1000000.0},
                     {"head_dim", s.hidden / s.heads},
                     {"tie_word_embeddings", s.tie}};
  if (s.tokenizer.empty()) cfg["eos_token_id"] = 256;
  SynthOptions o;
  o.config = parse_model_config(cfg, "synth");
  o.config.rope_scaling = s.rope;
  o.dtype = DType::F32;
  o.seed = 7;
  o.init_std = s.init_std;
  o.tokenizer = s.tokenizer;
  synth_model(dir, o);
  return dir;
}

GGUFExportResult export_file(const std::string& model_path, const std::string& out, GGMLType t, bool pure = false) {
  LoadOptions lo;
  lo.stream_layers = true;
  auto m = Model::load(model_path, lo);
  GGUFExportOptions o;
  o.type = t;
  o.pure = pure;
  return export_gguf(*m, out, o);
}

GGMLType type_in(const GGUFFile& f, const std::string& name) { return f.tensor(name).type; }

// Every tensor of `imported` equals the original after our own codec round trip (bit-exact).
void expect_codec_exact(const WeightStore& original, const WeightStore& imported, const GGUFFile& f,
                        const GGUFExportResult& r) {
  std::map<std::string, GGMLType> types;
  for (const auto& t : r.tensors) types[t.source] = t.type;
  for (const auto& name : imported.names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(types.count(name)) << "not in the export plan";
    auto orig = original.load(name, torch::kFloat32).contiguous();
    auto got = imported.load(name, torch::kFloat32);
    ASSERT_EQ(orig.sizes(), got.sizes());
    const GGMLType t = types[name];
    auto ref = torch::empty_like(orig);
    const int64_t n = orig.numel();
    auto bytes = gguf::quantize(t, orig.data_ptr<float>(), n);
    gguf::dequantize(t, bytes.data(), ref.data_ptr<float>(), n);
    EXPECT_TRUE(torch::equal(ref, got)) << "type " << gguf::type_name(t) << " max diff "
                                        << (ref - got).abs().max().item<float>();
  }
  (void)f;
}

}  // namespace

TEST(GGUFExport, PermutationIsTheInverseOfTheLlama2cOne) {
  auto w = torch::randn({8 * 6, 5});
  EXPECT_TRUE(torch::equal(permute_half_to_interleaved(permute_interleaved_to_half(w, 8), 8), w));
  EXPECT_TRUE(torch::equal(permute_interleaved_to_half(permute_half_to_interleaved(w, 4), 4), w));
  auto b = torch::arange(12, torch::kFloat32);  // 2 heads of 6: rotate-half pairs (0,3),(1,4),(2,5)
  auto p = permute_half_to_interleaved(b, 2);
  EXPECT_EQ(p.sizes(), b.sizes());
  const std::vector<float> want{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11};
  EXPECT_TRUE(torch::equal(p, torch::tensor(want)));
}

TEST(GGUFExport, StoriesMetadataTensorsAndTokenizer) {
  test::TempDir d;
  const std::string out = d / "s.gguf";
  auto r = export_file(stories_bin(), out, GGMLType::F32);
  EXPECT_EQ(r.architecture, "llama");
  EXPECT_EQ(r.file_type, 0u);
  GGUFFile f(out);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get<uint32_t>("llama.context_length"), 512u);
  EXPECT_EQ(f.get<uint32_t>("llama.embedding_length"), 64u);
  EXPECT_EQ(f.get<uint32_t>("llama.block_count"), 5u);
  EXPECT_EQ(f.get<uint32_t>("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f.get<uint32_t>("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.get<uint32_t>("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f.get<uint32_t>("llama.attention.key_length"), 8u);
  EXPECT_EQ(f.get<uint32_t>("llama.rope.dimension_count"), 8u);
  EXPECT_FLOAT_EQ(f.get<float>("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_FLOAT_EQ(f.get<float>("llama.rope.freq_base"), 10000.0f);
  EXPECT_FALSE(f.has("general.quantization_version"));
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  const auto& toks = f.value("tokenizer.ggml.tokens").get_strings();
  auto types = f.get_array<int32_t>("tokenizer.ggml.token_type");
  auto scores = f.get_array<float>("tokenizer.ggml.scores");
  ASSERT_EQ(toks.size(), 512u);
  ASSERT_EQ(types.size(), 512u);
  ASSERT_EQ(scores.size(), 512u);
  EXPECT_EQ(toks[0], "<unk>");
  EXPECT_EQ(toks[1], "<s>");
  EXPECT_EQ(toks[2], "</s>");
  EXPECT_EQ(toks[3], "<0x00>");
  EXPECT_EQ(toks[3 + 0x0A], "<0x0A>");
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[1], 3);
  EXPECT_EQ(types[2], 3);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(types[3 + b], 6);
  EXPECT_EQ(types[300], 1);
  for (const auto& t : toks) EXPECT_EQ(t.find(' '), std::string::npos) << "'" << t << "' keeps a plain space";
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.unknown_token_id"), 0u);
  EXPECT_TRUE(f.get<bool>("tokenizer.ggml.add_bos_token"));
  // Tied classifier: no output.weight; norms F32; 1 + 5*9 + 1 tensors.
  EXPECT_FALSE(f.has_tensor("output.weight"));
  EXPECT_EQ(f.tensors().size(), 47u);
  for (const char* n : {"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.4.attn_q.weight",
                        "blk.4.attn_k.weight", "blk.4.attn_v.weight", "blk.4.attn_output.weight",
                        "blk.4.ffn_norm.weight", "blk.4.ffn_gate.weight", "blk.4.ffn_up.weight",
                        "blk.4.ffn_down.weight"})
    EXPECT_TRUE(f.has_tensor(n)) << n;
  EXPECT_EQ(f.tensor("token_embd.weight").ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(f.tensor("blk.0.attn_k.weight").ne, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(f.tensor("blk.0.ffn_down.weight").ne, (std::vector<int64_t>{172, 64}));
}

TEST(GGUFExport, LlamaQKRowsAreInterleavedInTheFile) {
  // The llama2.c file stores q/k in Meta's interleaved order; our export must restore exactly it.
  test::TempDir d;
  const std::string out = d / "s.gguf";
  export_file(stories_bin(), out, GGMLType::F32);
  GGUFFile f(out);
  auto m = Model::load(stories_bin(), no_tok());
  auto q_half = m->store().load("model.layers.1.self_attn.q_proj.weight", torch::kFloat32);
  auto q_file = torch::tensor(f.to_float("blk.1.attn_q.weight")).view({64, 64});
  EXPECT_TRUE(torch::equal(q_file, permute_half_to_interleaved(q_half, 8)));
  auto k_half = m->store().load("model.layers.1.self_attn.k_proj.weight", torch::kFloat32);
  auto k_file = torch::tensor(f.to_float("blk.1.attn_k.weight")).view({32, 64});
  EXPECT_TRUE(torch::equal(k_file, permute_half_to_interleaved(k_half, 4)));
}

TEST(GGUFImport, StoriesF32RoundTripIsExact) {
  test::TempDir d;
  const std::string out = d / "s.gguf";
  export_file(stories_bin(), out, GGMLType::F32);
  auto a = Model::load(stories_bin(), no_tok());
  auto b = load_gguf_model(out, no_tok());
  EXPECT_EQ(b->config().architecture, "LlamaForCausalLM");
  EXPECT_TRUE(b->config().tie_word_embeddings);
  EXPECT_EQ(b->config().vocab_size, 512);
  EXPECT_EQ(b->config().head_dim, 8);
  EXPECT_EQ(b->config().max_position, 512);
  for (const auto& n : a->store().names())
    EXPECT_TRUE(torch::equal(a->store().load(n, torch::kFloat32), b->store().load(n, torch::kFloat32))) << n;
  const std::vector<int64_t> ids{1, 403, 407, 261, 378, 432, 383, 286};
  EXPECT_TRUE(torch::equal(logits(*a, ids), logits(*b, ids)));
}

TEST(GGUFImport, StoriesTypesRoundTripThroughOurCodecs) {
  auto a = Model::load(stories_bin(), no_tok());
  const std::vector<int64_t> ids{1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
  auto ref = logits(*a, ids);
  for (GGMLType t : {GGMLType::F16, GGMLType::BF16, GGMLType::Q8_0, GGMLType::Q4_0}) {
    SCOPED_TRACE(gguf::type_name(t));
    test::TempDir d;
    const std::string out = d / "s.gguf";
    auto r = export_file(stories_bin(), out, t);
    GGUFFile f(out);
    auto b = load_gguf_model(out, no_tok());
    expect_codec_exact(a->store(), b->store(), f, r);
    // Quantization error itself (stories260K's logits span ~30): loose bounds, the exact check is above.
    const float tol = t == GGMLType::Q4_0 ? 6.0f : t == GGMLType::F16 ? 0.05f : 0.6f;
    const float err = (logits(*b, ids) - ref).abs().max().item<float>();
    std::printf("[stories260K %s] max |logit - float32 logit| = %.4f\n", gguf::type_name(t), err);
    EXPECT_LT(err, tol);
  }
}

TEST(GGUFExport, StoriesFallbacksForRowsThatDoNotFitTheBlock) {
  // Rows of 64 (attention, gate/up, embedding) and 172 (down) fit neither 256-blocks nor 32-blocks.
  test::TempDir d;
  const std::string out = d / "s.gguf";
  auto r = export_file(stories_bin(), out, GGMLType::Q4_K);
  GGUFFile f(out);
  EXPECT_EQ(type_in(f, "blk.0.attn_q.weight"), GGMLType::Q8_0);
  EXPECT_EQ(type_in(f, "blk.0.ffn_gate.weight"), GGMLType::Q8_0);
  EXPECT_EQ(type_in(f, "blk.0.ffn_down.weight"), GGMLType::F16);
  EXPECT_EQ(type_in(f, "token_embd.weight"), GGMLType::Q8_0);  // tied: the output rule
  EXPECT_EQ(type_in(f, "blk.0.attn_norm.weight"), GGMLType::F32);
  EXPECT_EQ(f.get<uint32_t>("general.quantization_version"), 2u);
  EXPECT_EQ(f.get<uint32_t>("general.file_type"), 14u);
  bool down_reported = false;
  for (const auto& line : r.fallbacks)
    if (line.find("blk.0.ffn_down.weight") != std::string::npos && line.find("f16") != std::string::npos)
      down_reported = true;
  EXPECT_TRUE(down_reported);
  EXPECT_EQ(r.fallbacks.size(), 5u * 7);  // the tied embedding gets Q8_0 from the output rule directly

  auto r2 = export_file(stories_bin(), d / "t.gguf", GGMLType::TQ2_0);
  GGUFFile f2(d / "t.gguf");
  EXPECT_EQ(type_in(f2, "blk.0.attn_q.weight"), GGMLType::Q4_0);
  EXPECT_EQ(type_in(f2, "blk.0.ffn_down.weight"), GGMLType::F16);
}

TEST(GGUFExport, OutputAndEmbeddingTypesFollowLlamaQuantize) {
  test::TempDir d;
  SynthSpec s;  // hidden 256, ffn 512: every row fits 256-blocks
  synth(d / "m", s);
  struct Case {
    GGMLType req;
    bool pure;
    GGMLType embd, output, q;
  };
  const Case cases[] = {
      {GGMLType::Q4_0, false, GGMLType::Q4_0, GGMLType::Q6_K, GGMLType::Q4_0},
      {GGMLType::Q4_K, false, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::Q4_K},
      {GGMLType::Q8_0, false, GGMLType::Q8_0, GGMLType::Q8_0, GGMLType::Q8_0},
      {GGMLType::TQ1_0, false, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::TQ1_0},
      {GGMLType::TQ2_0, false, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::TQ2_0},
      {GGMLType::TQ2_0, true, GGMLType::TQ2_0, GGMLType::TQ2_0, GGMLType::TQ2_0},
      {GGMLType::STQ1_0, false, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::STQ1_0},
      {GGMLType::BF16, false, GGMLType::BF16, GGMLType::BF16, GGMLType::BF16},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(gguf::type_name(c.req)) + (c.pure ? " pure" : ""));
    const std::string out = d / "x.gguf";
    auto r = export_file(d / "m", out, c.req, c.pure);
    EXPECT_TRUE(r.fallbacks.empty());
    GGUFFile f(out);
    EXPECT_EQ(type_in(f, "token_embd.weight"), c.embd);
    EXPECT_EQ(type_in(f, "output.weight"), c.output);
    EXPECT_EQ(type_in(f, "blk.1.attn_q.weight"), c.q);
    EXPECT_EQ(type_in(f, "blk.1.ffn_down.weight"), c.q);
    EXPECT_EQ(type_in(f, "output_norm.weight"), GGMLType::F32);
  }
  // Tied: the embedding takes the output's type.
  SynthSpec t = s;
  t.tie = true;
  synth(d / "tied", t);
  export_file(d / "tied", d / "tied.gguf", GGMLType::Q4_K);
  GGUFFile f(d / "tied.gguf");
  EXPECT_FALSE(f.has_tensor("output.weight"));
  EXPECT_EQ(type_in(f, "token_embd.weight"), GGMLType::Q6_K);
}

TEST(GGUFImport, SynthArchitecturesRoundTrip) {
  for (const std::string arch : {"llama", "qwen2", "qwen3"}) {
    SCOPED_TRACE(arch);
    test::TempDir d;
    SynthSpec s;
    s.arch = arch;
    s.init_std = 0.1f;
    synth(d / "m", s);
    auto a = Model::load(d / "m", no_tok());
    const std::vector<int64_t> ids{1, 5, 200, 7, 99, 256, 3, 3, 40};
    auto ref = logits(*a, ids);
    for (GGMLType t : {GGMLType::F32, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::Q2_K, GGMLType::TQ1_0,
                       GGMLType::TQ2_0}) {
      SCOPED_TRACE(gguf::type_name(t));
      const std::string out = d / "x.gguf";
      auto r = export_file(d / "m", out, t, /*pure=*/true);
      GGUFFile f(out);
      EXPECT_EQ(f.get_string("general.architecture"), arch);
      EXPECT_EQ(f.has_tensor("blk.0.attn_q.bias"), arch == "qwen2");
      EXPECT_EQ(f.has_tensor("blk.0.attn_q_norm.weight"), arch == "qwen3");
      EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
      EXPECT_EQ(f.value("tokenizer.ggml.tokens").size(), 320u);  // 257 tokens + [PAD] rows
      auto b = load_gguf_model(out, no_tok());
      EXPECT_EQ(b->config().architecture, a->config().architecture);
      EXPECT_EQ(b->config().qkv_bias, a->config().qkv_bias);
      EXPECT_EQ(b->config().qk_norm, a->config().qk_norm);
      EXPECT_EQ(b->config().num_kv_heads, 2);
      EXPECT_DOUBLE_EQ(b->config().rope_theta, a->config().rope_theta);
      expect_codec_exact(a->store(), b->store(), f, r);
      if (t == GGMLType::F32) {
        EXPECT_LT((logits(*b, ids) - ref).abs().max().item<float>(), 1e-4f);
      }
    }
  }
}

TEST(GGUFImport, Llama3RopeScalingSurvivesTheRoundTrip) {
  test::TempDir d;
  SynthSpec s;
  s.hidden = 512;
  s.heads = 4;  // head_dim 128 as in Llama-3
  s.kv_heads = 2;
  s.layers = 1;
  s.init_std = 0.1f;
  s.rope.type = "llama3";
  s.rope.factor = 8.0;
  s.rope.low_freq_factor = 1.0;
  s.rope.high_freq_factor = 4.0;
  s.rope.original_max_position = 8192;
  synth(d / "m", s);
  export_file(d / "m", d / "x.gguf", GGMLType::F32);
  GGUFFile f(d / "x.gguf");
  ASSERT_TRUE(f.has_tensor("rope_freqs.weight"));
  EXPECT_EQ(f.tensor("rope_freqs.weight").ne, (std::vector<int64_t>{64}));
  const ModelConfig c = gguf_model_config(f);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_NEAR(c.rope_scaling.factor, 8.0, 1e-5);
  EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
  EXPECT_NEAR(c.rope_scaling.low_freq_factor, 1.0, 1e-4);
  EXPECT_NEAR(c.rope_scaling.high_freq_factor, 4.0, 1e-3);
  // Same logits far into the sequence (where the scaled low frequencies matter).
  auto a = Model::load(d / "m", no_tok());
  auto b = load_gguf_model(d / "x.gguf", no_tok());
  auto ca = a->new_cache(1, 4200), cb = b->new_cache(1, 4200);
  ca.length = cb.length = 4000;  // attend to an all-zero cache prefix; only the positions matter here
  const std::vector<int64_t> ids{5, 6, 7, 8};
  auto la = a->forward(ids_tensor(ids), &ca), lb = b->forward(ids_tensor(ids), &cb);
  EXPECT_LT((la - lb).abs().max().item<float>(), 1e-4f);
}

TEST(GGUFImport, StoriesTokenizerMatchesLlama2c) {
  test::TempDir d;
  const std::string out = d / "s.gguf";
  export_file(stories_bin(), out, GGMLType::Q8_0);
  auto a = Model::load(stories_bin());
  auto b = load_gguf_model(out);
  ASSERT_TRUE(b->has_tokenizer());
  const Tokenizer& ta = a->tokenizer();
  const Tokenizer& tb = b->tokenizer();
  EXPECT_EQ(tb.bos_id(), 1);
  EXPECT_EQ(tb.eos_id(), 2);
  EXPECT_TRUE(tb.add_bos());
  const std::string text = read_file(test::shared("data/tinystories_val.txt"));
  size_t pos = 0;
  int n = 0;
  while (pos < text.size() && n < 200) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    const std::string para = text.substr(pos, end - pos);
    pos = end + 2;
    if (para.empty()) continue;
    ++n;
    const auto ia = ta.encode(para), ib = tb.encode(para);
    EXPECT_EQ(ia, ib) << para;
    std::vector<int32_t> with_bos{1};
    with_bos.insert(with_bos.end(), ib.begin(), ib.end());
    EXPECT_EQ(ta.decode(with_bos), tb.decode(with_bos));
  }
  EXPECT_GT(n, 100);
}

TEST(GGUFImport, HubTokenizersMatchGoldens) {
  struct Case {
    std::string file, golden, model, pre;
  };
  const Case cases[] = {
      {"tokenizers/qwen3/tokenizer.json", "goldens/tokenizer_qwen3.jsonl", "gpt2", "qwen2"},
      {"tokenizers/llama3/tokenizer.json", "goldens/tokenizer_llama3.jsonl", "gpt2", "llama-bpe"},
      {"tokenizers/llama2/tokenizer.model", "goldens/tokenizer_llama2sp.jsonl", "llama", "default"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    test::TempDir d;
    auto orig = load_tokenizer(test::shared(c.file));
    SynthSpec s;
    s.hidden = 64;
    s.ffn = 64;
    s.layers = 1;
    s.heads = 2;
    s.kv_heads = 2;
    s.vocab = orig->vocab_size();
    s.tokenizer = test::shared(c.file);
    synth(d / "m", s);
    export_file(d / "m", d / "x.gguf", GGMLType::F16);
    GGUFFile f(d / "x.gguf");
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), c.model);
    EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), c.pre);
    auto tok = gguf_tokenizer(f);
    EXPECT_EQ(tok->vocab_size(), orig->vocab_size());
    EXPECT_EQ(tok->bos_id(), orig->bos_id());
    EXPECT_EQ(tok->eos_id(), orig->eos_id());
    EXPECT_EQ(tok->add_bos(), orig->add_bos());
    std::ifstream in(test::shared(c.golden));
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      const std::string text = j["text"];
      EXPECT_EQ(tok->encode(text), j["ids"].get<std::vector<int32_t>>()) << text;
      EXPECT_EQ(tok->decode(tok->encode(text)), orig->decode(orig->encode(text))) << text;
      ++lines;
    }
    EXPECT_GT(lines, 100);
  }
}

TEST(GGUFImport, ModelLoadAcceptsGGUFOnceRegistered) {
  test::TempDir d;
  const std::string out = d / "s.gguf";
  export_file(stories_bin(), out, GGMLType::F16);
  EXPECT_TRUE(is_gguf_file(out));
  EXPECT_FALSE(is_gguf_file(stories_bin()));
  EXPECT_FALSE(is_gguf_file(d / "missing.gguf"));
  register_gguf_loader();
  register_gguf_loader();  // idempotent
  auto m = Model::load(out);
  EXPECT_EQ(m->path(), out);
  EXPECT_TRUE(m->has_tokenizer());
  EXPECT_EQ(m->config().num_layers, 5);
  // Re-exporting an imported model gives the same tensors.
  auto r = export_gguf(*m, d / "again.gguf", GGUFExportOptions{GGMLType::F16, false, ""});
  GGUFFile f1(out), f2(d / "again.gguf");
  ASSERT_EQ(f1.tensors().size(), f2.tensors().size());
  for (const auto& t : f1.tensors()) {
    const auto& u = f2.tensor(t.name);
    ASSERT_EQ(t.nbytes, u.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(t.data, u.data, t.nbytes), 0) << t.name;
  }
  EXPECT_EQ(f1.value("tokenizer.ggml.tokens").get_strings(), f2.value("tokenizer.ggml.tokens").get_strings());
}

TEST(GGUFImport, ErrorsNameTheFileAndKey) {
  test::TempDir d;
  gguf::GGUFWriter w;
  w.add_kv("general.architecture", gguf::Value("gpt2"));
  w.write(d / "bad.gguf");
  try {
    import_gguf(d / "bad.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.gguf"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'gpt2' is not supported"), std::string::npos) << e.what();
  }
  gguf::GGUFWriter w2;
  w2.add_kv("general.architecture", gguf::Value("llama"));
  w2.write(d / "nokeys.gguf");
  try {
    import_gguf(d / "nokeys.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama.embedding_length"), std::string::npos) << e.what();
  }
  GGUFExportOptions o;
  o.type = GGMLType::Q5_K;
  auto m = Model::load(stories_bin(), no_tok());
  EXPECT_THROW(export_gguf(*m, d / "x.gguf", o), Error);  // Q5_K is not a type we write
  EXPECT_FALSE(file_exists(d / "x.gguf"));
}

TEST(GGUFCli, ExportThenGenerateMatchesTheOriginal) {
  if (!file_exists(test::cli_bin())) GTEST_SKIP() << "CLI binary not built: " << test::cli_bin();
  test::TempDir d;
  const std::string out = d / "s.gguf";
  auto e = test::run(test::cli_bin() + " export gguf --model " + stories_bin() + " --type F32 --out " + out + " --json");
  ASSERT_EQ(e.code, 0) << e.out;
  auto j = nlohmann::json::parse(e.out.substr(e.out.find('{')));
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["tensors"]["blk.0.attn_q.weight"], "f32");
  auto g1 = test::run(test::cli_bin() + " generate --model " + stories_bin() + " -p 'Once upon a time' -n 24 --json");
  auto g2 = test::run(test::cli_bin() + " generate --model " + out + " -p 'Once upon a time' -n 24 --json");
  ASSERT_EQ(g1.code, 0) << g1.out;
  ASSERT_EQ(g2.code, 0) << g2.out;
  auto j1 = nlohmann::json::parse(g1.out.substr(g1.out.find('{')));
  auto j2 = nlohmann::json::parse(g2.out.substr(g2.out.find('{')));
  EXPECT_EQ(j1["prompt_ids"], j2["prompt_ids"]);
  EXPECT_EQ(j1["ids"], j2["ids"]);
  EXPECT_EQ(j1["text"], j2["text"]);
  auto bad = test::run(test::cli_bin() + " export gguf --model " + stories_bin() + " --type Q5_K --out " + (d / "y.gguf"));
  EXPECT_NE(bad.code, 0);
}
