// Weights from a GGUF file (llama / qwen2 / qwen3; ours or llama.cpp's).
//
// Per linear, by ggml type:
//   Q8_0, Q4_0          byte-identical to q8_g32 / q4_g32 (formats.h): Q8_0 used in place, Q4_0
//                       moved once into the rows8 layout (packed.h) when the row count allows
//   F32                 used in place
//   TQ2_0, TQ1_0        repacked once to tern2_g128 (exact: the values are {-d, 0, d} per block and
//                       tern2's rule returns ternary rows exactly)
//   STQ1_0              (experimental) repacked once to sherry125_g128 (exact for the same reason:
//                       3:4 sparse {-d, 0, d}), then moved to the rows32 layout
//   F16                 byte-identical to the f16 type: used in place (K % 16 == 0; else as BF16)
//   BF16                converted once to fp32 (exact)
//   other types with a dequantizer (Q2_K, Q4_K, Q6_K, ...): dequantized and re-quantized to q8_g32
//                       once (not exact: adds q8's rounding, at most |w|max/254 per 32 weights, on
//                       top of the file's own); each such conversion is listed in Weights::notes.
// llama.cpp stores llama's q/k rows permuted for RoPE over adjacent pairs; the runtime rotates
// adjacent pairs for those files instead of undoing the permutation (rope_adjacent).
#include <algorithm>
#include <map>

#include "common/error.h"
#include "io/gguf/gguf.h"
#include "runtime/lean/weights.h"

namespace as::lean::detail {
namespace {

using gguf::GGMLType;

struct GgufLoader {
  Weights& W;
  const gguf::GGUFFile& f;
  std::map<std::string, int> type_counts;

  const gguf::GGUFTensor& tensor(const std::string& name, int64_t rows, int64_t cols) {
    const gguf::GGUFTensor& t = f.tensor(name);
    const bool ok = rows == 1 ? (t.ne.size() == 1 && t.ne[0] == cols)
                              : (t.ne.size() == 2 && t.ne[0] == cols && t.ne[1] == rows);
    check(ok, f.path() + ": tensor '" + name + "' has shape " + shape_str(t) + ", expected [" +
                  (rows == 1 ? "" : std::to_string(rows) + ", ") + std::to_string(cols) + "]");
    return t;
  }
  static std::string shape_str(const gguf::GGUFTensor& t) {
    std::string s = "[";
    for (size_t i = t.ne.size(); i-- > 0;) s += std::to_string(t.ne[i]) + (i ? ", " : "");
    return s + "]";
  }
  const float* f32(const std::string& name, int64_t n) {
    const gguf::GGUFTensor& t = tensor(name, 1, n);
    if (t.type == GGMLType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0)
      return reinterpret_cast<const float*>(t.data);
    W.owned.push_back(f.to_float(name));
    return W.owned.back().data();
  }
  void linear(Linear& L, const std::string& base, int64_t N, int64_t K) {
    const std::string name = base + ".weight";
    const gguf::GGUFTensor& t = tensor(name, N, K);
    L.N = N, L.K = K;
    ++type_counts[gguf::type_name(t.type)];
    auto in_place = [&](packed::QuantType qt) {
      L.is_packed = true, L.type = qt, L.data = t.data, L.bytes = t.nbytes;
    };
    auto repack = [&](packed::QuantType qt) {
      const std::vector<float> w = f.to_float(name);
      L.owned_packed.resize(packed::packed_bytes(qt, N, K));
      packed::quantize_rows(qt, w.data(), N, K, L.owned_packed.data());
      L.is_packed = true, L.type = qt, L.data = L.owned_packed.data(), L.bytes = L.owned_packed.size();
      L.use_interleaved();  // the type's decode layout, when it has one (sherry125: rows32)
    };
    if (t.type == GGMLType::Q8_0) {
      in_place(packed::QuantType::Q8_G32);
      if (name != "token_embd.weight") L.release = [ff = &f, name] { ff->release(name); };
    } else if (t.type == GGMLType::Q4_0) {
      in_place(packed::QuantType::Q4_G32);
      // Decode reads the 8-row interleaved copy; the file's pages are dropped unless the tensor is
      // also the token embedding (tied output), whose rows are still read from the file.
      if (L.use_interleaved() && name != "token_embd.weight") f.release(name);
    } else if (t.type == GGMLType::F16 && K % 16 == 0) {
      in_place(packed::QuantType::F16);
      if (name != "token_embd.weight") L.release = [ff = &f, name] { ff->release(name); };
    } else if (t.type == GGMLType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      L.data = t.data, L.bytes = t.nbytes;
    } else if ((t.type == GGMLType::TQ2_0 || t.type == GGMLType::TQ1_0) && K % 128 == 0) {
      repack(packed::QuantType::TERN2_G128);
    } else if (t.type == GGMLType::STQ1_0 && K % 128 == 0) {
      repack(packed::QuantType::SHERRY125_G128);
    } else if (t.type != GGMLType::F32 && t.type != GGMLType::F16 && t.type != GGMLType::BF16 && K % 32 == 0) {
      repack(packed::QuantType::Q8_G32);
      W.notes.push_back(name + ": " + gguf::type_name(t.type) + " re-quantized to q8_g32 (lossy)");
    } else {
      L.owned = f.to_float(name);
      L.data = reinterpret_cast<const uint8_t*>(L.owned.data());
      L.bytes = uint64_t(N * K) * 4;
    }
    if (f.has_tensor(base + ".bias")) L.bias = f32(base + ".bias", N);
  }
};

}  // namespace

Weights load_gguf(std::shared_ptr<const gguf::GGUFFile> file, const LeanConfig& c, bool rope_adjacent) {
  Weights W;
  W.c = c;
  W.source = file->path();
  W.rope_adjacent = rope_adjacent;
  W.keep = file;
  const gguf::GGUFFile& f = *file;
  for (const auto& t : f.tensors()) W.file_bytes += t.nbytes;
  GgufLoader G{W, f, {}};
  const int64_t D = c.hidden, hd = c.head_dim;
  const gguf::GGUFTensor& emb = G.tensor("token_embd.weight", c.vocab, D);
  check(gguf::type_traits(emb.type).dequantize != nullptr,
        f.path() + ": token_embd.weight has type " + gguf::type_name(emb.type) + ", which has no decoder here");
  W.embed.data = emb.data;
  W.embed.nbytes = emb.nbytes;
  W.embed.row_bytes = gguf::row_size(emb.type, D);
  W.embed.decode = [t = emb.type, D](const uint8_t* row, float* out) { gguf::dequantize(t, row, out, D); };
  W.final_norm = G.f32("output_norm.weight", D);
  W.layers.resize(size_t(c.layers));
  for (int64_t l = 0; l < c.layers; ++l) {
    auto& L = W.layers[size_t(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    L.attn_norm = G.f32(p + "attn_norm.weight", D);
    L.ffn_norm = G.f32(p + "ffn_norm.weight", D);
    if (c.qk_norm) {
      L.q_norm = G.f32(p + "attn_q_norm.weight", hd);
      L.k_norm = G.f32(p + "attn_k_norm.weight", hd);
    }
    for (const LinearSpec& s : layer_linears(c)) G.linear(L.*s.field, p + s.gguf, s.N, s.K);
  }
  std::string types;
  for (const auto& [name, n] : G.type_counts) types += (types.empty() ? "" : "+") + name;
  W.type = "gguf:" + types;
  G.type_counts.clear();
  G.linear(W.lm_head, f.has_tensor("output.weight") ? "output" : "token_embd", c.vocab, D);
  W.lm_type = "gguf:" + G.type_counts.begin()->first;
  fuse_for_decode(W);
  return W;
}

}  // namespace as::lean::detail
