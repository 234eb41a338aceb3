#include "io/compressed_tensors/ct_layout.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace as::ct {

const std::vector<std::string>& quant_param_names() {
  static const std::vector<std::string> k = {"weight_packed",      "weight_scale",      "weight_zero_point",
                                             "weight_shape",       "weight_g_idx",      "weight_global_scale",
                                             "input_scale",        "input_zero_point",  "input_global_scale",
                                             "output_scale",       "output_zero_point"};
  return k;
}

bool is_quant_param(const std::string& p) {
  const auto& k = quant_param_names();
  return std::find(k.begin(), k.end(), p) != k.end();
}

bool is_scale_dtype(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F16; }

std::vector<ExpectedTensor> expected_tensors(const ConfigGroup& g, const std::string& format, int64_t n, int64_t k,
                                             DType scale_dtype) {
  check(g.weights.has_value(), "config group without weights");
  const QuantArgs& w = *g.weights;
  check(is_supported_format(format), "compression format \"" + format + "\" is not supported");
  std::vector<DType> sd = {scale_dtype};
  for (DType t : {DType::BF16, DType::F32, DType::F16})
    if (t != scale_dtype) sd.push_back(t);

  std::vector<ExpectedTensor> out;
  if (format == kFormatPackQuantized) {
    check(w.type == QuantType::Int && w.num_bits >= 1 && w.num_bits <= 8,
          "pack-quantized needs int weights of 1..8 bits");
    out.push_back({"weight_packed", {DType::I32}, {n, packed_length(k, w.num_bits)}, false});
    out.push_back({"weight_shape", {DType::I64, DType::I32}, {2}, false});
  } else if (w.type == QuantType::Int) {
    check(w.num_bits <= 8, "int weights wider than 8 bits are not supported");
    out.push_back({"weight", {DType::I8}, {n, k}, false});
  } else {
    check(w.num_bits == 8, "float weights other than FP8 are not supported");
    out.push_back({"weight", {DType::F8_E4M3}, {n, k}, false});
  }
  const std::vector<int64_t> ss = weight_scale_shape(w, n, k);
  out.push_back({"weight_scale", sd, ss, w.strategy == Strategy::Tensor});
  if (!w.symmetric) {
    if (zero_point_is_packed(w, format))
      out.push_back({"weight_zero_point", {DType::I32}, {packed_length(n, w.num_bits), ss[1]}, false});
    else
      out.push_back({"weight_zero_point", {DType::I8}, ss, w.strategy == Strategy::Tensor});
  }
  if (w.actorder == ActOrder::Group) out.push_back({"weight_g_idx", {DType::I32}, {k}, false});
  if (g.input_activations && !g.input_activations->is_dynamic()) {
    const QuantArgs& in = *g.input_activations;
    check(in.strategy == Strategy::Tensor, std::string("static input quantization with strategy \"") +
                                               to_string(in.strategy) + "\" is not supported (only tensor)");
    out.push_back({"input_scale", sd, {1}, true});
    if (!in.symmetric) out.push_back({"input_zero_point", {DType::I8}, {1}, true});
  }
  return out;
}

Inventory build_inventory(const std::vector<std::string>& names) {
  Inventory inv;
  for (const std::string& n : names) {
    const size_t dot = n.rfind('.');
    const std::string module = dot == std::string::npos ? "" : n.substr(0, dot);
    const std::string param = dot == std::string::npos ? n : n.substr(dot + 1);
    inv.params[module].insert(param);
    for (size_t p = n.find('.'); p != std::string::npos; p = n.find('.', p + 1)) inv.prefixes.insert(n.substr(0, p));
  }
  return inv;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // compare numerically: strip leading zeros, then by length, then lexicographically
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;
}

}  // namespace as::ct
