// Packed-format matmul benchmarks: per type, GEMV on 0.7B-class decode shapes and a prefill GEMM
// (M = 512), scalar vs the best ISA, with num_threads() threads (2 unless --threads=N); on CPUs with
// AMX the AVX-512 GEMM runs twice: "avx512" (AMX switched off) and "avx512_amx". And the other half
// of a decode step's bytes: decode attention of one layer over an fp16 KV cache ("attend/ISA/...",
// every attention implementation this CPU runs, 0.7B shape: 16 heads of 96 after a 512-token prompt).
//
// Counters: wGB/s = packed weight bytes read per second; GFLOP/s = 2*M*N*K per second;
// roofline% = wGB/s relative to the measured main-memory read bandwidth (printed in the context).
// GEMV also times, after every call, a plain multithreaded read of another copy of the same bytes
// (p50_read_GB/s); p50_vs_read% = median kernel GB/s / median read GB/s is the roofline fraction
// measured side by side, which stays meaningful when other processes load the machine.
// GEMV weights rotate through copies totalling >= 256 MiB so every call reads them from DRAM, as a
// decode step of a model larger than the LLC does. p50_* / best_* use the median / fastest single
// call, which are robust to other processes sharing the cores.
//
//   bench_packed [--threads=N] [--bw_mib=256] [--rot_mib=256] [--shape=NxK] [google-benchmark flags, e.g.
//                --benchmark_filter=gemv]   (rot_mib: GEMV weight rotation; shape: replaces the GEMV shapes)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/half.h"
#include "kernels/packed/internal.h"  // detail::amx_available / set_amx_enabled, parallel_for
#include "kernels/packed/packed.h"

namespace {

using namespace as::packed;

double g_bw_gbs = 0.0;
size_t g_rot_mib = 256;  // GEMV weight copies rotate through at least this much memory

struct Weights {
  std::vector<uint8_t> data;  // `copies` back-to-back copies of one packed N x K matrix
  size_t bytes = 0, copies = 1;
};

std::vector<float> randn(size_t n, uint32_t seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

Weights make_weights(QuantType t, int64_t N, int64_t K, size_t min_total, bool il = false) {
  Weights w;
  w.bytes = packed_bytes(t, N, K);
  w.copies = std::max<size_t>(1, (min_total + w.bytes - 1) / w.bytes);
  w.data.resize(w.bytes * w.copies);
  const auto f = randn(size_t(N * K), 1, 0.02f);
  quantize_rows(t, f.data(), N, K, w.data.data());
  if (il) {
    std::vector<uint8_t> rows(w.data.begin(), w.data.begin() + std::ptrdiff_t(w.bytes));
    to_interleaved(t, rows.data(), N, K, w.data.data());
  }
  for (size_t c = 1; c < w.copies; ++c) std::memcpy(w.data.data() + c * w.bytes, w.data.data(), w.bytes);
  return w;
}

void set_counters(benchmark::State& st, double bytes, double flops) {
  const double it = double(st.iterations());
  st.counters["wGB/s"] = benchmark::Counter(bytes * it / 1e9, benchmark::Counter::kIsRate);
  st.counters["GFLOP/s"] = benchmark::Counter(flops * it / 1e9, benchmark::Counter::kIsRate);
  if (g_bw_gbs > 0)
    st.counters["roofline%"] = benchmark::Counter(bytes * it / 1e9 / g_bw_gbs * 100.0, benchmark::Counter::kIsRate);
}

// Per-call times are also kept: on a shared machine the mean is dominated by preemption, so the
// median call (p50_*) and the fastest call (best_*) are reported next to the rate counters.
void call_stats(benchmark::State& st, std::vector<double>& t, double bytes, double flops) {
  if (t.empty()) return;
  std::sort(t.begin(), t.end());
  const double p50 = t[t.size() / 2], best = t.front();
  st.counters["p50_us"] = p50 * 1e6;
  st.counters["p50_wGB/s"] = bytes / p50 / 1e9;
  st.counters["best_wGB/s"] = bytes / best / 1e9;
  st.counters["p50_GFLOP/s"] = flops / p50 / 1e9;
  if (g_bw_gbs > 0) st.counters["p50_roofline%"] = bytes / p50 / 1e9 / g_bw_gbs * 100.0;
}

// The side-by-side plain reads of the same bytes (after call_stats): their median GB/s and the
// kernel's median as a percentage of it.
void read_stats(benchmark::State& st, std::vector<double>& reads, double bytes) {
  if (reads.empty()) return;
  std::sort(reads.begin(), reads.end());
  const double read_gbs = bytes / reads[reads.size() / 2] / 1e9;
  st.counters["p50_read_GB/s"] = read_gbs;
  st.counters["p50_vs_read%"] = st.counters["p50_wGB/s"].value / read_gbs * 100.0;
}

// il: the weights are in the type's interleaved layout (rows8 / rows32) and run through gemm_interleaved.
void run_gemm(QuantType t, bool il, const uint8_t* w, int64_t N, int64_t K, const float* x, int64_t M, float* y,
              Isa isa) {
  if (il) gemm_interleaved(t, w, N, K, x, M, y, isa);
  else gemm(t, w, N, K, x, M, y, isa);
}

void bm_gemv(benchmark::State& st, QuantType t, bool il, Isa isa, int64_t N, int64_t K) {
  const Weights w = make_weights(t, N, K, g_rot_mib << 20, il);
  const auto x = randn(size_t(K), 2, 1.0f);
  std::vector<float> y(static_cast<size_t>(N));
  std::vector<double> times, reads;
  size_t c = 0;
  uint64_t sink = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    run_gemm(t, il, w.data.data() + c * w.bytes, N, K, x.data(), 1, y.data(), isa);
    benchmark::DoNotOptimize(y.data());
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    // Side by side: a pure read of the same number of bytes (another copy, so also from DRAM).
    st.PauseTiming();
    const auto t1 = std::chrono::steady_clock::now();
    sink += stream_read_sum(w.data.data() + ((c + w.copies / 2) % w.copies) * w.bytes, w.bytes);
    reads.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    st.ResumeTiming();
    c = c + 1 == w.copies ? 0 : c + 1;
  }
  benchmark::DoNotOptimize(sink);
  set_counters(st, double(w.bytes), 2.0 * double(N) * double(K));
  call_stats(st, times, double(w.bytes), 2.0 * double(N) * double(K));
  read_stats(st, reads, double(w.bytes));
}

// amx: Isa::Avx512's GEMM on AMX tiles (where available) or on AVX-512 only.
void bm_gemm(benchmark::State& st, QuantType t, bool il, Isa isa, bool amx, int64_t N, int64_t K, int64_t M) {
  const bool amx_before = detail::set_amx_enabled(amx);
  const Weights w = make_weights(t, N, K, 0, il);
  const auto x = randn(size_t(M * K), 3, 1.0f);
  std::vector<float> y(static_cast<size_t>(M * N));
  std::vector<double> times;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    run_gemm(t, il, w.data.data(), N, K, x.data(), M, y.data(), isa);
    benchmark::DoNotOptimize(y.data());
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  set_counters(st, double(w.bytes), 2.0 * double(M) * double(N) * double(K));
  call_stats(st, times, double(w.bytes), 2.0 * double(M) * double(N) * double(K));
  detail::set_amx_enabled(amx_before);
}

// Decode attention of one layer, as the lean runtime runs it: H heads as parallel tasks, each over
// T cached positions (fp16, contiguous per head). The caches of successive calls rotate through
// >= rot_mib (like successive layers), and each call is followed by a plain read of another layer's
// bytes, so p50_vs_read% is the kernel's fraction of the bandwidth measured side by side.
void bm_attend(benchmark::State& st, const std::string& isa, int64_t H, int64_t hd, int64_t T) {
  const size_t halves = size_t(2 * H * T * hd), bytes = halves * 2;  // K then V
  const size_t layers = std::max<size_t>(2, (g_rot_mib << 20) / bytes);
  std::vector<uint16_t> kv(halves * layers);
  const auto f = randn(halves, 4, 1.0f);
  for (size_t i = 0; i < halves; ++i) kv[i] = as::kernels::f32_to_f16(f[i]);
  for (size_t l = 1; l < layers; ++l) std::memcpy(kv.data() + l * halves, kv.data(), bytes);
  const auto q = randn(size_t(H * hd), 5, 1.0f);
  std::vector<float> out(size_t(H * hd));
  std::vector<double> times, reads;
  size_t c = 0;
  uint64_t sink = 0;
  for (auto _ : st) {
    const uint16_t* K = kv.data() + c * halves;
    const uint16_t* V = K + halves / 2;
    const auto t0 = std::chrono::steady_clock::now();
    detail::parallel_for(H, [&](int64_t h) {
      thread_local std::vector<float> scratch;
      scratch.resize(size_t(T));
      as::kernels::AttnArgs a;
      a.kv = as::kernels::KvType::F16, a.hd = hd, a.stride = hd, a.T = T, a.scale = 0.1f;
      a.q = q.data() + h * hd, a.out = out.data() + h * hd, a.scratch = scratch.data();
      a.K = K + h * T * hd, a.V = V + h * T * hd;
      as::kernels::attend_with(isa, a);
    });
    benchmark::DoNotOptimize(out.data());
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    st.PauseTiming();
    const auto t1 = std::chrono::steady_clock::now();
    sink += stream_read_sum(kv.data() + ((c + layers / 2) % layers) * halves, bytes);
    reads.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
    st.ResumeTiming();
    c = c + 1 == layers ? 0 : c + 1;
  }
  benchmark::DoNotOptimize(sink);
  set_counters(st, double(bytes), 4.0 * double(H * T * hd));
  call_stats(st, times, double(bytes), 4.0 * double(H * T * hd));
  read_stats(st, reads, double(bytes));
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  size_t bw_mib = 256;
  std::vector<std::pair<int64_t, int64_t>> shapes{{4096, 1536}, {1536, 4096}};
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0)
      threads = std::atoi(argv[i] + 10);
    else if (std::strncmp(argv[i], "--bw_mib=", 9) == 0)
      bw_mib = size_t(std::atol(argv[i] + 9));
    else if (std::strncmp(argv[i], "--rot_mib=", 10) == 0)
      g_rot_mib = size_t(std::atol(argv[i] + 10));
    else if (std::strncmp(argv[i], "--shape=", 8) == 0)  // NxK, replaces the GEMV shapes
      shapes = {{std::atol(argv[i] + 8), std::atol(std::strchr(argv[i], 'x') ? std::strchr(argv[i], 'x') + 1 : "0")}};
    else
      rest.push_back(argv[i]);
  }
  set_num_threads(threads);
  g_bw_gbs = measure_read_bandwidth_gbs(bw_mib << 20, 5);
  benchmark::AddCustomContext("threads", std::to_string(num_threads()));
  benchmark::AddCustomContext("read_bandwidth_GBps", std::to_string(g_bw_gbs));
  benchmark::AddCustomContext("best_isa", isa_name(best_isa()));

  const Isa best = best_isa();
  std::vector<Isa> isas{Isa::Scalar};
  if (best != Isa::Scalar) isas.push_back(best);
  for (const auto& tr : quant_types()) {
    for (bool il : {false, true}) {
      const int R = interleave_rows(tr.type);
      if (il && R == 0) continue;
      for (Isa isa : isas) {
        const std::string tag = std::string(tr.name) + (il ? "_rows" + std::to_string(R) : "") + "/" + isa_name(isa);
        for (auto [N, K] : shapes) {
          benchmark::RegisterBenchmark(("gemv/" + tag + "/N" + std::to_string(N) + "_K" + std::to_string(K)).c_str(),
                                       bm_gemv, tr.type, il, isa, N, K)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
        for (bool amx : {false, true}) {
          if (amx && !(isa == Isa::Avx512 && detail::amx_available())) continue;
          benchmark::RegisterBenchmark(("gemm/" + tag + (amx ? "_amx" : "") + "/M512_N4096_K1536").c_str(), bm_gemm,
                                       tr.type, il, isa, amx, 4096, 1536, 512)
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond)
              ->MinTime(isa == Isa::Scalar ? 0.01 : 0.5);
        }
      }
    }
  }
  for (const std::string& isa : as::kernels::attend_isas())
    for (int64_t T : {64, 544, 4096})
      benchmark::RegisterBenchmark(("attend/" + isa + "/H16_hd96_T" + std::to_string(T)).c_str(), bm_attend, isa,
                                   int64_t(16), int64_t(96), T)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
