// Encoding throughput of each tokenizer on ~1 MB of WikiText-2 (bytes/s in the report; the
// first, cache-cold pass over the text is reported as first_pass_ms, in thread CPU time).
// Fixtures are read from ../shared (or $ANGELSLIM_SHARED).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "common/file.h"
#include "io/tokenizer/tokenizer.h"

namespace {

std::string shared(const std::string& rel) {
  const char* e = std::getenv("ANGELSLIM_SHARED");
  return std::string(e ? e : ANGELSLIM_SHARED_DIR) + "/" + rel;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// The first ~1 MB of the text, cut at a line end.
const std::string& text_1mb() {
  static const std::string text = [] {
    std::string all = as::read_file(shared("data/wikitext2_test.txt"));
    size_t cut = all.find('\n', 1000000);
    return cut == std::string::npos ? all : all.substr(0, cut + 1);
  }();
  return text;
}

const as::Tokenizer& tokenizer(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<as::Tokenizer>> cache;
  auto& t = cache[rel];
  if (!t) t = as::load_tokenizer(shared(rel));
  return *t;
}

void encode_bench(benchmark::State& state, const std::string& rel) {
  const std::string& text = text_1mb();
  const as::Tokenizer& tok = tokenizer(rel);
  // The tokenizers memoize words per thread, so the first pass over the text is the slowest;
  // report it separately (thread CPU milliseconds, comparable with the CPU column).
  static std::map<std::string, double> cold_ms;
  if (!cold_ms.count(rel)) {
    const double t0 = thread_cpu_ms();
    benchmark::DoNotOptimize(tok.encode(text).data());
    cold_ms[rel] = thread_cpu_ms() - t0;
  }
  state.counters["first_pass_ms"] = cold_ms[rel];
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_EncodeQwen3(benchmark::State& s) { encode_bench(s, "tokenizers/qwen3/tokenizer.json"); }
void BM_EncodeLlama3(benchmark::State& s) { encode_bench(s, "tokenizers/llama3/tokenizer.json"); }
void BM_EncodeLlama2SentencePiece(benchmark::State& s) {
  encode_bench(s, "tokenizers/llama2/tokenizer.model");
}
void BM_EncodeLlama2cStories(benchmark::State& s) {
  encode_bench(s, "models/stories260K/tok512.bin");
}

}  // namespace

BENCHMARK(BM_EncodeQwen3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeLlama3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeLlama2SentencePiece)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeLlama2cStories)->Unit(benchmark::kMillisecond);
