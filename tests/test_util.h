// Shared helpers for tests: where ../shared lives, temp dirs, running the CLI.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace as::test {

inline std::string shared_dir() {
  if (const char* e = std::getenv("ANGELSLIM_SHARED")) return e;
  return ANGELSLIM_SHARED_DIR;
}
inline std::string shared(const std::string& rel) { return shared_dir() + "/" + rel; }
// The multiple-choice / QA eval sets.
inline std::string eval_dir() { return shared("data/eval"); }
inline std::string source_dir() { return ANGELSLIM_SOURCE_DIR; }
inline std::string cli_bin() { return ANGELSLIM_BIN; }

// A fresh temporary directory removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "angelslim_test_XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path = p ? p : tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& rel) const { return (path / rel).string(); }
};

struct RunResult {
  int code;
  std::string out;  // stdout + stderr
};
// Runs a shell command, capturing stdout and stderr together.
inline RunResult run(const std::string& cmd) {
  RunResult r{-1, ""};
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = ::pclose(f);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace as::test
