#include "quant/options.h"

#include <nlohmann/json.hpp>

namespace as {

const std::vector<std::string>& quant_algorithm_names() {
  static const std::vector<std::string> names = {"fp8_static", "fp8_dynamic", "fp8_blockwise", "fp8_lepto",
                                                 "int8_smoothquant", "int4_rtn", "int4_gptq", "int4_awq",
                                                 "w4a8_fp8"};
  return names;
}

std::shared_ptr<const CompressionOptions> parse_quant_options(YamlReader& r, const std::string& algorithm) {
  auto o = std::make_shared<QuantOptions>();
  o->algorithm = algorithm;
  const bool fp8 = o->is_fp8();
  const bool int_family = o->is_weight_only_int();
  // defaults per algorithm
  if (fp8) {
    o->bits = 8;
    o->group_size = algorithm == "fp8_blockwise" ? 128 : -1;
  } else if (algorithm == "int8_smoothquant") {
    o->bits = 8;
    o->group_size = -1;
  } else {
    o->bits = 4;
    o->group_size = 128;
  }
  if (int_family) {
    o->bits = r.get_int("bits", o->bits);
    if (o->bits != 2 && o->bits != 3 && o->bits != 4 && o->bits != 8)
      r.fail("bits", "bits must be 2, 3, 4 or 8 for " + algorithm + ", got " + std::to_string(o->bits));
    o->group_size = r.get_int("group_size", o->group_size);
    if (o->group_size == 0 || o->group_size < -1)
      r.fail("group_size", "group_size must be -1 (per channel) or positive");
    o->symmetric = r.get_bool("symmetric", true);
  } else {
    // fixed-format schemes: the keys are accepted only with their one valid value
    if (r.has("bits")) {
      int64_t b = r.get_int("bits", o->bits);
      if (b != o->bits)
        r.fail("bits", algorithm + " uses " + std::to_string(o->bits) + "-bit weights; bits may not be changed");
    }
    if (algorithm == "w4a8_fp8") {
      o->group_size = r.get_int("group_size", 128);
      if (o->group_size != 128) r.fail("group_size", "w4a8_fp8 requires group_size 128 (vLLM's W4A8-FP8 kernel)");
    } else if (r.has("group_size")) {
      int64_t g = r.get_int("group_size", o->group_size);
      if (g != o->group_size)
        r.fail("group_size", algorithm + " has a fixed granularity; group_size may not be changed");
    }
    if (r.has("symmetric") && !r.get_bool("symmetric", true))
      r.fail("symmetric", algorithm + " is symmetric only");
  }
  o->ignore = r.get_string_list("ignore", {"lm_head"});
  o->scale_dtype = r.get_enum("scale_dtype", std::vector<std::string>{"bfloat16", "float32"}, "bfloat16");
  o->max_shard_size = r.get_size("max_shard_size", 4ull << 30);
  if (auto g = r.opt_section("gptq")) {
    if (algorithm != "int4_gptq") g->fail_here("the gptq section applies to int4_gptq only");
    o->gptq.damp = g->get_double("damp", 0.01, {0.0, 1.0});
    o->gptq.block_size = g->get_int("block_size", 128, {1, 1 << 20});
    o->gptq.act_order = g->get_bool("act_order", false);
    o->gptq.static_groups = g->get_bool("static_groups", false);
    g->finish();
  }
  if (auto a = r.opt_section("awq")) {
    if (algorithm != "int4_awq") a->fail_here("the awq section applies to int4_awq only");
    o->awq.grid = a->get_int("grid", 20, {2, 1000});
    o->awq.clip_search = a->get_bool("clip_search", true);
    o->awq.clip_grid = a->get_int("clip_grid", 20, {2, 1000});
    o->awq.max_shrink = a->get_double("max_shrink", 0.5, {0.0, 0.99});
    a->finish();
  }
  if (auto s = r.opt_section("smoothquant")) {
    if (algorithm != "int8_smoothquant") s->fail_here("the smoothquant section applies to int8_smoothquant only");
    o->smoothquant.alpha = s->get_double("alpha", 0.5, {0.0, 1.0});
    s->finish();
  }
  if (auto l = r.opt_section("lepto")) {
    if (algorithm != "fp8_lepto") l->fail_here("the lepto section applies to fp8_lepto only");
    for (auto& f : l->get_string_list("fractions")) {
      double v = 0;
      try {
        v = std::stod(f);
      } catch (...) {
        l->fail("fractions", "fractions must be numbers in (0, 0.5), got '" + f + "'");
      }
      if (!(v > 0 && v < 0.5)) l->fail("fractions", "fractions must be numbers in (0, 0.5), got '" + f + "'");
      o->lepto.fractions.push_back(v);
    }
    l->finish();
  }
  return o;
}

nlohmann::json QuantOptions::to_json() const {
  nlohmann::json j{{"bits", bits},         {"group_size", group_size},       {"symmetric", symmetric},
                   {"ignore", ignore},     {"scale_dtype", scale_dtype},     {"max_shard_size", max_shard_size}};
  if (algorithm == "int4_gptq")
    j["gptq"] = {{"damp", gptq.damp}, {"block_size", gptq.block_size}, {"act_order", gptq.act_order},
                 {"static_groups", gptq.static_groups}};
  if (algorithm == "int4_awq")
    j["awq"] = {{"grid", awq.grid}, {"clip_search", awq.clip_search}, {"clip_grid", awq.clip_grid},
                {"max_shrink", awq.max_shrink}};
  if (algorithm == "int8_smoothquant") j["smoothquant"] = {{"alpha", smoothquant.alpha}};
  if (algorithm == "fp8_lepto") j["lepto"] = {{"fractions", lepto.fractions}};
  return j;
}

}  // namespace as
