// Layer-by-layer sequential PTQ (the report's Compress Engine with its low-memory mode).
//
// For each decoder layer in order: load only that layer's weights from the mmapped checkpoint,
// run the calibration samples' current hidden states through it, let the algorithm quantize it,
// propagate the quantized layer's outputs as the next layer's inputs, write the layer's artifacts,
// drop the layer. Resident: one layer + the activation cache (spilled to disk when the memory
// budget is tight). Every finished layer is checkpointed (artifacts + activations + state.json),
// so a killed run resumes from the last finished layer and ends byte-identical.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "quant/calib_data.h"
#include "quant/options.h"

namespace as {

struct PtqRunOptions {
  std::string output_dir;        // the exported checkpoint goes to <output_dir>/model
  uint64_t memory_budget = 0;    // bytes, 0 = unlimited
  std::optional<CalibDataOptions> data;
  bool progress = true;
  // Testing aid: throw after this many layers are checkpointed (simulates a crash); -1 = off.
  int fail_after_layers = -1;
};

struct PtqRunResult {
  std::string model_dir;   // exported compressed-tensors directory
  nlohmann::json report;   // per-layer / per-linear diagnostics, timings, fallbacks
};

PtqRunResult run_ptq(Model& model, const QuantOptions& opt, const PtqRunOptions& run);

}  // namespace as
