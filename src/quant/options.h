// Typed options of the quantization family (`compression.quantization` in a job file).
//
//   compression:
//     quantization:
//       name: int4_gptq            # fp8_static fp8_dynamic fp8_blockwise fp8_lepto int8_smoothquant
//                                  # int4_rtn int4_gptq int4_awq w4a8_fp8
//       bits: 4                    # 2, 3, 4 or 8 for the rtn/gptq/awq family
//       group_size: 128            # -1 = per output channel
//       symmetric: true
//       ignore: [lm_head]          # module names or regexes ("re:..." or any name with regex syntax)
//       gptq: {damp: 0.01, block_size: 128, act_order: false, static_groups: false}
//       awq: {grid: 20, clip_search: true, clip_grid: 20, max_shrink: 0.5}
//       smoothquant: {alpha: 0.5}
//       lepto: {fractions: [...], compat_block_input: false}
//       scale_dtype: bfloat16      # dtype of exported scales: bfloat16 | float32
//       max_shard_size: 4GB
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/compression_registry.h"

namespace as {

struct GptqOptions {
  double damp = 0.01;
  int64_t block_size = 128;
  bool act_order = false;
  bool static_groups = false;
};

struct AwqOptions {
  int64_t grid = 20;
  bool clip_search = true;
  int64_t clip_grid = 20;
  double max_shrink = 0.5;
};

struct SmoothQuantOptions {
  double alpha = 0.5;
};

struct LeptoOptions {
  // Tail fractions 1 - p_r of |X| whose FP8 code becomes the top of the range. Empty = the
  // reference grid 6e-4, 5.5e-4, ..., 5e-5 (13 candidates); the plain absmax scale is always tried.
  std::vector<double> fractions;
};

struct QuantOptions : CompressionOptions {
  std::string algorithm;
  int64_t bits = 4;
  int64_t group_size = 128;
  bool symmetric = true;
  std::vector<std::string> ignore = {"lm_head"};
  GptqOptions gptq;
  AwqOptions awq;
  SmoothQuantOptions smoothquant;
  LeptoOptions lepto;
  std::string scale_dtype = "bfloat16";
  uint64_t max_shard_size = 4ull << 30;

  bool is_fp8() const { return algorithm.rfind("fp8_", 0) == 0; }
  bool is_weight_only_int() const {
    return algorithm == "int4_rtn" || algorithm == "int4_gptq" || algorithm == "int4_awq";
  }
  nlohmann::json to_json() const override;
};

const std::vector<std::string>& quant_algorithm_names();
std::shared_ptr<const CompressionOptions> parse_quant_options(YamlReader& r, const std::string& algorithm);

}  // namespace as
