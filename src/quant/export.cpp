#include "quant/export.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/file.h"
#include "io/compressed_tensors/ct_writer.h"
#include "io/safetensors.h"
#include "io/tokenizer/tokenizer.h"
#include "quant/artifacts.h"

namespace fs = std::filesystem;

namespace as {
namespace {

ct::ConfigGroup scheme_for(const QuantizedLinear& q) {
  ct::ConfigGroup g;
  if (q.weight_type == "float") {
    if (q.strategy == "block") g = ct::presets::fp8_block(128);
    else if (q.act == ActScheme::Fp8StaticTensor) g = ct::presets::fp8_static();
    else g = ct::presets::fp8_dynamic();
    return g;
  }
  if (q.act == ActScheme::Int8DynamicToken) return ct::presets::int8_w8a8_dynamic();
  if (q.act == ActScheme::Fp8StaticTensor) {
    g = ct::presets::w4a8_fp8(128, ct::presets::W4A8Input::StaticTensor);
    if (q.group_size <= 0) {  // group 128 does not divide in_features: per-channel fallback
      g.weights->strategy = ct::Strategy::Channel;
      g.weights->group_size.reset();
    }
    return g;
  }
  g = ct::presets::wna16(q.bits, q.group_size > 0 ? static_cast<int>(q.group_size) : -1, q.symmetric,
                         q.act_order ? ct::ActOrder::Group : ct::ActOrder::None);
  return g;
}

template <class T>
std::vector<T> view_vec(const TensorView& v) {
  std::vector<T> out(static_cast<size_t>(v.nbytes / sizeof(T)));
  std::memcpy(out.data(), v.data, v.nbytes);
  return out;
}

torch::ScalarType torch_float(DType d) {
  return d == DType::BF16 ? torch::kBFloat16 : d == DType::F16 ? torch::kFloat16 : torch::kFloat32;
}

torch::Tensor view_tensor(const TensorView& v) {
  std::vector<int64_t> shape(v.shape.begin(), v.shape.end());
  torch::ScalarType t = v.dtype == DType::BF16 ? torch::kBFloat16 : v.dtype == DType::F16 ? torch::kFloat16 : torch::kFloat32;
  if (v.dtype != DType::BF16 && v.dtype != DType::F16 && v.dtype != DType::F32)
    throw Error("export: tensor '" + v.name + "' is not floating point");
  return torch::from_blob(const_cast<uint8_t*>(v.data), shape, t);
}

// A float tensor written in `dtype`, produced while the file is written.
ct::PlainTensor plain_lazy(const std::string& name, std::vector<int64_t> shape, DType dtype,
                           std::function<torch::Tensor()> source) {
  ct::PlainTensor p;
  p.name = name;
  p.dtype = dtype;
  p.shape = std::move(shape);
  p.fill = [source, dtype, name](uint8_t* dst, uint64_t nbytes) {
    auto c = source().to(torch_float(dtype)).contiguous();
    if (static_cast<uint64_t>(c.numel() * c.element_size()) != nbytes)
      throw Error("export: size mismatch for tensor '" + name + "'");
    std::memcpy(dst, c.data_ptr(), nbytes);
  };
  return p;
}

}  // namespace

nlohmann::json export_ptq_checkpoint(Model& model, const QuantOptions& opt,
                                     const std::vector<std::string>& layer_files, const std::string& out_dir) {
  const ModelConfig& cfg = model.config();
  // dense tensors keep the source checkpoint's float dtype (bf16 for HF checkpoints, f32 for llama2.c)
  const DType dense = cfg.torch_dtype == "bfloat16" ? DType::BF16 : cfg.torch_dtype == "float16" ? DType::F16 : DType::F32;
  ct::ExportModel em;
  em.config = nlohmann::json::parse(model_config_to_json(cfg));
  em.ignore = opt.ignore;
  auto whole = [&](const std::string& name, const torch::Tensor& t) {
    torch::Tensor keep = t;
    return plain_lazy(name, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), dense, [keep] { return keep; });
  };
  em.tensors.push_back(whole("model.embed_tokens.weight", model.embed_tokens()));
  em.tensors.push_back(whole("model.norm.weight", model.final_norm()));
  if (!cfg.tie_word_embeddings) em.tensors.push_back(whole("lm_head.weight", model.lm_head().w));
  // Everything per layer is streamed from the (mmapped) layer artifact files: at most one
  // quantized linear is held in memory while the checkpoint is written.
  for (auto& path : layer_files) {
    SafetensorsFile f(path);
    auto lins = nlohmann::json::parse(f.metadata().at("linears"));
    for (auto& name : f.names()) {
      if (name.find('#') != std::string::npos) continue;
      const TensorView& v = f.get(name);
      em.tensors.push_back(plain_lazy(name, std::vector<int64_t>(v.shape.begin(), v.shape.end()), dense, [path, name] {
        SafetensorsFile g(path);
        return view_tensor(g.get(name)).clone();
      }));
    }
    for (auto& j : lins) {
      const QuantizedLinear q = linear_header_from_json(j);
      const TensorView& codes = f.get(q.name + "#codes");
      ct::QuantizedLinear l;
      l.name = q.name;
      l.scheme = scheme_for(q);
      l.out_features = codes.shape.at(0);
      l.in_features = codes.shape.at(1);
      if (f.contains(q.name + "#input_scale")) l.input_scale = view_vec<float>(f.get(q.name + "#input_scale")).at(0);
      const bool fp8 = q.weight_type == "float";
      const std::string nm = q.name;
      l.materialize = [path, nm, fp8](ct::QuantizedLinear& out) {
        SafetensorsFile g(path);
        if (fp8) out.fp8 = view_vec<uint8_t>(g.get(nm + "#codes"));
        else out.codes = view_vec<int8_t>(g.get(nm + "#codes"));
        out.weight_scale = view_vec<float>(g.get(nm + "#scale"));
        if (g.contains(nm + "#zero")) out.weight_zero_point = view_vec<int8_t>(g.get(nm + "#zero"));
        if (g.contains(nm + "#g_idx")) out.g_idx = view_vec<int32_t>(g.get(nm + "#g_idx"));
      };
      em.linears.push_back(std::move(l));
    }
  }
  // tokenizer and generation files next to the source model
  fs::path src = fs::path(model.path());
  fs::path src_dir = fs::is_directory(src) ? src : src.parent_path();
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "tokenizer.bin",
                        "generation_config.json", "special_tokens_map.json"})
    if (fs::is_regular_file(src_dir / f)) em.extra_files.push_back((src_dir / f).string());
  ct::WriterOptions wo;
  wo.scale_dtype = opt.scale_dtype == "float32" ? DType::F32 : DType::BF16;
  wo.max_shard_bytes = opt.max_shard_size;
  auto wr = ct::write_compressed_tensors(out_dir, em, wo);
  if (!fs::is_directory(src) && model.has_tokenizer()) {
    std::string tok = find_tokenizer_file(src_dir.string());
    if (tok.empty()) {
      for (auto& e : fs::directory_iterator(src_dir))
        if (e.path().filename().string().rfind("tok", 0) == 0 && e.path().extension() == ".bin") tok = e.path().string();
    }
    if (!tok.empty()) write_file_atomic((fs::path(out_dir) / "tokenizer.bin").string(), read_file(tok));
  }
  nlohmann::json groups = nlohmann::json::object();
  for (auto& [name, g] : wr.config.config_groups)
    groups[name] = {{"scheme", g.to_json()},
                    {"vllm", ct::vllm_scheme_for(g, wr.config.format)},
                    {"sglang", ct::sglang_scheme_for(g, wr.config.format)}};
  return {{"dir", out_dir},
          {"format", wr.config.format},
          {"files", wr.files},
          {"config_groups", groups},
          {"validation_ok", wr.report.ok},
          {"violations", wr.report.violations.size()}};
}

}  // namespace as
