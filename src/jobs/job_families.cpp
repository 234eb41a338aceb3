#include "jobs/job_families.h"

#include "jobs/family_quantization.h"

#include <map>
#include <mutex>

#include "common/error.h"

namespace as {

namespace {

struct Runners {
  std::mutex mu;
  std::map<std::string, FamilyRunFn> by_name;
};

Runners& runners() {
  static Runners r;
  return r;
}

// `none`: the model is evaluated as loaded.
void run_none(FamilyRunContext& ctx) { ctx.report["modified"] = false; }

}  // namespace

void register_family_runner(const std::string& family, FamilyRunFn run) {
  check(!family.empty(), "register_family_runner: empty family name");
  check(static_cast<bool>(run), "register_family_runner: family '" + family + "' has no run function");
  Runners& r = runners();
  std::lock_guard<std::mutex> lock(r.mu);
  check(r.by_name.find(family) == r.by_name.end(), "family '" + family + "' already has a runner");
  r.by_name.emplace(family, std::move(run));
}

const FamilyRunFn* find_family_runner(const std::string& family) {
  Runners& r = runners();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.by_name.find(family);
  return it == r.by_name.end() ? nullptr : &it->second;  // map nodes are stable: never erased
}

std::vector<std::string> family_runner_names() {
  Runners& r = runners();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [name, fn] : r.by_name) out.push_back(name);
  return out;
}

void register_builtin_families() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_family_runner("none", run_none);  // its parser is built into the config registry
    // One line per compression family (each registers its parser and its runner):
    register_quantization_family();
  });
}

}  // namespace as
