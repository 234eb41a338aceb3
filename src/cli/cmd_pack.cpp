// angelslim pack --model DIR --type TYPE --out DIR [--lm-head q8_g32|f32|same] [--json]
// Round-to-nearest packs every decoder linear of an HF model for the lean runtime.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/command.h"
#include "kernels/packed/packed.h"
#include "runtime/lean/lean.h"

namespace as::cli::cmd_pack {
namespace {

struct Opts {
  std::string model, out;
  lean::PackOptions p;
  bool json = false;
};

int run(const Opts& o) {
  auto r = lean::pack_model(o.model, o.out, o.p);
  nlohmann::json j{{"model", o.model},
                   {"out", o.out},
                   {"type", r.type},
                   {"lm_head", o.p.lm_head},
                   {"packed_linears", r.packed_linears},
                   {"f32_linears", r.f32_linears},
                   {"fallback_linears", r.fallback_linears},
                   {"split_linears", r.split_linears.size()},
                   {"source_bytes", r.source_bytes},
                   {"packed_bytes", r.packed_bytes},
                   {"seconds", r.seconds}};
  if (o.json) print_json(j.dump());
  else std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

const Register reg_pack({"pack", "Pack an HF model's linears into a low-bit format for the lean runtime",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      sub.add_option("--model,-m", o->model, "Hugging Face model directory (safetensors)")->required();
                      sub.add_option("--type,-t", o->p.type, "Packed type: f32 (passthrough), " + packed::quant_type_names())
                          ->required();
                      sub.add_option("--out,-o", o->out, "Output directory")->required();
                      sub.add_option("--lm-head", o->p.lm_head, "lm_head format: a packed type, f32, or same (= --type)")
                          ->capture_default_str();
                      sub.add_flag("--json", o->json, "Print one JSON object");
                      return [o] { return run(*o); };
                    }});

}  // namespace
}  // namespace as::cli::cmd_pack
