// Process resource figures for reports and benchmarks.
#pragma once
#include <cstdint>
#include <string>

namespace as {

uint64_t peak_rss_bytes();     // getrusage ru_maxrss
uint64_t current_rss_bytes();  // /proc/self/statm resident pages
std::string cpu_model_name();  // from /proc/cpuinfo, or "unknown"

}  // namespace as
