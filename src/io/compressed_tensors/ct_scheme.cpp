#include "io/compressed_tensors/ct_scheme.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/error.h"

namespace as::ct {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string qt(const std::string& s) { return "\"" + s + "\""; }

// Collects violations; `ok` tells whether any was added since construction.
struct Sink {
  std::vector<Violation>& out;
  size_t start;
  explicit Sink(std::vector<Violation>& o) : out(o), start(o.size()) {}
  void add(const std::string& key, const std::string& msg) { out.push_back({key, msg}); }
  bool ok() const { return out.size() == start; }
};

// JSON integer (not bool, not float with a fraction).
bool get_int(const json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

const std::set<std::string>& quant_args_keys() {
  static const std::set<std::string> k = {"num_bits", "type",     "symmetric", "group_size",
                                          "strategy", "block_structure", "dynamic", "actorder",
                                          "observer", "observer_kwargs"};
  return k;
}

std::optional<Strategy> strategy_from(const std::string& s) {
  const std::string l = lower(s);
  if (l == "tensor") return Strategy::Tensor;
  if (l == "channel") return Strategy::Channel;
  if (l == "group") return Strategy::Group;
  if (l == "block") return Strategy::Block;
  if (l == "token") return Strategy::Token;
  if (l == "tensor_group") return Strategy::TensorGroup;
  if (l == "attn_head") return Strategy::AttnHead;
  return std::nullopt;
}

const char* kAllFormats[] = {"dense",           "sparse-bitmask", "sparse-24-bitmask", "int-quantized",
                             "float-quantized", "naive-quantized", "pack-quantized",   "marlin-24",
                             "mixed-precision", "nvfp4-pack-quantized", "mxfp4-pack-quantized"};

}  // namespace

const char* to_string(QuantType t) { return t == QuantType::Int ? "int" : "float"; }

const char* to_string(Strategy s) {
  switch (s) {
    case Strategy::Tensor: return "tensor";
    case Strategy::Channel: return "channel";
    case Strategy::Group: return "group";
    case Strategy::Block: return "block";
    case Strategy::Token: return "token";
    case Strategy::TensorGroup: return "tensor_group";
    case Strategy::AttnHead: return "attn_head";
  }
  return "tensor";
}

const char* to_string(ActOrder a) {
  switch (a) {
    case ActOrder::None: return "null";
    case ActOrder::Group: return "group";
    case ActOrder::Weight: return "weight";
  }
  return "null";
}

bool is_known_format(const std::string& f) {
  for (const char* k : kAllFormats)
    if (f == k) return true;
  return false;
}

bool is_supported_format(const std::string& f) {
  return f == kFormatPackQuantized || f == kFormatIntQuantized || f == kFormatFloatQuantized ||
         f == kFormatNaiveQuantized;
}

bool is_activation_format(const std::string& f) {
  return f == kFormatNaiveQuantized || f == kFormatIntQuantized || f == kFormatFloatQuantized ||
         f == "nvfp4-pack-quantized";
}

// ---- QuantArgs -----------------------------------------------------------------------------------

json QuantArgs::to_json() const {
  json j = json::object();
  j["num_bits"] = num_bits;
  j["type"] = to_string(type);
  j["symmetric"] = symmetric;
  j["group_size"] = group_size ? json(*group_size) : json(nullptr);
  j["strategy"] = to_string(strategy);
  j["block_structure"] = block_structure ? json::array({(*block_structure)[0], (*block_structure)[1]}) : json(nullptr);
  if (dynamic == Dynamic::Local)
    j["dynamic"] = "local";
  else
    j["dynamic"] = dynamic == Dynamic::True;
  j["actorder"] = actorder == ActOrder::None ? json(nullptr) : json(to_string(actorder));
  if (dynamic == Dynamic::True)
    j["observer"] = nullptr;  // CT drops the observer for fully dynamic quantization
  else
    j["observer"] = observer ? *observer : std::string("minmax");
  j["observer_kwargs"] = observer_kwargs.is_object() ? observer_kwargs : json::object();
  return j;
}

std::optional<QuantArgs> QuantArgs::parse(const json& j, const std::string& where, std::vector<Violation>& out) {
  Sink sink(out);
  QuantArgs a;
  if (!j.is_object()) {
    sink.add(where, "QuantizationArgs must be a JSON object");
    return std::nullopt;
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!quant_args_keys().count(it.key()))
      sink.add(where + "." + it.key(), "unknown key " + qt(it.key()) +
                                           " (compressed-tensors QuantizationArgs forbids extra keys)");

  std::optional<Strategy> strategy;
  if (j.contains("num_bits")) {
    int64_t v = 0;
    if (!get_int(j["num_bits"], v))
      sink.add(where + ".num_bits", "must be an integer");
    else if (v < 1 || v > 32)
      sink.add(where + ".num_bits", "must be in [1, 32], got " + std::to_string(v));
    else
      a.num_bits = static_cast<int>(v);
  }
  if (j.contains("type")) {
    const json& v = j["type"];
    if (!v.is_string())
      sink.add(where + ".type", "must be \"int\" or \"float\"");
    else if (lower(v.get<std::string>()) == "int")
      a.type = QuantType::Int;
    else if (lower(v.get<std::string>()) == "float")
      a.type = QuantType::Float;
    else
      sink.add(where + ".type", "must be \"int\" or \"float\", got " + qt(v.get<std::string>()));
  }
  if (j.contains("symmetric")) {
    if (!j["symmetric"].is_boolean())
      sink.add(where + ".symmetric", "must be a boolean");
    else
      a.symmetric = j["symmetric"].get<bool>();
  }
  if (j.contains("group_size") && !j["group_size"].is_null()) {
    int64_t v = 0;
    if (!get_int(j["group_size"], v))
      sink.add(where + ".group_size", "must be an integer or null");
    else if (v < -1)
      sink.add(where + ".group_size", "invalid group size " + std::to_string(v) +
                                          " (use > 0 for strategy group, -1 for channel)");
    else
      a.group_size = static_cast<int>(v);
  }
  if (j.contains("strategy") && !j["strategy"].is_null()) {
    const json& v = j["strategy"];
    if (!v.is_string())
      sink.add(where + ".strategy", "must be a string or null");
    else if (auto s = strategy_from(v.get<std::string>()))
      strategy = *s;
    else
      sink.add(where + ".strategy", "unknown strategy " + qt(v.get<std::string>()) +
                                        " (tensor, channel, group, block, token, tensor_group, attn_head)");
  }
  if (j.contains("block_structure") && !j["block_structure"].is_null()) {
    const json& v = j["block_structure"];
    bool good = false;
    std::array<int, 2> bs{0, 0};
    if (v.is_array() && v.size() == 2) {
      int64_t r = 0, c = 0;
      if (!v[0].is_boolean() && !v[1].is_boolean() && v[0].is_number_integer() && v[1].is_number_integer()) {
        r = v[0].get<int64_t>();
        c = v[1].get<int64_t>();
        good = true;
        bs = {static_cast<int>(r), static_cast<int>(c)};
      }
    } else if (v.is_string()) {  // legacy "128x128"
      const std::string s = v.get<std::string>();
      const size_t x = s.find('x');
      if (x != std::string::npos && x > 0 && x + 1 < s.size()) {
        try {
          size_t p1 = 0, p2 = 0;
          const int r = std::stoi(s.substr(0, x), &p1);
          const int c = std::stoi(s.substr(x + 1), &p2);
          if (p1 == x && p2 == s.size() - x - 1) {
            bs = {r, c};
            good = true;
          }
        } catch (...) {
        }
      }
    }
    if (!good)
      sink.add(where + ".block_structure", "must be a list of two ints [rows, cols]");
    else if (bs[0] <= 0 || bs[1] <= 0)
      sink.add(where + ".block_structure", "block dimensions must be positive");
    else
      a.block_structure = bs;
  }
  if (j.contains("dynamic")) {
    const json& v = j["dynamic"];
    if (v.is_boolean())
      a.dynamic = v.get<bool>() ? Dynamic::True : Dynamic::False;
    else if (v.is_string() && lower(v.get<std::string>()) == "local")
      a.dynamic = Dynamic::Local;
    else
      sink.add(where + ".dynamic", "must be a boolean or \"local\"");
  }
  if (j.contains("actorder") && !j["actorder"].is_null()) {
    const json& v = j["actorder"];
    if (v.is_boolean()) {
      a.actorder = v.get<bool>() ? ActOrder::Group : ActOrder::None;
    } else if (v.is_string()) {
      const std::string s = lower(v.get<std::string>());
      if (s == "group" || s == "dynamic")
        a.actorder = ActOrder::Group;
      else if (s == "weight" || s == "static")
        a.actorder = ActOrder::Weight;
      else
        sink.add(where + ".actorder", "unknown activation ordering " + qt(v.get<std::string>()));
    } else {
      sink.add(where + ".actorder", "must be null, a boolean or \"group\"/\"weight\"");
    }
  }
  if (j.contains("observer") && !j["observer"].is_null()) {
    if (!j["observer"].is_string())
      sink.add(where + ".observer", "must be a string or null");
    else
      a.observer = j["observer"].get<std::string>();
  }
  if (j.contains("observer_kwargs")) {
    if (!j["observer_kwargs"].is_object())
      sink.add(where + ".observer_kwargs", "must be an object");
    else
      a.observer_kwargs = j["observer_kwargs"];
  }
  if (!sink.ok()) return std::nullopt;

  // Model-level rules (CT validate_model_after).
  if (!strategy) {
    if (!a.group_size)
      strategy = Strategy::Tensor;
    else if (*a.group_size > 0)
      strategy = Strategy::Group;
    else if (*a.group_size == -1)
      strategy = Strategy::Channel;
    else
      sink.add(where + ".group_size", "invalid group size " + std::to_string(*a.group_size) +
                                          " (use > 0 for strategy group, -1 for channel)");
  }
  if (!sink.ok()) return std::nullopt;
  a.strategy = *strategy;
  const std::string st = std::string("strategy ") + qt(to_string(a.strategy));
  if (a.strategy == Strategy::Token && !a.is_dynamic())
    sink.add(where + ".dynamic", "token strategy requires dynamic: true (static token quantization is impossible)");
  if ((a.strategy == Strategy::Group || a.strategy == Strategy::TensorGroup) && (!a.group_size || *a.group_size <= 0))
    sink.add(where + ".group_size", st + " requires group_size to be a positive integer");
  if (a.group_size && *a.group_size > 0 && a.strategy != Strategy::Group && a.strategy != Strategy::TensorGroup)
    sink.add(where + ".group_size", "group_size " + std::to_string(*a.group_size) + " requires strategy \"group\"");
  if (a.strategy == Strategy::Block && !a.block_structure)
    sink.add(where + ".block_structure", "block strategy requires block_structure [rows, cols]");
  if (a.block_structure && a.strategy != Strategy::Block)
    sink.add(where + ".block_structure", "block_structure requires strategy \"block\"");
  if (a.actorder != ActOrder::None && a.strategy != Strategy::Group)
    sink.add(where + ".actorder", "activation ordering requires strategy \"group\"");
  if (a.is_dynamic() && a.strategy != Strategy::Token && a.strategy != Strategy::Tensor &&
      a.strategy != Strategy::TensorGroup && a.strategy != Strategy::Group)
    sink.add(where + ".dynamic", "dynamic quantization requires strategy token, tensor, tensor_group or group (got " +
                                     std::string(to_string(a.strategy)) + ")");
  if (a.dynamic == Dynamic::Local && a.strategy != Strategy::TensorGroup)
    sink.add(where + ".dynamic", "\"local\" is only supported for strategy tensor_group");
  if (a.type == QuantType::Float && a.num_bits != 8 && a.num_bits != 4)
    sink.add(where + ".num_bits", "float quantization supports num_bits 8 (FP8 E4M3) or 4 (FP4) only, got " +
                                      std::to_string(a.num_bits));
  if (!sink.ok()) return std::nullopt;
  return a;
}

QuantArgs QuantArgs::from_json(const json& j, const std::string& where) {
  std::vector<Violation> v;
  auto a = parse(j, where, v);
  if (!a) throw Error(v.front().tensor_or_key + ": " + v.front().message);
  return *a;
}

bool QuantArgs::same_quantization(const QuantArgs& o) const {
  return num_bits == o.num_bits && type == o.type && symmetric == o.symmetric && strategy == o.strategy &&
         group_size == o.group_size && block_structure == o.block_structure && dynamic == o.dynamic &&
         actorder == o.actorder;
}

// ---- ConfigGroup -----------------------------------------------------------------------------------

namespace {
bool same_opt(const std::optional<QuantArgs>& a, const std::optional<QuantArgs>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || a->same_quantization(*b);
}
}  // namespace

json ConfigGroup::to_json() const {
  json j = json::object();
  j["targets"] = targets;
  j["weights"] = weights ? weights->to_json() : json(nullptr);
  j["input_activations"] = input_activations ? input_activations->to_json() : json(nullptr);
  j["output_activations"] = output_activations ? output_activations->to_json() : json(nullptr);
  j["format"] = format ? json(*format) : json(nullptr);
  return j;
}

std::optional<ConfigGroup> ConfigGroup::parse(const json& j, const std::string& where, std::vector<Violation>& out) {
  Sink sink(out);
  ConfigGroup g;
  if (!j.is_object()) {
    sink.add(where, "config group must be a JSON object");
    return std::nullopt;
  }
  static const std::set<std::string> keys = {"targets", "weights", "input_activations", "output_activations",
                                             "format"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key()))
      sink.add(where + "." + it.key(), "unknown key " + qt(it.key()) +
                                           " (compressed-tensors QuantizationScheme forbids extra keys)");
  if (!j.contains("targets") || !j["targets"].is_array()) {
    sink.add(where + ".targets", "required list of target strings is missing");
  } else {
    for (size_t i = 0; i < j["targets"].size(); ++i) {
      if (!j["targets"][i].is_string())
        sink.add(where + ".targets[" + std::to_string(i) + "]", "must be a string");
      else
        g.targets.push_back(j["targets"][i].get<std::string>());
    }
    if (g.targets.empty() && j["targets"].empty()) sink.add(where + ".targets", "empty target list");
  }
  auto args = [&](const char* key, std::optional<QuantArgs>& dst) {
    if (!j.contains(key) || j[key].is_null()) return;
    dst = QuantArgs::parse(j[key], where + "." + key, out);
  };
  args("weights", g.weights);
  args("input_activations", g.input_activations);
  args("output_activations", g.output_activations);
  if (j.contains("format") && !j["format"].is_null()) {
    if (!j["format"].is_string()) {
      sink.add(where + ".format", "must be a string or null");
    } else {
      g.format = j["format"].get<std::string>();
      if (*g.format == kFormatMixedPrecision)
        sink.add(where + ".format", "\"mixed-precision\" cannot be the format of a single config group");
      else if (!is_known_format(*g.format))
        sink.add(where + ".format", "unknown compression format " + qt(*g.format));
    }
  }
  if (!sink.ok()) return std::nullopt;
  if (g.input_activations) {
    const Strategy s = g.input_activations->strategy;
    if (s != Strategy::Token && s != Strategy::Tensor && s != Strategy::Group && s != Strategy::TensorGroup &&
        s != Strategy::AttnHead)
      sink.add(where + ".input_activations.strategy",
               std::string("strategy ") + qt(to_string(s)) + " is not supported for activation quantization");
    if (g.input_activations->actorder != ActOrder::None)
      sink.add(where + ".input_activations.actorder", "cannot apply actorder to input activations");
  }
  if (g.output_activations && g.output_activations->actorder != ActOrder::None)
    sink.add(where + ".output_activations.actorder", "cannot apply actorder to output activations");
  if (!sink.ok()) return std::nullopt;
  return g;
}

ConfigGroup ConfigGroup::from_json(const json& j, const std::string& where) {
  std::vector<Violation> v;
  auto g = parse(j, where, v);
  if (!g) throw Error(v.front().tensor_or_key + ": " + v.front().message);
  return *g;
}

bool ConfigGroup::same_scheme(const ConfigGroup& o) const {
  return same_opt(weights, o.weights) && same_opt(input_activations, o.input_activations) &&
         same_opt(output_activations, o.output_activations) && format == o.format;
}

// ---- QuantizationConfig ----------------------------------------------------------------------------

json QuantizationConfig::to_json() const {
  json j = extra.is_object() ? extra : json::object();
  json groups = json::object();
  for (const auto& [name, g] : config_groups) groups[name] = g.to_json();
  j["config_groups"] = groups;
  j["format"] = format;
  if (!j.contains("global_compression_ratio")) j["global_compression_ratio"] = nullptr;
  j["ignore"] = ignore;
  j["kv_cache_scheme"] = kv_cache_scheme ? kv_cache_scheme->to_json() : json(nullptr);
  j["quant_method"] = quant_method;
  j["quantization_status"] = quantization_status.empty() ? std::string("compressed") : quantization_status;
  if (!j.contains("sparsity_config")) j["sparsity_config"] = json::object();
  if (!j.contains("transform_config")) j["transform_config"] = json::object();
  j["version"] = version;
  return j;
}

std::optional<QuantizationConfig> QuantizationConfig::parse(const json& j, std::vector<Violation>& out,
                                                            const std::string& where) {
  Sink sink(out);
  QuantizationConfig c;
  if (!j.is_object()) {
    sink.add(where, "must be a JSON object");
    return std::nullopt;
  }
  static const std::set<std::string> known = {"config_groups", "format", "quantization_status", "ignore",
                                              "kv_cache_scheme", "quant_method", "version"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) c.extra[it.key()] = it.value();

  if (!j.contains("quant_method") || !j["quant_method"].is_string())
    sink.add(where + ".quant_method", "missing (must be \"compressed-tensors\")");
  else if (j["quant_method"].get<std::string>() != "compressed-tensors")
    sink.add(where + ".quant_method", "must be \"compressed-tensors\", got " + qt(j["quant_method"].get<std::string>()));
  else
    c.quant_method = j["quant_method"].get<std::string>();

  if (!j.contains("format") || !j["format"].is_string()) {
    sink.add(where + ".format", "missing global compression format");
  } else {
    c.format = j["format"].get<std::string>();
    if (!is_known_format(c.format)) sink.add(where + ".format", "unknown compression format " + qt(c.format));
  }
  if (!j.contains("quantization_status") || j["quantization_status"].is_null()) {
    c.quantization_status.clear();  // absent: vLLM does not read it; the validator warns
  } else if (!j["quantization_status"].is_string()) {
    sink.add(where + ".quantization_status", "must be a string");
  } else {
    c.quantization_status = j["quantization_status"].get<std::string>();
    static const std::set<std::string> st = {"initialized", "calibration", "frozen", "compressed"};
    if (!st.count(c.quantization_status))
      sink.add(where + ".quantization_status", "unknown status " + qt(c.quantization_status));
    else if (c.quantization_status != "compressed")
      sink.add(where + ".quantization_status",
               "is " + qt(c.quantization_status) + ": tensors are not stored compressed (must be \"compressed\")");
  }
  if (j.contains("ignore") && !j["ignore"].is_null()) {
    if (!j["ignore"].is_array()) {
      sink.add(where + ".ignore", "must be a list of strings");
    } else {
      for (size_t i = 0; i < j["ignore"].size(); ++i) {
        if (!j["ignore"][i].is_string())
          sink.add(where + ".ignore[" + std::to_string(i) + "]", "must be a string");
        else
          c.ignore.push_back(j["ignore"][i].get<std::string>());
      }
    }
  }
  if (j.contains("kv_cache_scheme") && !j["kv_cache_scheme"].is_null())
    c.kv_cache_scheme = QuantArgs::parse(j["kv_cache_scheme"], where + ".kv_cache_scheme", out);
  if (j.contains("version") && j["version"].is_string()) c.version = j["version"].get<std::string>();

  if (!j.contains("config_groups") || !j["config_groups"].is_object()) {
    sink.add(where + ".config_groups", "missing (must map group names to schemes)");
  } else {
    const json& groups = j["config_groups"];
    if (groups.empty()) sink.add(where + ".config_groups", "no config groups");
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      const std::string gw = where + ".config_groups." + it.key();
      if (it.value().is_array()) {
        sink.add(gw, "preset-name group (a list of targets) is not supported: vLLM and SGLang expect a full scheme "
                     "object with \"targets\" and \"weights\"");
        continue;
      }
      auto g = ConfigGroup::parse(it.value(), gw, out);
      if (!g) continue;
      if (!g->weights) sink.add(gw + ".weights", "missing: vLLM/SGLang require weights QuantizationArgs in every group");
      c.config_groups.emplace_back(it.key(), std::move(*g));
    }
  }
  if (!sink.ok()) return std::nullopt;
  return c;
}

QuantizationConfig QuantizationConfig::from_json(const json& j) {
  std::vector<Violation> v;
  auto c = parse(j, v);
  if (!c) throw Error(v.front().tensor_or_key + ": " + v.front().message);
  return *c;
}

// ---- matching ----------------------------------------------------------------------------------------

std::optional<std::regex> compile_target_regex(const std::string& target, std::string* error) {
  if (target.rfind("re:", 0) != 0) {
    if (error) *error = "not a \"re:\" target";
    return std::nullopt;
  }
  try {
    return std::regex(target.substr(3), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    if (error) *error = std::string("invalid regex: ") + e.what();
    return std::nullopt;
  }
}

namespace {
bool re_match_start(const std::regex& re, const std::string& name) {
  // Python re.match: anchored at the start only.
  return std::regex_search(name, re, std::regex_constants::match_continuous);
}
}  // namespace

bool regex_target_matches(const std::string& target, const std::string& name) {
  auto re = compile_target_regex(target);
  return re && re_match_start(*re, name);
}

MatchKind match_target(const std::string& target, const std::string& name, bool is_linear) {
  if (target.rfind("re:", 0) == 0) return regex_target_matches(target, name) ? MatchKind::Regex : MatchKind::None;
  if (target == name) return MatchKind::Exact;
  if (target == "Linear" && is_linear) return MatchKind::Class;
  return MatchKind::None;
}

TargetMatcher::TargetMatcher(const QuantizationConfig& cfg) {
  auto make = [&](const std::string& t, const std::string& key) {
    Pattern p{t, std::nullopt};
    if (t.rfind("re:", 0) == 0) {
      std::string err;
      p.re = compile_target_regex(t, &err);
      if (!p.re) regex_errors_.push_back({key, qt(t) + ": " + err});
    }
    return p;
  };
  for (size_t i = 0; i < cfg.ignore.size(); ++i)
    ignore_.push_back(make(cfg.ignore[i], "quantization_config.ignore[" + std::to_string(i) + "]"));
  for (const auto& [gname, g] : cfg.config_groups) {
    std::vector<Pattern> ps;
    for (size_t i = 0; i < g.targets.size(); ++i)
      ps.push_back(make(g.targets[i], "quantization_config.config_groups." + gname + ".targets[" +
                                          std::to_string(i) + "]"));
    targets_.push_back(std::move(ps));
  }
}

MatchKind TargetMatcher::match(const Pattern& p, const std::string& name, bool is_linear) const {
  if (p.text.rfind("re:", 0) == 0) return p.re && re_match_start(*p.re, name) ? MatchKind::Regex : MatchKind::None;
  if (p.text == name) return MatchKind::Exact;
  if (p.text == "Linear" && is_linear) return MatchKind::Class;
  return MatchKind::None;
}

bool TargetMatcher::is_ignored(const std::string& name, bool is_linear) const {
  for (const Pattern& p : ignore_)
    if (match(p, name, is_linear) != MatchKind::None) return true;
  return false;
}

TargetMatcher::Result TargetMatcher::resolve(const std::string& name, bool is_linear) const {
  Result r;
  for (size_t gi = 0; gi < targets_.size(); ++gi) {
    MatchKind best = MatchKind::None;
    for (const Pattern& p : targets_[gi]) best = std::max(best, match(p, name, is_linear));
    if (best == MatchKind::None) continue;
    r.all_groups.push_back(static_cast<int>(gi));
    // CT priority: exact > regex > class; among equals the first group in file order.
    if (best > r.kind) {
      r.kind = best;
      r.group = static_cast<int>(gi);
    }
  }
  return r;
}

int TargetMatcher::group_of(const std::string& name, bool is_linear) const {
  if (is_ignored(name, is_linear)) return -1;
  return resolve(name, is_linear).group;
}

bool is_linear_weight_candidate(const std::string& module, const std::vector<int64_t>& shape) {
  if (shape.size() != 2) return false;
  const size_t dot = module.rfind('.');
  const std::string last = lower(dot == std::string::npos ? module : module.substr(dot + 1));
  if (last.find("embed") != std::string::npos) return false;
  if (last == "wte" || last == "wpe") return false;
  return true;
}

// ---- geometry ------------------------------------------------------------------------------------------

int pack_factor(int num_bits) {
  check(num_bits >= 1 && num_bits <= 8, "compressed-tensors packing supports 1..8 bits, got " + std::to_string(num_bits));
  return 32 / num_bits;
}

int64_t packed_length(int64_t n, int num_bits) {
  const int64_t pf = pack_factor(num_bits);
  return (n + pf - 1) / pf;
}

int64_t num_groups(const QuantArgs& w, int64_t in_features) {
  switch (w.strategy) {
    case Strategy::Group:
    case Strategy::TensorGroup: {
      const int64_t g = w.group_size.value_or(0);
      check(g > 0, "group strategy without a positive group_size");
      return (in_features + g - 1) / g;
    }
    case Strategy::Channel:
    case Strategy::Tensor:
      return 1;
    case Strategy::Block: {
      const int64_t bc = (*w.block_structure)[1];
      return (in_features + bc - 1) / bc;
    }
    default:
      return 1;
  }
}

std::vector<int64_t> weight_scale_shape(const QuantArgs& w, int64_t n, int64_t k) {
  switch (w.strategy) {
    case Strategy::Tensor: return {1};
    case Strategy::Channel: return {n, 1};
    case Strategy::Group:
    case Strategy::TensorGroup: return {n, num_groups(w, k)};
    case Strategy::Block: {
      const int64_t br = (*w.block_structure)[0], bc = (*w.block_structure)[1];
      return {(n + br - 1) / br, (k + bc - 1) / bc};
    }
    default:
      throw Error(std::string("weight strategy ") + qt(to_string(w.strategy)) + " has no static weight scale");
  }
}

bool zero_point_is_packed(const QuantArgs& w, const std::string& format) {
  return format == kFormatPackQuantized && !w.symmetric &&
         (w.strategy == Strategy::Group || w.strategy == Strategy::Channel);
}

// ---- presets ----------------------------------------------------------------------------------------------

namespace presets {
namespace {
QuantArgs args(int bits, QuantType t, Strategy s, bool sym, Dynamic dyn) {
  QuantArgs a;
  a.num_bits = bits;
  a.type = t;
  a.strategy = s;
  a.symmetric = sym;
  a.dynamic = dyn;
  return a;
}
}  // namespace

ConfigGroup fp8_static() {
  ConfigGroup g;
  g.weights = args(8, QuantType::Float, Strategy::Tensor, true, Dynamic::False);
  g.input_activations = args(8, QuantType::Float, Strategy::Tensor, true, Dynamic::False);
  g.format = kFormatFloatQuantized;
  return g;
}

ConfigGroup fp8_dynamic() {
  ConfigGroup g;
  g.weights = args(8, QuantType::Float, Strategy::Channel, true, Dynamic::False);
  g.input_activations = args(8, QuantType::Float, Strategy::Token, true, Dynamic::True);
  g.format = kFormatFloatQuantized;
  return g;
}

ConfigGroup fp8_block(int block) {
  check(block > 0, "fp8_block: block size must be positive");
  ConfigGroup g;
  g.weights = args(8, QuantType::Float, Strategy::Block, true, Dynamic::False);
  g.weights->block_structure = std::array<int, 2>{block, block};
  g.input_activations = args(8, QuantType::Float, Strategy::Group, true, Dynamic::True);
  g.input_activations->group_size = block;
  g.format = kFormatFloatQuantized;
  return g;
}

ConfigGroup int8_w8a8_dynamic() {
  ConfigGroup g;
  g.weights = args(8, QuantType::Int, Strategy::Channel, true, Dynamic::False);
  g.input_activations = args(8, QuantType::Int, Strategy::Token, true, Dynamic::True);
  g.format = kFormatIntQuantized;
  return g;
}

ConfigGroup int8_w8a8_static(bool input_symmetric) {
  ConfigGroup g;
  g.weights = args(8, QuantType::Int, Strategy::Channel, true, Dynamic::False);
  g.input_activations = args(8, QuantType::Int, Strategy::Tensor, input_symmetric, Dynamic::False);
  g.format = kFormatIntQuantized;
  return g;
}

ConfigGroup wna16(int bits, int group_size, bool symmetric, ActOrder actorder) {
  check(bits >= 2 && bits <= 8, "wna16: num_bits must be in [2, 8], got " + std::to_string(bits));
  ConfigGroup g;
  g.weights = args(bits, QuantType::Int, group_size > 0 ? Strategy::Group : Strategy::Channel, symmetric, Dynamic::False);
  if (group_size > 0) g.weights->group_size = group_size;
  if (actorder != ActOrder::None) {
    check(group_size > 0, "wna16: activation ordering requires group quantization");
    g.weights->actorder = actorder;
  }
  g.format = kFormatPackQuantized;
  return g;
}

ConfigGroup w4a8_fp8(int group_size, W4A8Input input) {
  ConfigGroup g = wna16(4, group_size, true);
  if (input == W4A8Input::StaticTensor)
    g.input_activations = args(8, QuantType::Float, Strategy::Tensor, true, Dynamic::False);
  else
    g.input_activations = args(8, QuantType::Float, Strategy::Token, true, Dynamic::True);
  return g;
}
}  // namespace presets

ConfigGroup with_channel_fallback(const ConfigGroup& g, int64_t in_features) {
  if (!g.weights || g.weights->strategy != Strategy::Group || !g.weights->group_size || *g.weights->group_size <= 0)
    return g;
  if (in_features % *g.weights->group_size == 0) return g;
  ConfigGroup f = g;
  f.weights->strategy = Strategy::Channel;
  f.weights->group_size.reset();
  f.weights->actorder = ActOrder::None;
  return f;
}

// ---- engine scheme selection (documentation aid) --------------------------------------------------------

std::string vllm_scheme_for(const ConfigGroup& g, const std::string& global_format) {
  if (!g.weights) return "none: weights QuantizationArgs missing";
  const QuantArgs& w = *g.weights;
  const std::string fmt = g.effective_format(global_format);
  const bool act_fmt = is_activation_format(fmt);
  // vLLM parses input_activations when the format is an activation format or the group has them.
  const std::optional<QuantArgs>& in = g.input_activations;
  // CompressedTensorsW4A8Fp8 (exactly SM90): 4-bit group weights, 8-bit dynamic token input, symmetric.
  if (in && w.num_bits == 4 && in->num_bits == 8 && w.strategy == Strategy::Group && in->strategy == Strategy::Token &&
      !w.is_dynamic() && in->is_dynamic() && w.symmetric && in->symmetric)
    return "CompressedTensorsW4A8Fp8 (only on SM90 exactly; elsewhere: none, NotImplementedError)";
  if (!in && (w.strategy == Strategy::Channel || w.strategy == Strategy::Group) && !w.is_dynamic()) {
    if (fmt == kFormatPackQuantized && w.type == QuantType::Int && w.num_bits >= 2 && w.num_bits <= 8) {
      std::string s = "CompressedTensorsWNA16 (Marlin/machete";
      if (w.num_bits != 4 && w.num_bits != 8) s += "; 2/3/5/6/7-bit only in recent vLLM";
      if (!w.symmetric) s += "; asymmetric needs 4 or 8 bits and a recent vLLM";
      if (w.num_bits == 3) s += "; vLLM sizes 3-bit rows as ceil(3K/32) words, CT packs 10 per word: shapes differ";
      return s + ")";
    }
  }
  if (act_fmt) {
    if (in && w.type == QuantType::Float && in->type == QuantType::Float && w.symmetric && !w.is_dynamic() &&
        (w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel || w.strategy == Strategy::Block)) {
      if (in->is_dynamic() || (in->symmetric && in->strategy == Strategy::Tensor))
        return "CompressedTensorsW8A8Fp8 (SM89+; CompressedTensorsW8A16Fp8 below)";
    }
    if (w.type == QuantType::Float && w.symmetric && !w.is_dynamic() &&
        (w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel || w.strategy == Strategy::Block))
      return "CompressedTensorsW8A16Fp8";
    if (in && w.num_bits == 8 && in->num_bits == 8 && w.symmetric &&
        (w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel)) {
      if (in->strategy == Strategy::Tensor && !w.is_dynamic() && !in->is_dynamic())
        return "CompressedTensorsW8A8Int8 (static per-tensor input)";
      if (in->strategy == Strategy::Token && !w.is_dynamic() && in->is_dynamic())
        return "CompressedTensorsW8A8Int8 (dynamic per-token input)";
    }
    if (in && w.num_bits == 4 && in->num_bits == 8 && w.symmetric && in->strategy == Strategy::Token &&
        (w.strategy == Strategy::Group || w.strategy == Strategy::Channel) && !w.is_dynamic() && in->is_dynamic())
      return "CompressedTensorsW4A8Int (int8 dynamic token input)";
  }
  return "none: vLLM raises NotImplementedError (\"No compressed-tensors compatible scheme was found\")";
}

std::string sglang_scheme_for(const ConfigGroup& g, const std::string& global_format) {
  if (!g.weights) return "none: weights QuantizationArgs missing";
  const QuantArgs& w = *g.weights;
  // SGLang's loader only looks at the global format; input_activations are parsed only for
  // activation formats.
  const std::string& fmt = global_format;
  const std::optional<QuantArgs> in = is_activation_format(fmt) ? g.input_activations : std::nullopt;
  if (!in && w.symmetric && !w.is_dynamic() && (w.strategy == Strategy::Channel || w.strategy == Strategy::Group) &&
      fmt == kFormatPackQuantized && (w.num_bits == 4 || w.num_bits == 8)) {
    if (g.input_activations)
      return "CompressedTensorsWNA16 (input_activations ignored: SGLang parses them only for activation formats; "
             "a static input_scale tensor has no matching parameter)";
    return "CompressedTensorsWNA16 (via vLLM kernels)";
  }
  if (is_activation_format(fmt)) {
    if (in && w.type == QuantType::Float && in->type == QuantType::Float && w.symmetric && !w.is_dynamic()) {
      if (w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel) {
        if (in->is_dynamic() || (in->symmetric && in->strategy == Strategy::Tensor))
          return "CompressedTensorsW8A8Fp8";
      }
      if (w.strategy == Strategy::Block) return "CompressedTensorsW8A8Fp8 block (recent SGLang only)";
    }
    if (in && w.num_bits == 8 && in->num_bits == 8 && w.symmetric &&
        (w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel)) {
      if (in->strategy == Strategy::Tensor && !in->is_dynamic()) return "CompressedTensorsW8A8Int8 (static)";
      if (in->strategy == Strategy::Token && in->is_dynamic()) return "CompressedTensorsW8A8Int8 (dynamic token)";
    }
  }
  if (fmt == kFormatMixedPrecision) return "none: SGLang reads only the global format (\"mixed-precision\" unsupported)";
  return "none: SGLang raises NotImplementedError";
}

}  // namespace as::ct
