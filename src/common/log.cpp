#include "common/log.h"

#include <unistd.h>

#include <cstdio>

namespace as {

static LogLevel g_level = LogLevel::Info;
void set_log_level(LogLevel l) { g_level = l; }
LogLevel log_level() { return g_level; }

void log_info(const std::string& msg) {
  if (g_level >= LogLevel::Info) std::fprintf(stderr, "[angelslim] %s\n", msg.c_str());
}
void log_warn(const std::string& msg) {
  if (g_level >= LogLevel::Warn) std::fprintf(stderr, "[angelslim] warning: %s\n", msg.c_str());
}
void log_debug(const std::string& msg) {
  if (g_level >= LogLevel::Debug) std::fprintf(stderr, "[angelslim] debug: %s\n", msg.c_str());
}

static std::string fmt_secs(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), tty_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, const std::string& detail) {
  if (g_level < LogLevel::Info) return;
  auto now = std::chrono::steady_clock::now();
  double el = std::chrono::duration<double>(now - start_).count();
  double eta = done > 0 ? el / double(done) * double(total_ - done) : 0.0;
  if (tty_) {
    const int width = 30;
    int filled = total_ > 0 ? int(width * done / total_) : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[angelslim] %s [%s] %lld/%lld elapsed %s eta %s %s\033[K", what_.c_str(),
                 bar.c_str(), (long long)done, (long long)total_, fmt_secs(el).c_str(),
                 fmt_secs(eta).c_str(), detail.c_str());
    if (done >= total_) std::fprintf(stderr, "\n");
  } else {
    // Plain log lines: every step for short jobs, at most one per second otherwise.
    double since = std::chrono::duration<double>(now - last_).count();
    if (done >= total_ || total_ <= 100 || since >= 1.0) {
      std::fprintf(stderr, "[angelslim] %s %lld/%lld elapsed %s eta %s %s\n", what_.c_str(),
                   (long long)done, (long long)total_, fmt_secs(el).c_str(), fmt_secs(eta).c_str(),
                   detail.c_str());
      last_ = now;
    }
  }
  if (done >= total_) finished_ = true;
}

void Progress::finish() {
  if (!finished_ && tty_ && g_level >= LogLevel::Info) std::fprintf(stderr, "\n");
  finished_ = true;
}

}  // namespace as
