// angelslim validate DIR [--json]: checks an exported compressed-tensors directory against the
// format contract (names, dtypes, shapes, packing ranges, config consistency, ignored layers).
#include <cstdio>

#include "cli/command.h"
#include "io/compressed_tensors/ct_validate.h"

namespace as::cli::cmd_validate {
namespace {

struct Opts {
  std::string dir;
  bool json = false;
};

const Register reg_validate({"validate", "Check a compressed-tensors checkpoint directory (what vLLM/SGLang load)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      sub.add_option("dir", o->dir, "Checkpoint directory")->required();
                      sub.add_flag("--json", o->json, "Print one JSON object");
                      return [o]() -> int {
                        auto r = ct::validate_compressed_tensors(o->dir);
                        if (o->json) {
                          print_json(r.to_json().dump());
                        } else {
                          std::printf("%s: %s (format %s, %zu quantized modules)\n", o->dir.c_str(),
                                      r.ok ? "ok" : "INVALID", r.format.c_str(), r.quantized_modules);
                          for (auto& v : r.violations)
                            std::printf("  violation: %s: %s\n", v.tensor_or_key.c_str(), v.message.c_str());
                          for (auto& w : r.warnings)
                            std::printf("  warning: %s: %s\n", w.tensor_or_key.c_str(), w.message.c_str());
                        }
                        return r.ok ? 0 : 1;
                      };
                    }});

}  // namespace
}  // namespace as::cli::cmd_validate
