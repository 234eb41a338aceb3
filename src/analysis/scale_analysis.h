// Scale analysis of one linear layer (the AngelSlim report's "Scale Analysis" figure): histograms
// and statistics of its weight and of its input activations before and after FP8 (E4M3)
// quantize-dequantize.
//
//   weight:      original vs FP8 per-output-channel QDQ (scale = row absmax / 448), or, given a
//                quantized checkpoint, vs that checkpoint's dequantized weight of the same linear
//                (note: schemes that fold scales into weights, e.g. SmoothQuant, change the
//                weight itself, so their "after" is not a pure rounding of the original);
//   activations: the linear's inputs over calibration text (all tokens of all samples) vs FP8
//                per-tensor QDQ with scale = absmax / 448 over all of them.
//
// Outputs in out_dir: weights_hist.png, activations_hist.png (only with calibration data) and
// summary.json (stats of both sides, QDQ MSE / relative MSE, histogram counts).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "model/model.h"
#include "quant/calib_data.h"

namespace as::analysis {

struct ScaleAnalysisOptions {
  std::string layer;      // HF module name, e.g. "model.layers.0.mlp.down_proj"
  std::string out_dir;
  std::string quantized;  // compressed-tensors checkpoint whose dequantized weight is the "after"
  CalibDataOptions data;  // data.path empty: weights only
  int64_t bins = 256;
};

// HF module names of the decoder linears, layer by layer.
std::vector<std::string> linear_names(Model& model);
// The linear called `name`; throws as::Error listing the valid names when there is none.
Linear& find_linear(Model& model, const std::string& name);
// Inputs of linear `name` while running the rows of ids [n, T] (one at a time, decoder layers only
// up to the linear's own): float32 [n * T, in_features].
torch::Tensor collect_linear_inputs(Model& model, const std::string& name, const torch::Tensor& ids);

// Runs the analysis, writes the files and returns the summary (also written as summary.json).
nlohmann::json analyze_scales(Model& model, const ScaleAnalysisOptions& o);

}  // namespace as::analysis
