#include "cli/model_options.h"

#include <torch/torch.h>

#include "common/error.h"

namespace as::cli {

void ModelOptions::add_to(CLI::App& sub) {
  sub.add_option("--model,-m", model, "HF model directory or llama2.c checkpoint")->required();
  sub.add_option("--tokenizer", tokenizer, "Tokenizer file (default: found next to the model)");
  sub.add_option("--dtype", dtype, "Compute dtype")
      ->check(CLI::IsMember({"float32", "bfloat16"}))
      ->capture_default_str();
}

std::unique_ptr<Model> ModelOptions::load() const {
  LoadOptions lo;
  lo.dtype = dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  return Model::load(model, lo, tokenizer);
}

}  // namespace as::cli
