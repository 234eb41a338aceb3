// angelslim: one binary, one subcommand per task. Every failure prints one line naming the
// file / key / tensor and exits non-zero.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "common/error.h"
#include "common/log.h"

namespace as::cli {

std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}

void apply_threads(int threads) {
  if (threads < 1) throw Error("--threads must be >= 1");
  torch::set_num_threads(threads);
}

void print_json(const std::string& json_text) {
  std::fwrite(json_text.data(), 1, json_text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace as::cli

int main(int argc, char** argv) {
  using namespace as::cli;
  CLI::App app{"angelslim: compress LLMs end to end (quantization, low-bit kernels, evaluation)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "angelslim 0.1.0");
  GlobalOptions g;
  app.add_option("--threads,-t", g.threads, "CPU threads for compute")->capture_default_str();
  app.add_flag("--quiet,-q", g.quiet, "Only errors on stderr");
  app.add_flag("--verbose,-v", g.verbose, "Debug logging");
  std::function<int()> action;
  auto& cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    auto act = c.setup(*sub, g);
    sub->callback([&action, act] { action = act; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (g.quiet) as::set_log_level(as::LogLevel::Warn);
    if (g.verbose) as::set_log_level(as::LogLevel::Debug);
    apply_threads(g.threads);
    return action ? action() : 0;
  } catch (const as::Error& e) {
    std::fprintf(stderr, "angelslim: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "angelslim: error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "angelslim: error: %s\n", e.what());
    return 1;
  }
}
