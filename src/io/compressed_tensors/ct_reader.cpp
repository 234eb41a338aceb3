#include "io/compressed_tensors/ct_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/file.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_pack.h"
#include "io/compressed_tensors/ct_text.h"
#include "io/tensor_convert.h"
#include "kernels/fp8.h"

namespace as::ct {

using detail::qt;
using detail::shape_str;

using nlohmann::json;


CompressedTensorsReader::CompressedTensorsReader(const std::string& dir) : dir_(dir) {
  const std::string cfg_path = (std::filesystem::path(dir) / "config.json").string();
  check(file_exists(cfg_path), cfg_path + ": missing");
  try {
    config_ = json::parse(read_file(cfg_path));
  } catch (const json::exception& e) {
    throw Error(cfg_path + ": not valid JSON: " + e.what());
  }
  check(config_.is_object() && config_.contains("quantization_config"), cfg_path + ": no quantization_config");
  std::vector<Violation> v;
  auto qc = QuantizationConfig::parse(config_["quantization_config"], v);
  if (!qc) throw Error(cfg_path + ": " + v.front().tensor_or_key + ": " + v.front().message);
  qc_ = std::move(*qc);
  ck_ = std::make_unique<Checkpoint>(dir);

  TargetMatcher matcher(qc_);
  if (!matcher.regex_errors().empty())
    throw Error(cfg_path + ": " + matcher.regex_errors().front().tensor_or_key + ": " +
                matcher.regex_errors().front().message);
  const Inventory inv = build_inventory(ck_->names());
  for (const auto& [module, params] : inv.params) {
    if (module.empty()) continue;
    bool is_linear = params.count("weight_packed") || params.count("weight_scale");
    if (!is_linear && params.count("weight"))
      is_linear = is_linear_weight_candidate(module, ck_->get(module + ".weight").shape);
    if (!is_linear) continue;
    const int g = matcher.group_of(module, true);
    if (g < 0) continue;
    // A module matched by a class target but stored unquantized is not a quantized linear.
    if (!params.count("weight_packed") && !params.count("weight_scale")) continue;
    info_[module] = Module{g, qc_.config_groups[g].second.effective_format(qc_.format)};
    modules_.push_back(module);
  }
  std::sort(modules_.begin(), modules_.end(), natural_less);
}

bool CompressedTensorsReader::is_quantized(const std::string& name) const {
  if (info_.count(name)) return true;
  const std::string suffix = ".weight";
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         info_.count(name.substr(0, name.size() - suffix.size())) > 0;
}

std::string CompressedTensorsReader::canonical(const std::string& name) const {
  if (info_.count(name)) return name;
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string m = name.substr(0, name.size() - suffix.size());
    if (info_.count(m)) return m;
  }
  throw Error(dir_ + ": module " + qt(name) + " is not a quantized linear");
}

const CompressedTensorsReader::Module& CompressedTensorsReader::find(const std::string& module) const {
  return info_.at(canonical(module));
}

const TensorView& CompressedTensorsReader::tensor(const std::string& name) const {
  if (!ck_->contains(name)) throw Error(dir_ + ": tensor " + qt(name) + " is missing");
  return ck_->get(name);
}

const ConfigGroup& CompressedTensorsReader::scheme(const std::string& module) const {
  return qc_.config_groups[find(module).group].second;
}

const std::string& CompressedTensorsReader::group_name(const std::string& module) const {
  return qc_.config_groups[find(module).group].first;
}

const std::string& CompressedTensorsReader::format(const std::string& module) const { return find(module).format; }

std::array<int64_t, 2> CompressedTensorsReader::weight_shape(const std::string& module_in) const {
  const Module& md = find(module_in);
  const std::string m = canonical(module_in);
  if (is_packed_format(md.format)) {
    const TensorView& ws = tensor(m + ".weight_shape");
    if ((ws.dtype != DType::I64 && ws.dtype != DType::I32) || ws.numel() != 2)
      throw Error(dir_ + ": tensor " + qt(m + ".weight_shape") + " must be I64 [2], found " + dtype_name(ws.dtype) +
                  " " + shape_str(ws.shape));
    std::array<int64_t, 2> r{};
    for (int i = 0; i < 2; ++i) {
      if (ws.dtype == DType::I64) {
        std::memcpy(&r[i], ws.data + 8 * i, 8);
      } else {
        int32_t v;
        std::memcpy(&v, ws.data + 4 * i, 4);
        r[i] = v;
      }
    }
    if (r[0] <= 0 || r[1] <= 0)
      throw Error(dir_ + ": tensor " + qt(m + ".weight_shape") + " holds non-positive dimensions");
    return r;
  }
  const TensorView& w = tensor(m + ".weight");
  if (w.shape.size() != 2) throw Error(dir_ + ": tensor " + qt(m + ".weight") + " is not 2-D: " + shape_str(w.shape));
  return {w.shape[0], w.shape[1]};
}

std::vector<int8_t> CompressedTensorsReader::int_codes(const std::string& module_in) const {
  const Module& md = find(module_in);
  const std::string m = canonical(module_in);
  const QuantArgs& w = *qc_.config_groups[md.group].second.weights;
  if (w.type != QuantType::Int) throw Error(dir_ + ": module " + qt(m) + " does not have int weights");
  const auto [n, k] = weight_shape(m);
  const auto exp = expected_tensors(qc_.config_groups[md.group].second, md.format, n, k);
  const std::string wname = exp.front().param;
  const TensorView& t = tensor(m + "." + wname);
  if (t.dtype != exp.front().dtypes.front() || t.shape != exp.front().shape)
    throw Error(dir_ + ": tensor " + qt(m + "." + wname) + " is " + dtype_name(t.dtype) + " " + shape_str(t.shape) +
                ", expected " + dtype_name(exp.front().dtypes.front()) + " " + shape_str(exp.front().shape));
  std::vector<int8_t> q(static_cast<size_t>(n * k));
  if (is_packed_format(md.format)) {
    std::vector<int32_t> words(static_cast<size_t>(t.numel()));
    std::memcpy(words.data(), t.data, t.nbytes);
    unpack_int32_dim1(words.data(), n, k, w.num_bits, q.data());
  } else {
    std::memcpy(q.data(), t.data, q.size());
  }
  return q;
}

void CompressedTensorsReader::dequantize_weight(const std::string& module_in, float* out) const {
  const Module& md = find(module_in);
  const std::string m = canonical(module_in);
  const ConfigGroup& g = qc_.config_groups[md.group].second;
  const QuantArgs& w = *g.weights;
  const auto [n, k] = weight_shape(m);
  const auto exp = expected_tensors(g, md.format, n, k);
  for (const ExpectedTensor& e : exp) {
    if (e.param == "input_scale" || e.param == "input_zero_point") continue;
    const TensorView& t = tensor(m + "." + e.param);
    if (std::find(e.dtypes.begin(), e.dtypes.end(), t.dtype) == e.dtypes.end())
      throw Error(dir_ + ": tensor " + qt(m + "." + e.param) + " has dtype " + dtype_name(t.dtype));
    if (!(t.shape == e.shape || (e.scalar_ok && t.shape.empty())))
      throw Error(dir_ + ": tensor " + qt(m + "." + e.param) + " has shape " + shape_str(t.shape) + ", expected " +
                  shape_str(e.shape));
  }

  const std::vector<float> scale = to_float(tensor(m + ".weight_scale"));
  const std::vector<int64_t> ss = weight_scale_shape(w, n, k);
  const int64_t scols = ss.size() == 2 ? ss[1] : 1;

  // Zero points, unpacked to [rows of scale, scale cols] (ints).
  std::vector<int8_t> zp;
  if (!w.symmetric) {
    const TensorView& z = tensor(m + ".weight_zero_point");
    zp.resize(static_cast<size_t>(ss.size() == 2 ? ss[0] * ss[1] : 1));
    if (zero_point_is_packed(w, md.format)) {
      std::vector<int32_t> words(static_cast<size_t>(z.numel()));
      std::memcpy(words.data(), z.data, z.nbytes);
      unpack_int32_dim0(words.data(), n, scols, w.num_bits, zp.data());
    } else {
      std::memcpy(zp.data(), z.data, zp.size());
    }
  }
  std::vector<int32_t> gidx;
  if (w.actorder == ActOrder::Group) {
    const TensorView& t = tensor(m + ".weight_g_idx");
    gidx.resize(static_cast<size_t>(k));
    std::memcpy(gidx.data(), t.data, 4 * k);
    const int64_t groups = num_groups(w, k);
    for (int64_t i = 0; i < k; ++i)
      if (gidx[i] < 0 || gidx[i] >= groups)
        throw Error(dir_ + ": tensor " + qt(m + ".weight_g_idx") + ": entry " + std::to_string(i) + " = " +
                    std::to_string(gidx[i]) + " outside [0, " + std::to_string(groups) + ")");
  }

  // Column -> scale column, row -> scale row.
  std::vector<int64_t> col(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    switch (w.strategy) {
      case Strategy::Group:
        col[c] = gidx.empty() ? c / *w.group_size : gidx[c];
        break;
      case Strategy::Block:
        col[c] = c / (*w.block_structure)[1];
        break;
      default:
        col[c] = 0;
    }
  }
  auto srow = [&](int64_t r) -> int64_t {
    switch (w.strategy) {
      case Strategy::Tensor: return 0;
      case Strategy::Block: return r / (*w.block_structure)[0];
      default: return r;
    }
  };

  if (w.type == QuantType::Float) {
    const TensorView& t = tensor(m + ".weight");
    for (int64_t r = 0; r < n; ++r) {
      const int64_t sr = srow(r) * scols;
      for (int64_t c = 0; c < k; ++c)
        out[r * k + c] = kernels::e4m3_to_f32(t.data[r * k + c]) * scale[sr + col[c]];
    }
    return;
  }
  const std::vector<int8_t> q = int_codes(m);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t sr = srow(r) * scols;
    for (int64_t c = 0; c < k; ++c) {
      const int64_t si = sr + col[c];
      const int z = zp.empty() ? 0 : zp[si];
      out[r * k + c] = static_cast<float>(q[r * k + c] - z) * scale[si];
    }
  }
}

std::vector<float> CompressedTensorsReader::dequantize_weight(const std::string& module) const {
  const auto [n, k] = weight_shape(module);
  std::vector<float> out(static_cast<size_t>(n * k));
  dequantize_weight(module, out.data());
  return out;
}

std::optional<float> CompressedTensorsReader::input_scale(const std::string& module) const {
  const Module& md = find(module);
  const ConfigGroup& g = qc_.config_groups[md.group].second;
  if (!g.input_activations || g.input_activations->is_dynamic()) return std::nullopt;
  const std::string m = canonical(module);
  const TensorView& t = tensor(m + ".input_scale");
  if (t.numel() != 1) throw Error(dir_ + ": tensor " + qt(m + ".input_scale") + " must hold one value");
  return to_float(t)[0];
}

std::optional<int> CompressedTensorsReader::input_zero_point(const std::string& module) const {
  const Module& md = find(module);
  const ConfigGroup& g = qc_.config_groups[md.group].second;
  if (!g.input_activations || g.input_activations->is_dynamic() || g.input_activations->symmetric) return std::nullopt;
  const std::string m = canonical(module);
  const TensorView& t = tensor(m + ".input_zero_point");
  if (t.numel() != 1 || t.dtype != DType::I8)
    throw Error(dir_ + ": tensor " + qt(m + ".input_zero_point") + " must be I8 [1]");
  return static_cast<int>(static_cast<int8_t>(t.data[0]));
}

}  // namespace as::ct
