// `angelslim run --config JOB.yaml`: one job file drives loading, compression and evaluation.
//
// run_job() steps, in order:
//   1. parse + validate the job (config/job_config.h), check the compression family has a runner and
//      every input path exists: all before anything is loaded;
//   2. apply global.threads / seed / log_level, create global.output_dir and write
//      resolved_config.json there (every default filled in, paths absolute; runnable as a job file);
//   3. load the model (model.path / dtype / tokenizer; decoder layers are streamed from disk when the
//      weights exceed global.memory_budget);
//   4. run the compression family's runner (jobs/job_families.h; `none` leaves the model as is);
//   5. run eval.ppl, each eval.mc entry, then eval.generate;
//   6. write report.json (atomically) with the results, timings, peak RSS and versions.
// A failure after step 2 still writes report.json with "status": "failed" and the error, then
// rethrows.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "config/job_config.h"

namespace as {

// Step 1: registers the built-in families, parses the job and checks its inputs. Loads nothing.
JobConfig load_job(const std::string& yaml_path, const JobOverrides& overrides = {});
// The input checks of step 1 on an already parsed job (as::Error naming the job file and key).
void check_job_inputs(const JobConfig& job);

// Runs the whole job; returns the report (also written to <output_dir>/report.json).
nlohmann::json run_job(const std::string& yaml_path, const JobOverrides& overrides = {});


}  // namespace as
