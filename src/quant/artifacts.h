// On-disk results of one calibrated decoder layer (the unit of resumption): its quantized linears
// (codes, scales, zero points, g_idx, input scales + their scheme), its dense tensors as they are
// after calibration (norms changed by folded scales, biases, ignored linears) and its diagnostics.
// One safetensors file per layer, written atomically.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "quant/algorithm.h"

namespace as {

struct LayerArtifacts {
  std::vector<QuantizedLinear> linears;
  std::map<std::string, torch::Tensor> dense;  // HF tensor name -> tensor
  nlohmann::json diag = nlohmann::json::object();
};

void save_layer_artifacts(const std::string& path, const LayerArtifacts& a);
LayerArtifacts load_layer_artifacts(const std::string& path);
// The per-linear header stored in an artifact file's "linears" metadata (no tensors).
QuantizedLinear linear_header_from_json(const nlohmann::json& j);

const char* act_scheme_name(ActScheme a);
ActScheme act_scheme_from_name(const std::string& s);

}  // namespace as
