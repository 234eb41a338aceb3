// Loading compressed-tensors checkpoints (what `angelslim run` with quantization exports, and what
// llm-compressor / AngelSlim write) into the float runtime: quantized Linear weights are
// dequantized on load, and each Linear's input gets the activation fake-quantizer its scheme
// prescribes (static FP8 per tensor, dynamic FP8 per token / per 128-group, dynamic INT8 per token),
// so the accuracy of every scheme is measurable on a CPU.
#pragma once
#include <memory>
#include <string>

#include "model/weights.h"

namespace as {

class Model;

// True when DIR/config.json has quantization_config.quant_method == "compressed-tensors".
bool is_compressed_tensors_dir(const std::string& dir);
std::shared_ptr<WeightStore> open_compressed_tensors_store(const std::string& dir);
// Installs Linear::act_quant on every quantized linear of `m` (loads streamed layers lazily: the
// quantizers are re-installed when a layer is loaded).
void install_activation_quantizers(Model& m, const std::string& dir);

}  // namespace as
