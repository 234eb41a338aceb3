// Process resource figures for reports and benchmarks.
#pragma once
#include <cstdint>
#include <string>

namespace as {

uint64_t peak_rss_bytes();     // getrusage ru_maxrss
uint64_t current_rss_bytes();  // /proc/self/statm resident pages
std::string cpu_model_name();  // from /proc/cpuinfo, or "unknown"

// Low-memory runs: make the C heap hand freed memory back to the OS. Large blocks (tensors) get their
// own mappings, unmapped on free (glibc otherwise raises its mmap threshold up to 32 MiB after the
// first large free and keeps such blocks in the heap), and the heap top is trimmed eagerly.
void limit_heap_retention();
// Returns free heap pages to the OS now (malloc_trim); call between phases of a long job.
void return_free_memory();

}  // namespace as
