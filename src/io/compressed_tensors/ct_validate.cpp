#include "io/compressed_tensors/ct_validate.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "common/error.h"
#include "common/file.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_pack.h"
#include "io/compressed_tensors/ct_text.h"
#include "io/safetensors.h"
#include "io/tensor_convert.h"

namespace as::ct {

using detail::qt;
using detail::shape_str;

using nlohmann::json;

namespace {



std::string dtypes_str(const std::vector<DType>& ds) {
  std::string o;
  for (size_t i = 0; i < ds.size(); ++i) o += (i ? "/" : "") + std::string(dtype_name(ds[i]));
  return o;
}

int64_t load_i64(const uint8_t* p, DType t) {
  if (t == DType::I64) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool tie_word_embeddings(const json& cfg) {
  if (cfg.contains("tie_word_embeddings") && cfg["tie_word_embeddings"].is_boolean())
    return cfg["tie_word_embeddings"].get<bool>();
  if (cfg.contains("text_config") && cfg["text_config"].is_object()) return tie_word_embeddings(cfg["text_config"]);
  return false;
}

bool looks_like_class_name(const std::string& t) {
  return !t.empty() && std::isupper(static_cast<unsigned char>(t[0])) && t.find('.') == std::string::npos;
}

class Validator {
 public:
  Validator(const std::string& dir, const ValidateOptions& opt) : dir_(dir), opt_(opt) {}

  ValidationReport run() {
    try {
      run_checks();
    } catch (const std::exception& e) {
      add(dir_, std::string("validation aborted: ") + e.what());
    }
    if (dropped_ > 0)
      rep_.violations.push_back({dir_, std::to_string(dropped_) + " further violations not listed"});
    rep_.ok = rep_.violations.empty();
    return rep_;
  }

 private:
  void add(const std::string& key, const std::string& msg) {
    if (rep_.violations.size() >= opt_.max_violations) {
      ++dropped_;
      return;
    }
    rep_.violations.push_back({key, msg});
  }
  void warn(const std::string& key, const std::string& msg) { rep_.warnings.push_back({key, msg}); }

  void run_checks() {
    const std::string cfg_path = (std::filesystem::path(dir_) / "config.json").string();
    if (!file_exists(cfg_path)) {
      add("config.json", "missing in " + dir_);
      return;
    }
    json cfg;
    try {
      cfg = json::parse(read_file(cfg_path));
    } catch (const std::exception& e) {
      add("config.json", std::string("not valid JSON: ") + e.what());
      return;
    }
    if (!cfg.is_object()) {
      add("config.json", "top level is not a JSON object");
      return;
    }
    if (!cfg.contains("quantization_config")) {
      add("config.json", "no quantization_config");
      return;
    }
    const json& qj = cfg["quantization_config"];
    if (qj.is_object() && qj.contains("format") && qj["format"].is_string()) rep_.format = qj["format"].get<std::string>();
    std::vector<Violation> pv;
    auto qc = QuantizationConfig::parse(qj, pv);
    for (auto& v : pv) add(v.tensor_or_key, v.message);
    if (!qc) return;
    config_checks(*qc);

    std::unique_ptr<Checkpoint> ck;
    try {
      ck = std::make_unique<Checkpoint>(dir_);
    } catch (const std::exception& e) {
      add(dir_, std::string("safetensors: ") + e.what());
      return;
    }
    ck_ = ck.get();
    tensor_checks(*qc, *ck, cfg);
    ck_ = nullptr;
  }

  // ---- config-level checks -------------------------------------------------------------------
  void config_checks(const QuantizationConfig& qc) {
    const std::string base = "quantization_config";
    std::set<std::string> fmts;
    for (const auto& [name, g] : qc.config_groups) {
      const std::string gk = base + ".config_groups." + name;
      const std::string f = g.effective_format(qc.format);
      fmts.insert(f);
      if (qc.format == kFormatMixedPrecision && !g.format)
        add(gk + ".format", "global format is \"mixed-precision\" but this group has no format of its own");
      if (!is_supported_format(f)) {
        add(gk + ".format", "compression format " + qt(f) +
                                " is not supported by this validator (pack/int/float/naive-quantized only)");
        continue;
      }
      const QuantArgs& w = *g.weights;
      if (w.is_dynamic()) add(gk + ".weights.dynamic", "weights cannot be quantized dynamically");
      if (w.strategy == Strategy::Token || w.strategy == Strategy::AttnHead || w.strategy == Strategy::TensorGroup)
        add(gk + ".weights.strategy", std::string("strategy ") + qt(to_string(w.strategy)) +
                                          " is not supported for weights by this toolkit");
      if (f == kFormatPackQuantized) {
        if (w.type != QuantType::Int) add(gk + ".weights.type", "pack-quantized requires int weights");
        if (w.num_bits > 8) add(gk + ".weights.num_bits", "pack-quantized packs at most 8 bits");
      }
      if (f == kFormatIntQuantized && w.type != QuantType::Int)
        add(gk + ".weights.type", "int-quantized requires int weights");
      if (f == kFormatFloatQuantized && w.type != QuantType::Float)
        add(gk + ".weights.type", "float-quantized requires float weights");
      if (w.type == QuantType::Int && w.num_bits > 8)
        add(gk + ".weights.num_bits", "int weights wider than 8 bits are not supported");
      if (w.type == QuantType::Float && w.num_bits != 8)
        add(gk + ".weights.num_bits", "only FP8 float weights are supported (FP4 uses the nvfp4/mxfp4 formats)");
      if (w.type == QuantType::Float && !w.symmetric)
        add(gk + ".weights.symmetric", "asymmetric float weights are not supported by any engine");
      if (g.input_activations) {
        const QuantArgs& in = *g.input_activations;
        if (!in.is_dynamic() && in.strategy != Strategy::Tensor)
          add(gk + ".input_activations.strategy",
              std::string("static input quantization must be per-tensor (got ") + to_string(in.strategy) + ")");
        if (in.type == QuantType::Float && !in.symmetric)
          add(gk + ".input_activations.symmetric", "asymmetric float activations are not supported");
      }
      if (g.output_activations)
        warn(gk + ".output_activations", "output activation quantization is ignored by vLLM and not validated here");
      if (f == kFormatPackQuantized && w.num_bits == 3)
        warn(gk + ".weights.num_bits",
             "3-bit pack-quantized: compressed-tensors packs 10 values per int32, vLLM builds that size "
             "the tensor as ceil(3K/32) words -- the shapes disagree");
      const std::string vs = vllm_scheme_for(g, qc.format);
      rep_.vllm_schemes.emplace_back(name, vs);
      if (vs.rfind("none", 0) == 0) warn(gk, "vLLM: " + vs);
    }
    if (fmts.size() > 1 && qc.format != kFormatMixedPrecision)
      add(base + ".format", "config groups use different formats but the global format is " + qt(qc.format) +
                                " (must be \"mixed-precision\")");
    if (qc.quantization_status.empty())
      warn(base + ".quantization_status", "absent: compressed-tensors then assumes \"initialized\" (uncompressed); "
                                          "write \"compressed\"");
    if (qc.kv_cache_scheme) warn(base + ".kv_cache_scheme", "KV-cache quantization is not validated");
  }

  // ---- tensor-level checks -------------------------------------------------------------------
  void tensor_checks(const QuantizationConfig& qc, const Checkpoint& ck, const json& cfg) {
    const std::vector<std::string> names = ck.names();
    const Inventory inv = build_inventory(names);
    TargetMatcher matcher(qc);
    for (const auto& v : matcher.regex_errors()) add(v.tensor_or_key, v.message);

    // Targets and ignore entries that name modules.
    for (const auto& [gname, g] : qc.config_groups)
      for (size_t i = 0; i < g.targets.size(); ++i) {
        const std::string& t = g.targets[i];
        const std::string key = "quantization_config.config_groups." + gname + ".targets[" + std::to_string(i) + "]";
        if (t.rfind("re:", 0) == 0 || t == "Linear") continue;
        if (inv.params.count(t) || inv.prefixes.count(t)) continue;
        if (looks_like_class_name(t))
          warn(key, "class target " + qt(t) + " cannot be resolved without the model (only \"Linear\" is)");
        else
          add(key, "target " + qt(t) + " names no module in the checkpoint");
      }
    const bool tied = tie_word_embeddings(cfg);
    for (size_t i = 0; i < qc.ignore.size(); ++i) {
      const std::string& t = qc.ignore[i];
      const std::string key = "quantization_config.ignore[" + std::to_string(i) + "]";
      if (t.rfind("re:", 0) == 0) continue;
      if (looks_like_class_name(t)) {
        warn(key, "class-name ignore " + qt(t) + " cannot be checked without the model");
        continue;
      }
      const std::string wname = t + ".weight";
      if (ck.contains(wname)) {
        const TensorView& tv = ck.get(wname);
        if (!dtype_is_float(tv.dtype) || tv.dtype == DType::F8_E4M3 || tv.dtype == DType::F8_E5M2)
          add(wname, "ignored layer " + qt(t) + " must be stored unquantized in a float dtype, found " +
                         dtype_name(tv.dtype));
      } else if (inv.params.count(t) && inv.params.at(t).count("weight_packed")) {
        add(key, "ignored layer " + qt(t) + " is stored quantized (weight_packed) instead of a float .weight");
      } else {
        const bool lm_head = t == "lm_head" || (t.size() > 8 && t.compare(t.size() - 8, 8, ".lm_head") == 0);
        if (!(lm_head && tied)) add(key, "ignored layer " + qt(t) + " missing: no tensor " + qt(wname));
      }
    }

    // Module resolution.
    std::map<std::string, int> group_of;  // quantized module -> group index
    for (const auto& [module, params] : inv.params) {
      if (module.empty()) continue;
      bool has_quant = false;
      for (const auto& p : params) has_quant = has_quant || is_quant_param(p);
      bool is_linear = params.count("weight_packed") || params.count("weight_scale");
      if (!is_linear && params.count("weight")) is_linear = is_linear_weight_candidate(module, ck.get(module + ".weight").shape);
      if (!is_linear && !has_quant) continue;

      const bool ignored = matcher.is_ignored(module, is_linear);
      const TargetMatcher::Result r = matcher.resolve(module, is_linear);
      if (ignored || r.group < 0) {
        for (const auto& p : params)
          if (is_quant_param(p))
            add(module + "." + p, ignored ? "stray quantization tensor: module " + qt(module) + " is ignored"
                                          : "stray quantization tensor: module " + qt(module) +
                                                " matches no config group");
        if (params.count("weight")) {
          const TensorView& tv = ck.get(module + ".weight");
          if (!dtype_is_float(tv.dtype) || tv.dtype == DType::F8_E4M3 || tv.dtype == DType::F8_E5M2)
            add(module + ".weight", std::string("unquantized module stores a ") + dtype_name(tv.dtype) +
                                        " weight (expected a float dtype)");
        }
        continue;
      }
      // Overlapping groups with different schemes.
      for (int other : r.all_groups) {
        if (other == r.group) continue;
        const auto& a = qc.config_groups[r.group];
        const auto& b = qc.config_groups[other];
        if (!a.second.same_scheme(b.second) ||
            a.second.effective_format(qc.format) != b.second.effective_format(qc.format))
          add(module, "matched by config groups " + qt(a.first) + " and " + qt(b.first) +
                          " with different schemes (CT picks exact > regex > class; vLLM resolves fused "
                          "q/k/v and gate/up layers by class first)");
      }
      group_of[module] = r.group;
      check_module(qc, ck, module, params, r.group);
    }
    rep_.quantized_modules = group_of.size();

    // vLLM fuses these shards and needs one scheme for all of them.
    static const std::vector<std::vector<std::string>> fused = {{"q_proj", "k_proj", "v_proj"},
                                                                {"gate_proj", "up_proj"}};
    for (const auto& [module, params] : inv.params) {
      const size_t dot = module.rfind('.');
      if (dot == std::string::npos) continue;
      const std::string parent = module.substr(0, dot), last = module.substr(dot + 1);
      for (const auto& set : fused) {
        if (last != set[0]) continue;
        std::vector<std::string> shards;
        for (const auto& s : set)
          if (inv.params.count(parent + "." + s)) shards.push_back(parent + "." + s);
        if (shards.size() < 2) continue;
        auto scheme_of = [&](const std::string& m) -> std::string {
          auto it = group_of.find(m);
          if (it == group_of.end()) return "unquantized";
          const auto& g = qc.config_groups[it->second].second;
          ConfigGroup c = g;
          c.targets.clear();
          c.format = g.effective_format(qc.format);
          return c.to_json().dump();
        };
        const std::string first = scheme_of(shards[0]);
        for (size_t i = 1; i < shards.size(); ++i)
          if (scheme_of(shards[i]) != first)
            add(shards[i], "vLLM fuses " + qt(shards[0]) + " and " + qt(shards[i]) +
                               " into one layer; they must share one scheme (or both be ignored)");
      }
    }
  }

  // Validates one quantized module's tensors.
  void check_module(const QuantizationConfig& qc, const Checkpoint& ck, const std::string& m,
                    const std::set<std::string>& params, int gi) {
    const auto& [gname, g] = qc.config_groups[gi];
    const std::string fmt = g.effective_format(qc.format);
    if (!is_supported_format(fmt)) return;  // reported at config level
    const QuantArgs& w = *g.weights;
    if (w.type == QuantType::Int && w.num_bits > 8) return;
    if (w.type == QuantType::Float && w.num_bits != 8) return;
    if (w.strategy == Strategy::Token || w.strategy == Strategy::AttnHead || w.strategy == Strategy::TensorGroup) return;
    if (g.input_activations && !g.input_activations->is_dynamic() &&
        g.input_activations->strategy != Strategy::Tensor)
      return;
    if (fmt == kFormatPackQuantized && w.type != QuantType::Int) return;

    // Determine [N, K].
    int64_t n = -1, k = -1;
    const bool packed = fmt == kFormatPackQuantized;
    if (packed) {
      if (params.count("weight")) add(m + ".weight", "pack-quantized module must store weight_packed, not weight");
      if (!params.count("weight_packed")) {
        add(m + ".weight_packed", "missing (module quantized by group " + qt(gname) + ", format pack-quantized)");
        return;
      }
      if (!params.count("weight_shape")) {
        add(m + ".weight_shape", "missing (pack-quantized needs the original [out, in] shape)");
        return;
      }
      const TensorView& ws = ck.get(m + ".weight_shape");
      if ((ws.dtype != DType::I64 && ws.dtype != DType::I32) || ws.shape != std::vector<int64_t>{2}) {
        add(m + ".weight_shape", std::string("must be I64 [2], found ") + dtype_name(ws.dtype) + " " + shape_str(ws.shape));
        return;
      }
      n = load_i64(ws.data, ws.dtype);
      k = load_i64(ws.data + dtype_size(ws.dtype), ws.dtype);
      if (n <= 0 || k <= 0) {
        add(m + ".weight_shape", "values [" + std::to_string(n) + ", " + std::to_string(k) + "] must be positive");
        return;
      }
      const TensorView& wp = ck.get(m + ".weight_packed");
      if (wp.shape.size() == 2 && (wp.shape[0] != n || wp.shape[1] != packed_length(k, w.num_bits)))
        add(m + ".weight_shape", "values [" + std::to_string(n) + ", " + std::to_string(k) +
                                     "] disagree with weight_packed shape " + shape_str(wp.shape) + " (expected [" +
                                     std::to_string(n) + ", " + std::to_string(packed_length(k, w.num_bits)) + "] for " +
                                     std::to_string(w.num_bits) + "-bit)");
    } else {
      if (params.count("weight_packed")) add(m + ".weight_packed", "format " + qt(fmt) + " stores .weight, not weight_packed");
      if (!params.count("weight")) {
        add(m + ".weight", "missing (module quantized by group " + qt(gname) + ")");
        return;
      }
      const TensorView& wt = ck.get(m + ".weight");
      if (wt.shape.size() != 2) {
        add(m + ".weight", "quantized weight must be 2-D, found " + shape_str(wt.shape));
        return;
      }
      n = wt.shape[0];
      k = wt.shape[1];
    }

    std::vector<ExpectedTensor> exp;
    try {
      exp = expected_tensors(g, fmt, n, k);
    } catch (const std::exception& e) {
      add(m, e.what());
      return;
    }
    std::set<std::string> expected_names;
    bool shapes_ok = true;
    for (const ExpectedTensor& e : exp) {
      expected_names.insert(e.param);
      const std::string tn = m + "." + e.param;
      if (!params.count(e.param)) {
        std::string why;
        if (e.param == "weight_zero_point") why = " (weights are asymmetric)";
        if (e.param == "weight_g_idx") why = " (actorder \"group\")";
        if (e.param == "input_scale") why = " (static input quantization)";
        add(tn, "missing" + why);
        shapes_ok = false;
        continue;
      }
      const TensorView& tv = ck.get(tn);
      bool dt = false;
      for (DType d : e.dtypes) dt = dt || d == tv.dtype;
      if (!dt) {
        add(tn, std::string("wrong dtype ") + dtype_name(tv.dtype) + " (expected " + dtypes_str(e.dtypes) + ")");
        shapes_ok = false;
      }
      const bool shape_ok = tv.shape == e.shape || (e.scalar_ok && tv.shape.empty());
      if (!shape_ok) {
        add(tn, "wrong shape " + shape_str(tv.shape) + " (expected " + shape_str(e.shape) + ")");
        shapes_ok = false;
      }
    }
    for (const auto& p : params) {
      if (!is_quant_param(p) || expected_names.count(p)) continue;
      std::string why = "not part of the scheme of group " + qt(gname);
      if (p == "weight_zero_point") why = "weights are symmetric: no zero point is stored";
      if (p == "weight_g_idx") why = "no actorder \"group\": no g_idx is stored";
      if (p == "input_scale") why = "input activations are not statically quantized";
      add(m + "." + p, "unexpected tensor: " + why);
    }
    if (w.strategy == Strategy::Group && w.group_size && k % *w.group_size != 0)
      warn(m, "in_features " + std::to_string(k) + " not divisible by group_size " + std::to_string(*w.group_size) +
                  ": vLLM allocates K/group_size scale columns (export this layer per-channel)");
    if (!shapes_ok || !opt_.scan_values) return;
    scan_values(g, fmt, m, n, k);
  }

  // Value scans over one module's tensors (shapes and dtypes already verified).
  void scan_values(const ConfigGroup& g, const std::string& fmt, const std::string& m, int64_t n, int64_t k) {
    const Checkpoint& ck = *ck_;
    const QuantArgs& w = *g.weights;
    const int bits = w.num_bits;
    const int64_t groups = num_groups(w, k);

    if (fmt == kFormatPackQuantized) {
      const TensorView& wp = ck.get(m + ".weight_packed");
      const int pf = pack_factor(bits);
      const int64_t pc = packed_length(k, bits);
      const int last_count = static_cast<int>(k - (pc - 1) * pf);
      const uint32_t full_mask = padding_mask(pf, bits), last_mask = padding_mask(last_count, bits);
      int64_t bad = 0, first = -1;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < pc; ++c) {
          const uint32_t word = load_u32(wp.data + 4 * (r * pc + c));
          if (word & (c + 1 == pc ? last_mask : full_mask)) {
            if (first < 0) first = r * pc + c;
            ++bad;
          }
        }
      if (bad)
        add(m + ".weight_packed", std::to_string(bad) + " words have non-zero padding bits (first at row " +
                                      std::to_string(first / pc) + ", word " + std::to_string(first % pc) + ")");
    } else if (w.type == QuantType::Int) {
      const TensorView& wt = ck.get(m + ".weight");
      if (bits < 8) {
        int64_t bad = 0, first = -1;
        const auto* p = reinterpret_cast<const int8_t*>(wt.data);
        for (int64_t i = 0; i < n * k; ++i)
          if (p[i] < w.qmin() || p[i] > w.qmax()) {
            if (first < 0) first = i;
            ++bad;
          }
        if (bad)
          add(m + ".weight", std::to_string(bad) + " codes outside the " + std::to_string(bits) + "-bit range [" +
                                 std::to_string(w.qmin()) + ", " + std::to_string(w.qmax()) + "] (first at [" +
                                 std::to_string(first / k) + ", " + std::to_string(first % k) + "])");
      }
    } else {
      const TensorView& wt = ck.get(m + ".weight");
      int64_t bad = 0, first = -1;
      for (int64_t i = 0; i < n * k; ++i)
        if ((wt.data[i] & 0x7F) == 0x7F) {
          if (first < 0) first = i;
          ++bad;
        }
      if (bad)
        add(m + ".weight", std::to_string(bad) + " FP8 E4M3 bytes are NaN (0x7F/0xFF) (first at [" +
                               std::to_string(first / k) + ", " + std::to_string(first % k) + "])");
    }

    auto check_scale = [&](const std::string& tn) {
      const TensorView& tv = ck.get(tn);
      const std::vector<float> v = to_float(tv);
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < v.size(); ++i)
        if (!(std::isfinite(v[i]) && v[i] > 0.0f)) {
          if (!bad) first = i;
          ++bad;
        }
      if (bad)
        add(tn, std::to_string(bad) + " scales are not finite and > 0 (first at flat index " + std::to_string(first) +
                    ": " + std::to_string(v[first]) + ")");
    };
    check_scale(m + ".weight_scale");
    if (g.input_activations && !g.input_activations->is_dynamic()) check_scale(m + ".input_scale");

    if (!w.symmetric) {
      const TensorView& zp = ck.get(m + ".weight_zero_point");
      if (zero_point_is_packed(w, fmt)) {
        const int pf = pack_factor(bits);
        const int64_t pr = packed_length(n, bits);
        const int last_count = static_cast<int>(n - (pr - 1) * pf);
        const uint32_t full_mask = padding_mask(pf, bits), last_mask = padding_mask(last_count, bits);
        int64_t bad = 0;
        for (int64_t r = 0; r < pr; ++r)
          for (int64_t c = 0; c < groups; ++c)
            if (load_u32(zp.data + 4 * (r * groups + c)) & (r + 1 == pr ? last_mask : full_mask)) ++bad;
        if (bad) add(m + ".weight_zero_point", std::to_string(bad) + " packed words have non-zero padding bits");
      } else {
        int64_t bad = 0;
        const auto* p = reinterpret_cast<const int8_t*>(zp.data);
        const int64_t cnt = static_cast<int64_t>(zp.nbytes);
        for (int64_t i = 0; i < cnt; ++i)
          if (p[i] < w.qmin() || p[i] > w.qmax()) ++bad;
        if (bad)
          add(m + ".weight_zero_point", std::to_string(bad) + " zero points outside [" + std::to_string(w.qmin()) +
                                            ", " + std::to_string(w.qmax()) + "]");
      }
    }
    if (w.actorder == ActOrder::Group) {
      const TensorView& gi = ck.get(m + ".weight_g_idx");
      int64_t bad = 0, first = -1;
      for (int64_t i = 0; i < k; ++i) {
        int32_t v;
        std::memcpy(&v, gi.data + 4 * i, 4);
        if (v < 0 || v >= groups) {
          if (first < 0) first = i;
          ++bad;
        }
      }
      if (bad)
        add(m + ".weight_g_idx", std::to_string(bad) + " group indices outside [0, " + std::to_string(groups) +
                                     ") (first at " + std::to_string(first) + ")");
    }
    if (g.input_activations && !g.input_activations->is_dynamic() && !g.input_activations->symmetric) {
      const QuantArgs& in = *g.input_activations;
      const TensorView& zp = ck.get(m + ".input_zero_point");
      const auto* p = reinterpret_cast<const int8_t*>(zp.data);
      if (in.type == QuantType::Int && in.num_bits <= 8 && (p[0] < in.qmin() || p[0] > in.qmax()))
        add(m + ".input_zero_point", "zero point " + std::to_string(int(p[0])) + " outside the input range");
    }
    // The scans touched every page of this module's tensors; drop them from the process so that
    // validating a large checkpoint (which export does) does not grow the resident set by its size.
    for (const char* suffix : {".weight_packed", ".weight", ".weight_scale", ".weight_zero_point", ".weight_g_idx",
                               ".input_scale", ".input_zero_point"})
      if (ck.contains(m + suffix)) ck.release(m + suffix);
  }

  std::string dir_;
  ValidateOptions opt_;
  ValidationReport rep_;
  size_t dropped_ = 0;
  const Checkpoint* ck_ = nullptr;
};

}  // namespace

json ValidationReport::to_json() const {
  json j = json::object();
  j["ok"] = ok;
  j["format"] = format;
  auto list = [](const std::vector<Violation>& vs) {
    json a = json::array();
    for (const auto& v : vs) a.push_back({{"tensor_or_key", v.tensor_or_key}, {"message", v.message}});
    return a;
  };
  j["violations"] = list(violations);
  j["warnings"] = list(warnings);
  json s = json::object();
  for (const auto& [g, v] : vllm_schemes) s[g] = v;
  j["vllm_schemes"] = s;
  j["quantized_modules"] = quantized_modules;
  return j;
}

std::string ValidationReport::summary(size_t max_lines) const {
  std::string o;
  for (size_t i = 0; i < violations.size() && i < max_lines; ++i)
    o += (i ? "\n" : "") + violations[i].tensor_or_key + ": " + violations[i].message;
  if (violations.size() > max_lines) o += "\n... " + std::to_string(violations.size() - max_lines) + " more";
  return o;
}

ValidationReport validate_compressed_tensors(const std::string& dir, const ValidateOptions& opt) {
  return Validator(dir, opt).run();
}

}  // namespace as::ct
