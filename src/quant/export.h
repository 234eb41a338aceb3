// Turns the per-layer PTQ artifacts into a compressed-tensors checkpoint that vLLM / SGLang load
// (io/compressed_tensors writes and validates it).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "quant/algorithm.h"
#include "quant/options.h"

namespace as {

// Writes `out_dir` from the layer artifact files and the model's non-layer tensors (embedding,
// final norm, lm_head), copies tokenizer / generation files, validates. Returns a report object
// (format, files, config groups with the vLLM/SGLang scheme each maps to, validation result).
nlohmann::json export_ptq_checkpoint(Model& model, const QuantOptions& opt,
                                     const std::vector<std::string>& layer_files, const std::string& out_dir);

}  // namespace as
