// Fusing the linears that read the same input (q/k/v, gate/up) into one matrix per group: decode
// then runs 4 matmuls per layer instead of 7, each a longer weight stream with one fork/join.
// Packed rows are self-contained (a row carries its own scales), and interleaved row groups (8 or 32
// rows) are whole because a part is only interleaved when its N is a multiple of the group, so
// concatenating the parts' bytes along N is the fused matrix.
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/lean/weights.h"

namespace as::lean::detail {
namespace {

bool fusable(const std::vector<const Linear*>& parts) {
  const Linear& a = *parts[0];
  for (const Linear* p : parts)
    if (!p->is_packed || p->tail || p->type != a.type || p->interleaved != a.interleaved || p->K != a.K ||
        p->data == nullptr)
      return false;
  return true;
}

void fuse(Weights& W, Linear& out, const std::vector<Linear*>& parts) {
  const Linear& a = *parts[0];
  size_t bytes = 0;
  int64_t N = 0;
  bool bias = false;
  for (const Linear* p : parts) bytes += packed::packed_bytes(p->type, p->N, p->K), N += p->N, bias |= p->bias != nullptr;
  out = Linear{};
  out.is_packed = true, out.type = a.type, out.interleaved = a.interleaved, out.N = N, out.K = a.K;
  out.owned_packed.resize(bytes);
  size_t off = 0;
  for (const Linear* p : parts) {
    const size_t n = packed::packed_bytes(p->type, p->N, p->K);
    std::memcpy(out.owned_packed.data() + off, p->data, n);
    off += n;
  }
  out.data = out.owned_packed.data();
  out.bytes = bytes;
  if (bias) {
    std::vector<float> b(size_t(N), 0.0f);
    int64_t o = 0;
    for (const Linear* p : parts) {
      if (p->bias) std::memcpy(&b[size_t(o)], p->bias, size_t(p->N) * sizeof(float));
      o += p->N;
    }
    W.owned.push_back(std::move(b));
    out.bias = W.owned.back().data();
  }
  // The parts are not run any more: drop their copies / mapped pages (their byte counts stay, for
  // the per-token traffic).
  for (Linear* p : parts) {
    if (!p->owned_packed.empty()) std::vector<uint8_t>().swap(p->owned_packed);
    else if (p->release) p->release();
    p->data = nullptr;
  }
}

}  // namespace

void fuse_for_decode(Weights& W) {
  const char* env = std::getenv("ANGELSLIM_FUSE");
  if (env && std::string(env) == "0") return;
  for (Layer& L : W.layers) {
    if (fusable({&L.q, &L.k, &L.v})) fuse(W, L.qkv, {&L.q, &L.k, &L.v});
    if (fusable({&L.gate, &L.up})) fuse(W, L.gate_up, {&L.gate, &L.up});
  }
}

}  // namespace as::lean::detail
