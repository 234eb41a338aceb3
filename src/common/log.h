// Minimal leveled logging to stderr, plus a progress reporter for long jobs
// (a redrawn bar with i/N, elapsed and ETA on a TTY; plain lines otherwise).
#pragma once
#include <chrono>
#include <string>

namespace as {

enum class LogLevel { Quiet = 0, Warn = 1, Info = 2, Debug = 3 };
void set_log_level(LogLevel l);
LogLevel log_level();
void log_info(const std::string& msg);
void log_warn(const std::string& msg);
void log_debug(const std::string& msg);

class Progress {
 public:
  Progress(std::string what, int64_t total);
  ~Progress();
  void update(int64_t done, const std::string& detail = "");
  void finish();

 private:
  std::string what_;
  int64_t total_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace as
