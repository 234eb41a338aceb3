#include "quant/core/rtn.h"

namespace as::quant {

RtnResult rtn_quantize(const torch::Tensor& w, const ops::IntQuantSpec& spec,
                       const std::string& name) {
  RtnResult r;
  r.q = ops::quantize_int(w, spec, name);
  r.weight = ops::dequantize_int(r.q, torch::kFloat32);
  return r;
}

}  // namespace as::quant
