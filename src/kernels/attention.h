// Attention of one query row against a KV cache (torch-free). Used by the lean runtime for both
// prefill (one call per (token, head), causal length per token) and decode.
//
//   out[i] = sum_{j < T} p_j * V[j][i],   p = softmax_j(scale * dot(q, K[j]))
//
// K and V hold T rows of `hd` elements each, `stride` elements apart (the lean runtime keeps each
// head's positions contiguous, stride = hd; a [position][kv_head * hd] cache has stride kv_dim).
// The cache element type is fp32 or IEEE fp16 (llama.cpp's default KV type: half the bytes a
// decode step reads from the cache).
//
// attend_ref is the scalar reference (the tests' oracle); attend dispatches at run time to an
// AVX-512 (F/BW/VL) or AVX2+FMA+F16C version when the CPU has it (vectorized over hd and over keys,
// vectorized exp; AVX-512 masks the last partial vector of hd). They agree with the reference to
// float rounding (the tests bound the difference), not bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace as::kernels {

enum class KvType : uint8_t { F32, F16 };
const char* kv_type_name(KvType t);
// "f32" | "f16"; throws as::Error naming the value otherwise.
KvType kv_type_from_name(const char* name);
inline int kv_type_bytes(KvType t) { return t == KvType::F32 ? 4 : 2; }

struct AttnArgs {
  const float* q = nullptr;  // [hd]
  const void* K = nullptr;   // T rows, `stride` elements apart
  const void* V = nullptr;
  KvType kv = KvType::F32;
  int64_t T = 0, hd = 0, stride = 0;
  float scale = 1.0f;
  float* scratch = nullptr;  // >= T floats
  float* out = nullptr;      // [hd]
};

void attend_ref(const AttnArgs& a);
void attend(const AttnArgs& a);
// Which implementation attend() uses on this CPU: "avx512", "avx2" or "scalar" (the widest the CPU
// runs; env ANGELSLIM_PACKED_ISA=avx2|scalar caps it, as it caps the packed kernels).
const char* attend_isa();
// The implementations this CPU runs ("scalar" first, the one attend() uses last), and one of them by
// name (throws as::Error naming an unknown or unsupported one): for tests and benchmarks.
std::vector<std::string> attend_isas();
void attend_with(const std::string& isa, const AttnArgs& a);

// Causal attention of nq consecutive query rows of one head (prefill): query i (0-based) attends
// to the first a.T + i keys of a.K / a.V. Query i is q + i * q_stride, its output out + i * o_stride;
// a.q, a.out and a.scratch are not used (the kernel keeps its own per-thread scratch). The AVX-512
// version loads each key and value row once per block of queries (a register-blocked product of the
// block's queries with 16 keys at a time, then of the probabilities with the values) instead of once
// per query; elsewhere it runs attend() per query. Agrees with attend_ref per query to float rounding.
void attend_block(const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride, float* out, int64_t o_stride);
// The same by implementation name (see attend_with).
void attend_block_with(const std::string& isa, const AttnArgs& a, int64_t nq, const float* q, int64_t q_stride,
                       float* out, int64_t o_stride);

// Stores n floats into a cache row of type t (fp16: round to nearest even, as F16C does).
void kv_store(KvType t, const float* src, int64_t n, void* dst);

}  // namespace as::kernels
