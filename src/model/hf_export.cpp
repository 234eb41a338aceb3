#include "model/hf_export.h"

#include <torch/torch.h>

#include <filesystem>

#include "common/error.h"
#include "common/file.h"
#include "io/safetensors.h"
#include "model/llama2c_import.h"

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace as {
namespace {

torch::ScalarType torch_type_for(DType d) {
  switch (d) {
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::I8: return torch::kInt8;
    case DType::U8: return torch::kUInt8;
    case DType::I16: return torch::kInt16;
    case DType::I32: return torch::kInt32;
    case DType::I64: return torch::kInt64;
    case DType::F64: return torch::kFloat64;
    case DType::BOOL: return torch::kBool;
    default: throw Error(std::string("cannot store torch tensors as ") + dtype_name(d));
  }
}

DType dtype_for(torch::ScalarType t, DType float_storage) {
  switch (t) {
    case torch::kFloat32:
    case torch::kFloat16:
    case torch::kBFloat16:
    case torch::kFloat64: return float_storage;
    case torch::kInt8: return DType::I8;
    case torch::kUInt8: return DType::U8;
    case torch::kInt16: return DType::I16;
    case torch::kInt32: return DType::I32;
    case torch::kInt64: return DType::I64;
    case torch::kBool: return DType::BOOL;
    default: throw Error(std::string("unsupported tensor dtype for export: ") + c10::toString(t));
  }
}

}  // namespace

void copy_file_atomic(const std::string& src, const std::string& dst) {
  write_file_atomic(dst, read_file(src));
}

void write_hf_directory(const std::string& out_dir, const ModelConfig& cfg,
                        const std::map<std::string, torch::Tensor>& tensors, const HfWriteOptions& opts) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir + ": cannot create directory: " + ec.message());
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (auto& [k, v] : opts.metadata) w.set_metadata(k, v);
  for (auto& [name, t] : tensors) {
    DType d = dtype_for(t.scalar_type(), opts.dtype);
    auto c = t.detach().to(torch_type_for(d)).contiguous();
    std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
    w.add(name, d, shape, c.data_ptr());
  }
  write_sharded(out_dir, w, opts.max_shard_bytes);
  ModelConfig c = cfg;
  c.torch_dtype = opts.dtype == DType::BF16 ? "bfloat16" : opts.dtype == DType::F16 ? "float16" : "float32";
  write_file_atomic((fs::path(out_dir) / "config.json").string(), model_config_to_json(c));
  for (auto& f : opts.copy_files) copy_file_atomic(f, (fs::path(out_dir) / fs::path(f).filename()).string());
}

void convert_llama2c(const std::string& checkpoint, const std::string& tokenizer, const std::string& out_dir,
                     DType dtype) {
  Llama2cImport imp = import_llama2c(checkpoint);
  HfWriteOptions o;
  o.dtype = dtype;
  o.metadata["source"] = "llama2.c checkpoint";
  std::string tok = tokenizer.empty() ? find_llama2c_tokenizer(checkpoint) : tokenizer;
  if (tok.empty()) throw Error(checkpoint + ": no tokenizer.bin next to the checkpoint; pass --tokenizer");
  if (!file_exists(tok)) throw Error(tok + ": tokenizer file not found");
  write_hf_directory(out_dir, imp.config, imp.store->tensors(), o);
  // Our loader looks for tokenizer.bin inside a model directory.
  copy_file_atomic(tok, (fs::path(out_dir) / "tokenizer.bin").string());
  nlohmann::json gen{{"bos_token_id", 1}, {"eos_token_id", 2}, {"do_sample", false}};
  write_file_atomic((fs::path(out_dir) / "generation_config.json").string(), gen.dump(2) + "\n");
}

}  // namespace as
