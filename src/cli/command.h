// CLI subcommand registry: each cmd_*.cpp registers one subcommand with a static Register object.
// The CLI compiles as a unity build, so each cmd_<name>.cpp keeps its code in as::cli::cmd_<name>.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace as::cli {

struct GlobalOptions {
  int threads = 2;
  bool quiet = false;
  bool verbose = false;
};

struct Command {
  std::string name;
  std::string help;
  // Adds the subcommand's options to `sub` and returns the action run when it is selected.
  std::function<std::function<int()>(CLI::App& sub, const GlobalOptions& g)> setup;
};

std::vector<Command>& commands();

struct Register {
  explicit Register(Command c) { commands().push_back(std::move(c)); }
};

// Applies the thread count to libtorch (intra-op) and our kernels.
void apply_threads(int threads);
// Prints a JSON object on stdout (one line) — the --json output of every command.
void print_json(const std::string& json_text);

}  // namespace as::cli
