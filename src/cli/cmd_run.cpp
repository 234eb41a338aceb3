// angelslim run --config JOB.yaml [--output-dir DIR] [--json]
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "jobs/run_job.h"

namespace as::cli::cmd_run {
namespace {

struct Opts {
  std::string config, output_dir;
  bool json = false;
  bool check_only = false;
};

const Register reg_run({"run", "Run a YAML job: load, compress, evaluate, write report.json",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      sub.add_option("--config,-c", o->config, "Job file (YAML)")->required();
                      sub.add_option("--output-dir,-o", o->output_dir, "Override global.output_dir");
                      sub.add_flag("--check", o->check_only, "Validate the job file and its inputs, run nothing");
                      sub.add_flag("--json", o->json, "Print the report as one JSON object");
                      auto* threads = sub.add_option("--job-threads", "Override global.threads");
                      return [o, threads]() -> int {
                        JobOverrides ov;
                        if (!o->output_dir.empty()) ov.output_dir = o->output_dir;
                        if (threads->count()) ov.threads = threads->as<int>();
                        if (o->check_only) {
                          load_job(o->config, ov);
                          print_json(nlohmann::json{{"ok", true}, {"config", o->config}}.dump());
                          return 0;
                        }
                        auto report = run_job(o->config, ov);
                        if (o->json) print_json(report.dump());
                        return 0;
                      };
                    }});

}  // namespace
}  // namespace as::cli::cmd_run
