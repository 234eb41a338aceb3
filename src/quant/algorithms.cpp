// The algorithm registry: name -> factory. One line per algorithm.
#include "quant/algorithms.h"

#include <mutex>

#include "common/error.h"
#include "config/yaml_reader.h"

namespace as {
namespace {

std::map<std::string, QuantAlgorithmFactory>& table() {
  static std::map<std::string, QuantAlgorithmFactory> t;
  return t;
}
std::mutex& mu() {
  static std::mutex m;
  return m;
}

}  // namespace

void register_quant_algorithm(const std::string& name, QuantAlgorithmFactory f) {
  std::lock_guard<std::mutex> lk(mu());
  table()[name] = std::move(f);
}

void register_builtin_quant_algorithms() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_quant_algorithm("fp8_static", make_fp8_static);
    register_quant_algorithm("fp8_dynamic", make_fp8_dynamic);
    register_quant_algorithm("fp8_blockwise", make_fp8_blockwise);
    register_quant_algorithm("fp8_lepto", make_fp8_lepto);
    register_quant_algorithm("int8_smoothquant", make_int8_smoothquant);
    register_quant_algorithm("int4_rtn", make_int_rtn);
    register_quant_algorithm("int4_gptq", make_int_gptq);
    register_quant_algorithm("int4_awq", make_int_awq);
    register_quant_algorithm("w4a8_fp8", make_w4a8_fp8);
  });
}

std::unique_ptr<QuantAlgorithm> make_quant_algorithm(const QuantOptions& o) {
  register_builtin_quant_algorithms();
  std::lock_guard<std::mutex> lk(mu());
  auto it = table().find(o.algorithm);
  if (it == table().end()) {
    std::vector<std::string> names;
    for (auto& [k, v] : table()) names.push_back(k);
    throw Error("quantization algorithm '" + o.algorithm + "' is not registered (available: " + join_names(names) + ")");
  }
  return it->second(o);
}

}  // namespace as
