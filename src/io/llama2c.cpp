#include "io/llama2c.h"

#include <cstring>

#include "common/error.h"

namespace as {
namespace {

uint64_t expected_floats(const Llama2cHeader& h) {
  const uint64_t D = h.dim, F = h.hidden_dim, L = h.n_layers, V = h.vocab_size, S = h.seq_len;
  const uint64_t hd = D / h.n_heads, KV = hd * h.n_kv_heads;
  uint64_t n = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * F * D + D + S * hd;
  if (!h.shared_classifier) n += V * D;
  return n;
}

bool parse_header(const uint8_t* p, size_t size, Llama2cHeader& h, std::string& why) {
  if (size < 28) {
    why = "file is " + std::to_string(size) + " bytes, shorter than the 28-byte header";
    return false;
  }
  int32_t v[7];
  std::memcpy(v, p, 28);
  h.dim = v[0];
  h.hidden_dim = v[1];
  h.n_layers = v[2];
  h.n_heads = v[3];
  h.n_kv_heads = v[4];
  h.shared_classifier = v[5] > 0;
  h.vocab_size = v[5] < 0 ? -v[5] : v[5];
  h.seq_len = v[6];
  const int64_t lim = 1 << 20;
  if (h.dim <= 0 || h.hidden_dim <= 0 || h.n_layers <= 0 || h.n_heads <= 0 || h.n_kv_heads <= 0 ||
      h.vocab_size <= 0 || h.seq_len <= 0 || h.dim > lim || h.hidden_dim > lim || h.n_layers > 4096 ||
      h.vocab_size > (1 << 22) || h.seq_len > lim) {
    why = "implausible header values";
    return false;
  }
  if (h.dim % h.n_heads != 0 || h.n_heads % h.n_kv_heads != 0 || (h.dim / h.n_heads) % 2 != 0) {
    why = "inconsistent head counts (dim " + std::to_string(h.dim) + ", heads " + std::to_string(h.n_heads) +
          ", kv heads " + std::to_string(h.n_kv_heads) + ")";
    return false;
  }
  uint64_t want = 28 + 4 * expected_floats(h);
  if (want != size) {
    why = "size " + std::to_string(size) + " bytes does not match the header (expected " + std::to_string(want) +
          " bytes)";
    return false;
  }
  return true;
}

}  // namespace

Llama2cCheckpoint read_llama2c(const std::string& path) {
  Llama2cCheckpoint c;
  c.file = MappedFile(path);
  std::string why;
  if (!parse_header(c.file.data(), c.file.size(), c.h, why))
    throw Error(path + ": not a valid llama2.c checkpoint: " + why);
  const auto& h = c.h;
  const uint64_t D = h.dim, F = h.hidden_dim, L = h.n_layers, V = h.vocab_size, S = h.seq_len;
  const uint64_t hd = D / h.n_heads, KV = hd * h.n_kv_heads;
  const float* p = reinterpret_cast<const float*>(c.file.data() + 28);
  c.token_embedding = p; p += V * D;
  c.rms_att = p; p += L * D;
  c.wq = p; p += L * D * D;
  c.wk = p; p += L * KV * D;
  c.wv = p; p += L * KV * D;
  c.wo = p; p += L * D * D;
  c.rms_ffn = p; p += L * D;
  c.w1 = p; p += L * F * D;
  c.w2 = p; p += L * D * F;
  c.w3 = p; p += L * F * D;
  c.rms_final = p; p += D;
  p += S * hd;  // freq_cis_real + freq_cis_imag (S * hd/2 each), recomputed by the model
  c.wcls = h.shared_classifier ? c.token_embedding : p;
  return c;
}

bool looks_like_llama2c(const std::string& path) {
  try {
    MappedFile f(path);
    Llama2cHeader h;
    std::string why;
    return parse_header(f.data(), f.size(), h, why);
  } catch (const Error&) {
    return false;
  }
}

}  // namespace as
