#include "quant/artifacts.h"

#include <torch/torch.h>

#include <set>

#include "common/error.h"
#include "io/safetensors.h"

namespace as {
namespace {

DType dtype_of(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return DType::F32;
    case torch::kBFloat16: return DType::BF16;
    case torch::kFloat16: return DType::F16;
    case torch::kInt8: return DType::I8;
    case torch::kUInt8: return DType::U8;
    case torch::kInt32: return DType::I32;
    case torch::kInt64: return DType::I64;
    default: throw Error(std::string("layer artifacts: unsupported dtype ") + c10::toString(t.scalar_type()));
  }
}

torch::ScalarType torch_of(DType d) {
  switch (d) {
    case DType::F32: return torch::kFloat32;
    case DType::BF16: return torch::kBFloat16;
    case DType::F16: return torch::kFloat16;
    case DType::I8: return torch::kInt8;
    case DType::U8: return torch::kUInt8;
    case DType::I32: return torch::kInt32;
    case DType::I64: return torch::kInt64;
    default: throw Error("layer artifacts: unsupported stored dtype");
  }
}

void put(SafetensorsWriter& w, const std::string& name, const torch::Tensor& t) {
  auto c = t.contiguous();
  std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  w.add(name, dtype_of(c), shape, c.data_ptr());
}

torch::Tensor get(const SafetensorsFile& f, const std::string& name) {
  const TensorView& v = f.get(name);
  std::vector<int64_t> shape(v.shape.begin(), v.shape.end());
  return torch::from_blob(const_cast<uint8_t*>(v.data), shape, torch_of(v.dtype)).clone();
}

}  // namespace

const char* act_scheme_name(ActScheme a) {
  switch (a) {
    case ActScheme::None: return "none";
    case ActScheme::Fp8StaticTensor: return "fp8_static_tensor";
    case ActScheme::Fp8DynamicToken: return "fp8_dynamic_token";
    case ActScheme::Fp8DynamicGroup128: return "fp8_dynamic_group128";
    case ActScheme::Int8DynamicToken: return "int8_dynamic_token";
  }
  return "none";
}

ActScheme act_scheme_from_name(const std::string& s) {
  for (ActScheme a : {ActScheme::None, ActScheme::Fp8StaticTensor, ActScheme::Fp8DynamicToken,
                      ActScheme::Fp8DynamicGroup128, ActScheme::Int8DynamicToken})
    if (s == act_scheme_name(a)) return a;
  throw Error("unknown activation scheme '" + s + "'");
}

void save_layer_artifacts(const std::string& path, const LayerArtifacts& a) {
  SafetensorsWriter w;
  nlohmann::json lins = nlohmann::json::array();
  for (auto& q : a.linears) {
    lins.push_back({{"name", q.name}, {"weight_type", q.weight_type}, {"strategy", q.strategy}, {"bits", q.bits},
                    {"group_size", q.group_size}, {"symmetric", q.symmetric}, {"act_order", q.act_order},
                    {"act", act_scheme_name(q.act)}, {"note", q.note}});
    put(w, q.name + "#codes", q.codes);
    put(w, q.name + "#scale", q.scale);
    if (q.zero.defined()) put(w, q.name + "#zero", q.zero);
    if (q.g_idx.defined()) put(w, q.name + "#g_idx", q.g_idx);
    if (q.input_scale.defined()) put(w, q.name + "#input_scale", q.input_scale);
  }
  for (auto& [n, t] : a.dense) put(w, n, t);
  w.set_metadata("linears", lins.dump());
  w.set_metadata("diagnostics", a.diag.dump());
  w.write(path);
}

QuantizedLinear linear_header_from_json(const nlohmann::json& j) {
  QuantizedLinear q;
  q.name = j.at("name");
  q.weight_type = j.at("weight_type");
  q.strategy = j.at("strategy");
  q.bits = j.at("bits");
  q.group_size = j.at("group_size");
  q.symmetric = j.at("symmetric");
  q.act_order = j.at("act_order");
  q.act = act_scheme_from_name(j.at("act"));
  q.note = j.value("note", std::string());
  return q;
}

LayerArtifacts load_layer_artifacts(const std::string& path) {
  SafetensorsFile f(path);
  LayerArtifacts a;
  auto md = f.metadata();
  if (!md.count("linears") || !md.count("diagnostics")) throw Error(path + ": not a layer artifact file");
  auto lins = nlohmann::json::parse(md.at("linears"));
  a.diag = nlohmann::json::parse(md.at("diagnostics"));
  std::set<std::string> used;
  for (auto& j : lins) {
    QuantizedLinear q = linear_header_from_json(j);
    q.codes = get(f, q.name + "#codes");
    q.scale = get(f, q.name + "#scale");
    if (f.contains(q.name + "#zero")) q.zero = get(f, q.name + "#zero");
    if (f.contains(q.name + "#g_idx")) q.g_idx = get(f, q.name + "#g_idx");
    if (f.contains(q.name + "#input_scale")) q.input_scale = get(f, q.name + "#input_scale");
    a.linears.push_back(std::move(q));
  }
  for (auto& n : f.names())
    if (n.find('#') == std::string::npos) a.dense[n] = get(f, n);
  return a;
}

}  // namespace as
