// angelslim convert llama2c --checkpoint F --tokenizer F --out DIR [--dtype f32|f16|bf16]
#include "cli/command.h"
#include "common/log.h"
#include "io/dtype.h"
#include "model/hf_export.h"

namespace as::cli::cmd_convert {
namespace {

struct Opts {
  std::string checkpoint, tokenizer, out, dtype = "f32";
};

DType parse_storage_dtype(const std::string& s) {
  if (s == "f32" || s == "float32") return DType::F32;
  if (s == "f16" || s == "float16") return DType::F16;
  return DType::BF16;
}

const Register reg_convert({"convert", "Convert foreign checkpoints into HF model directories",
                    [](CLI::App& sub, const GlobalOptions&) {
                      sub.require_subcommand(1);
                      auto o = std::make_shared<Opts>();
                      auto* l2c = sub.add_subcommand("llama2c", "llama2.c checkpoint (+ tokenizer.bin) -> HF directory");
                      l2c->add_option("--checkpoint", o->checkpoint, "llama2.c .bin checkpoint")->required()
                          ->check(CLI::ExistingFile);
                      l2c->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (default: next to it)");
                      l2c->add_option("--out", o->out, "Output directory")->required();
                      l2c->add_option("--dtype", o->dtype, "Storage dtype")
                          ->check(CLI::IsMember({"f32", "f16", "bf16", "float32", "float16", "bfloat16"}))
                          ->capture_default_str();
                      return [o]() -> int {
                        convert_llama2c(o->checkpoint, o->tokenizer, o->out, parse_storage_dtype(o->dtype));
                        log_info("wrote " + o->out);
                        return 0;
                      };
                    }});

}  // namespace
}  // namespace as::cli::cmd_convert
