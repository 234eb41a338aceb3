// Interop with a real llama.cpp (node-llama-cpp's prebuilt CPU build, pinned in package.json):
// GGUF files written by our exporter are loaded by llama.cpp and by angelslim (our GGUF reader), and
//   - F32 / F16 / Q8_0 stories260K: llama.cpp's greedy continuation equals ours token for token;
//   - every exported type: the next-token log-probabilities agree within a per-type tolerance
//     (llama.cpp quantizes activations to 8 bits for quantized matmuls and to F16 for F16 ones; we
//     compute in float32 on the same dequantized weights);
//   - llama.cpp tokenizes the Hub tokenizers we wrote (SentencePiece and byte-level BPE) like the
//     Hugging Face / sentencepiece goldens.
// Skips (with the reason) when node or the npm package is missing: cd tests/interop && npm ci
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "export/gguf_export.h"
#include "export/gguf_import.h"
#include "io/gguf/gguf.h"
#include "model/model.h"
#include "model/synth.h"
#include "test_util.h"

using namespace as;
using as::gguf::GGMLType;
using json = nlohmann::json;

namespace {

std::string interop_dir() { return test::source_dir() + "/tests/interop"; }

// Why llama.cpp cannot be run here; empty when it can.
std::string unavailable() {
  if (test::run("node --version").code != 0) return "node is not installed";
  if (!file_exists(interop_dir() + "/node_modules/node-llama-cpp/package.json"))
    return "node-llama-cpp is not installed (cd tests/interop && npm ci)";
  return "";
}

#define REQUIRE_LLAMA_CPP()                                                      \
  do {                                                                           \
    if (const std::string why = unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// Runs llama_cpp_check.mjs; llama.cpp's log goes to a file shown on failure.
json llama_cpp(const test::TempDir& d, const std::string& args) {
  const std::string err = d / "llama_cpp.log";
  auto r = test::run("(node " + interop_dir() + "/llama_cpp_check.mjs --threads 2 " + args + " 2>" + err + ")");
  std::string log = file_exists(err) ? read_file(err) : "";
  if (r.code != 0) throw std::runtime_error("llama_cpp_check failed (" + std::to_string(r.code) + "): " + r.out + log);
  const size_t brace = r.out.rfind("\n{");
  return json::parse(brace == std::string::npos ? r.out : r.out.substr(brace + 1));
}

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return s;
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kLong).view({1, -1}); }

LoadOptions no_tok() {
  LoadOptions o;
  o.load_tokenizer = false;
  return o;
}

GGUFExportResult export_file(const std::string& model_path, const std::string& out, GGMLType t) {
  LoadOptions lo;
  lo.stream_layers = true;
  auto m = Model::load(model_path, lo);
  GGUFExportOptions o;
  o.type = t;
  return export_gguf(*m, out, o);
}

// Greedy continuation with a KV cache; stops after `eos` like llama.cpp stops at end-of-generation.
std::vector<int64_t> greedy(Model& m, const std::vector<int64_t>& prompt, int n, int64_t eos) {
  auto cache = m.new_cache(1, static_cast<int64_t>(prompt.size()) + n + 1);
  auto lg = m.forward(ids_tensor(prompt), &cache);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    const int64_t next = lg[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    if (next == eos) break;
    lg = m.forward(ids_tensor({next}), &cache);
  }
  return out;
}

struct LogitDiff {
  double max_abs = 0;     // max |logprob_ours - logprob_llama.cpp| over tokens with logprob > -15
  double rms = 0;         // over the same entries
  double quant_rms = 0;   // rms |logprob_ours - logprob of the float32 original|: what quantization moves
  double spread = 0;      // mean standard deviation of our logits (the scale the model works at)
  int clear = 0;          // positions whose top-2 gap (ours) exceeds the tolerated max error
  int clear_same = 0;     // ... where llama.cpp picks the same top token
  std::string str() const {
    char b[200];
    std::snprintf(b, sizeof b,
                  "vs llama.cpp: max |dlogp| %.3g, rms %.3g; quantization itself: rms %.3g; logit std %.3g; "
                  "same top-1 at %d/%d clear positions",
                  max_abs, rms, quant_rms, spread, clear_same, clear);
    return b;
  }
};

// `ours` and `original` are [T, V] logits, `theirs` llama.cpp's [T][V] log-probabilities.
LogitDiff compare(const torch::Tensor& ours_logits, const torch::Tensor& original_logits, const json& theirs,
                  double clear_gap) {
  auto lp = torch::log_softmax(ours_logits.to(torch::kDouble), -1);
  auto lo = torch::log_softmax(original_logits.to(torch::kDouble), -1);
  const int64_t T = lp.size(0), V = lp.size(1);
  EXPECT_EQ(static_cast<int64_t>(theirs.size()), T);
  LogitDiff d;
  double sum2 = 0, qsum2 = 0;
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    const json& row = theirs[static_cast<size_t>(t)];
    EXPECT_EQ(static_cast<int64_t>(row.size()), V);
    auto ours = lp[t], orig = lo[t];
    auto acc = ours.accessor<double, 1>();
    auto oacc = orig.accessor<double, 1>();
    int64_t best_theirs = -1;
    double best = -1e300;
    for (int64_t v = 0; v < V; ++v) {
      if (row[static_cast<size_t>(v)].is_null()) continue;
      const double x = row[static_cast<size_t>(v)].get<double>();
      if (x > best) best = x, best_theirs = v;
      if (x < -15 && acc[v] < -15) continue;
      const double e = std::abs(acc[v] - x);
      d.max_abs = std::max(d.max_abs, e);
      sum2 += e * e;
      qsum2 += (acc[v] - oacc[v]) * (acc[v] - oacc[v]);
      ++n;
    }
    auto top2 = std::get<0>(ours.topk(2));
    if ((top2[0] - top2[1]).item<double>() > clear_gap) {
      ++d.clear;
      d.clear_same += ours.argmax().item<int64_t>() == best_theirs;
    }
    d.spread += ours_logits[t].to(torch::kDouble).std().item<double>();
  }
  d.rms = n ? std::sqrt(sum2 / double(n)) : 0;
  d.quant_rms = n ? std::sqrt(qsum2 / double(n)) : 0;
  d.spread /= double(T);
  return d;
}

// Tolerances, in nats of log-probability. llama.cpp computes F16 matmuls with F16 activations,
// BF16 ones with BF16 activations and quantized ones with 8-bit (Q8_0 / Q8_K) activations; we use
// float32 activations on the same dequantized weights.
struct Tolerance {
  double max_abs, rms;
  bool below_quant;  // llama.cpp must agree with our dequantized file better than with the float model
};
Tolerance tolerance(GGMLType t) {
  switch (t) {
    case GGMLType::F32: return {1e-3, 1e-4, false};
    case GGMLType::F16: return {0.03, 0.005, false};
    case GGMLType::BF16: return {0.15, 0.03, false};
    case GGMLType::Q8_0:
    case GGMLType::Q6_K: return {0.5, 0.1, false};  // 8-bit activations: as large as the weight rounding
    default: return {0.5, 0.1, true};
  }
}

void expect_within(const LogitDiff& d, GGMLType t) {
  const Tolerance tol = tolerance(t);
  EXPECT_LT(d.max_abs, tol.max_abs) << d.str();
  EXPECT_LT(d.rms, tol.rms) << d.str();
  if (tol.below_quant) {
    EXPECT_LT(d.rms, 0.5 * d.quant_rms) << d.str();
  }
  EXPECT_EQ(d.clear_same, d.clear) << d.str();
  EXPECT_GT(d.clear, 0) << d.str();
}

struct SynthSpec {
  std::string arch = "llama";
  int64_t hidden = 256, ffn = 512, layers = 2, heads = 4, kv_heads = 2, vocab = 320;
  float init_std = 0.02f;
  std::string tokenizer;
};

void synth(const std::string& dir, const SynthSpec& s) {
  const std::map<std::string, std::string> archs{
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  json cfg{{"architectures", {archs.at(s.arch)}},
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
           {"tie_word_embeddings", false}};
  if (s.tokenizer.empty()) cfg["eos_token_id"] = 256;
  SynthOptions o;
  o.config = parse_model_config(cfg, "synth");
  o.dtype = DType::F32;
  o.seed = 11;
  o.init_std = s.init_std;
  o.tokenizer = s.tokenizer;
  synth_model(dir, o);
}

std::string stories_bin() { return test::shared("models/stories260K/stories260K.bin"); }

json greedy_golden() { return json::parse(read_file(test::shared("goldens/stories260K_greedy.json"))); }

}  // namespace

TEST(Interop, StoriesGreedyMatchesLlamaCppExactly) {
  REQUIRE_LLAMA_CPP();
  const json golden = greedy_golden();
  for (GGMLType t : {GGMLType::F32, GGMLType::F16, GGMLType::Q8_0}) {
    SCOPED_TRACE(gguf::type_name(t));
    test::TempDir d;
    const std::string out = d / "stories.gguf";
    export_file(stories_bin(), out, t);
    auto ours = load_gguf_model(out, no_tok());
    for (const json& g : golden) {
      const auto prompt = g["prompt_ids"].get<std::vector<int64_t>>();
      SCOPED_TRACE("prompt ids " + join(prompt));
      const int n = std::max<int>(64, static_cast<int>(g["greedy_ids"].size()));
      const json lc = llama_cpp(d, "--model " + out + " --ids " + join(prompt) + " --gen " + std::to_string(n));
      EXPECT_EQ(lc["bos"], 1);
      EXPECT_EQ(lc["eos"], 2);
      const auto theirs = lc["generated"].get<std::vector<int64_t>>();
      const auto mine = greedy(*ours, prompt, n, /*eos=*/2);
      EXPECT_GE(mine.size(), 64u);
      EXPECT_EQ(theirs, mine);
      if (t == GGMLType::F32) {  // and both equal the float32 numpy reference
        const auto ref = g["greedy_ids"].get<std::vector<int64_t>>();
        EXPECT_EQ(std::vector<int64_t>(mine.begin(), mine.begin() + std::min(mine.size(), ref.size())), ref);
      }
    }
  }
}

TEST(Interop, StoriesLogitsAgreeForEveryType) {
  REQUIRE_LLAMA_CPP();
  const json g = greedy_golden()[1];  // "Once upon a time" + its continuation
  std::vector<int64_t> ids = g["prompt_ids"].get<std::vector<int64_t>>();
  const auto cont = g["greedy_ids"].get<std::vector<int64_t>>();
  ids.insert(ids.end(), cont.begin(), cont.begin() + std::min<size_t>(cont.size(), 43));
  // On stories260K's 64- and 172-wide rows most types fall back to Q8_0 / Q4_0 / F16.
  auto original = Model::load(stories_bin(), no_tok());
  const auto ref = original->forward(ids_tensor(ids))[0];
  for (GGMLType t : {GGMLType::F32, GGMLType::F16, GGMLType::BF16, GGMLType::Q8_0, GGMLType::Q4_0, GGMLType::Q4_K,
                     GGMLType::Q6_K, GGMLType::Q2_K, GGMLType::TQ2_0, GGMLType::TQ1_0}) {
    SCOPED_TRACE(gguf::type_name(t));
    test::TempDir d;
    const std::string out = d / "stories.gguf";
    export_file(stories_bin(), out, t);
    auto ours = load_gguf_model(out, no_tok());
    const json lc = llama_cpp(d, "--model " + out + " --ids " + join(ids) + " --logits");
    // Q4_K / Q6_K fall back to Q8_0 everywhere here: judge them like Q8_0.
    const GGMLType judged = t == GGMLType::Q4_K ? GGMLType::Q8_0 : t;
    const LogitDiff diff =
        compare(ours->forward(ids_tensor(ids))[0], ref, lc["logprobs"], tolerance(judged).max_abs);
    std::printf("[stories260K %-5s] %s\n", gguf::type_name(t), diff.str().c_str());
    expect_within(diff, judged);
  }
}

TEST(Interop, SynthLogitsAgreeForEveryTypeAndArchitecture) {
  REQUIRE_LLAMA_CPP();
  // Widths that fit the 256-element blocks; init_std 0.1 spreads the logits out (std ~1.6).
  const std::vector<int64_t> ids{1, 17, 300, 42, 99, 256, 3, 3, 128, 77, 5, 250, 64, 31, 200, 9};
  for (const std::string arch : {"llama", "qwen2", "qwen3"}) {
    test::TempDir d;
    SynthSpec s;
    s.arch = arch;
    s.init_std = 0.1f;
    synth(d / "m", s);
    auto original = Model::load(d / "m", no_tok());
    const auto ref = original->forward(ids_tensor(ids))[0];
    for (GGMLType t : {GGMLType::F32, GGMLType::F16, GGMLType::BF16, GGMLType::Q8_0, GGMLType::Q6_K, GGMLType::Q4_K,
                       GGMLType::Q4_0, GGMLType::Q2_K, GGMLType::TQ2_0, GGMLType::TQ1_0}) {
      SCOPED_TRACE(arch + " " + gguf::type_name(t));
      const std::string out = d / "m.gguf";
      auto r = export_file(d / "m", out, t);
      EXPECT_TRUE(r.fallbacks.empty());
      auto ours = load_gguf_model(out, no_tok());
      const json lc = llama_cpp(d, "--model " + out + " --ids " + join(ids) + " --logits");
      const LogitDiff diff =
          compare(ours->forward(ids_tensor(ids))[0], ref, lc["logprobs"], tolerance(t).max_abs);
      std::printf("[synth %-5s %-5s] %s\n", arch.c_str(), gguf::type_name(t), diff.str().c_str());
      expect_within(diff, t);
    }
  }
}

TEST(Interop, LlamaCppTokenizesOurHubTokenizerExportsLikeTheGoldens) {
  REQUIRE_LLAMA_CPP();
  struct Case {
    std::string file, golden;
  };
  const Case cases[] = {
      {"tokenizers/llama2/tokenizer.model", "goldens/tokenizer_llama2sp.jsonl"},
      {"tokenizers/llama3/tokenizer.json", "goldens/tokenizer_llama3.jsonl"},
      {"tokenizers/qwen3/tokenizer.json", "goldens/tokenizer_qwen3.jsonl"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    test::TempDir d;
    SynthSpec s;
    s.hidden = 64;
    s.ffn = 64;
    s.layers = 1;
    s.heads = 2;
    s.kv_heads = 2;
    s.vocab = load_tokenizer(test::shared(c.file))->vocab_size();
    s.tokenizer = test::shared(c.file);
    synth(d / "m", s);
    export_file(d / "m", d / "m.gguf", GGMLType::F16);
    const json lc = llama_cpp(d, "--model " + (d / "m.gguf") + " --tokenize-jsonl " + test::shared(c.golden));
    std::ifstream in(test::shared(c.golden));
    std::string line;
    size_t i = 0, mismatches = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const json g = json::parse(line);
      ASSERT_LT(i, lc["tokenized_lines"].size());
      if (lc["tokenized_lines"][i] != g["ids"]) {
        ++mismatches;
        ADD_FAILURE() << "text " << g["text"].dump() << "\n  golden    " << g["ids"].dump() << "\n  llama.cpp "
                      << lc["tokenized_lines"][i].dump();
      }
      ++i;
    }
    EXPECT_EQ(i, lc["tokenized_lines"].size());
    std::printf("[tokenizer %s] %zu / %zu lines match\n", c.file.c_str(), i - mismatches, i);
  }
}
