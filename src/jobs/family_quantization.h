// The quantization compression family (src/quant/): registers its YAML options parser and its job
// runner (run_ptq, then the exported checkpoint is reloaded for evaluation).
#pragma once

namespace as {

// compression.quantization -> QuantOptions (config side) and run_ptq + reload of the exported
// checkpoint for evaluation (job side). Idempotent.
void register_quantization_family();

}  // namespace as
