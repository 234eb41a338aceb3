#include "config/compression_registry.h"

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

namespace as {

namespace {

struct NoneOptions final : CompressionOptions {
  nlohmann::json to_json() const override { return nlohmann::json::object(); }
};

struct Registry {
  std::mutex mu;
  std::map<std::string, CompressionFamily> families;
  Registry() {
    families["none"] = CompressionFamily{
        "none", {}, [](YamlReader&, const std::string&) { return std::make_shared<const NoneOptions>(); }};
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_compression_family(CompressionFamily family) {
  check(!family.name.empty(), "register_compression_family: empty family name");
  check(static_cast<bool>(family.parse),
        "register_compression_family: family '" + family.name + "' has no parse function");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  check(r.families.find(family.name) == r.families.end(),
        "compression family '" + family.name + "' is already registered");
  std::string name = family.name;
  r.families.emplace(std::move(name), std::move(family));
}

const CompressionFamily* find_compression_family(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.families.find(name);
  return it == r.families.end() ? nullptr : &it->second;  // map nodes are stable: never erased
}

std::vector<std::string> compression_family_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [name, f] : r.families) out.push_back(name);
  return out;
}

CompressionConfig parse_compression(YamlReader& parent, const std::string& key) {
  const std::string registered = "registered families: " + join_names(compression_family_names());
  YAML::Node node = parent.node(key);

  std::string family;
  std::optional<YamlReader> section;
  if (!node.IsDefined() || node.IsNull()) {
    family = "none";
    section.emplace(YAML::Node(), parent.source(), parent.key_path(key) + ".none");
  } else if (node.IsScalar()) {
    family = node.Scalar();
    if (!find_compression_family(family))
      parent.fail(key, "unknown compression family '" + family + "'; " + registered);
    section.emplace(YAML::Node(), parent.source(), parent.key_path(key) + "." + family);
  } else if (node.IsMap()) {
    YamlReader comp(node, parent.source(), parent.key_path(key));
    std::vector<std::string> keys = comp.keys();
    if (keys.size() != 1) {
      parent.fail(key, "expected exactly one compression family, got " +
                           (keys.empty() ? std::string("none") : join_names(keys)) + "; " + registered);
    }
    family = keys[0];
    if (!find_compression_family(family))
      comp.fail_key(family, "unknown compression family '" + family + "'; " + registered);
    section = comp.opt_section(family);
  } else {
    parent.fail(key, "expected a compression family name or a mapping {family: {name: ..., ...}}; " +
                         registered);
  }

  const CompressionFamily& f = *find_compression_family(family);
  CompressionConfig out;
  out.family = family;
  if (f.algorithms.size() == 1)
    out.algorithm = section->get_enum("name", f.algorithms, f.algorithms[0]);
  else if (!f.algorithms.empty())
    out.algorithm = section->req_enum("name", f.algorithms);
  out.options = f.parse(*section, out.algorithm);
  check(out.options != nullptr, "compression family '" + family + "' returned no options");
  section->finish();
  return out;
}

nlohmann::json compression_to_json(const CompressionConfig& c) {
  nlohmann::json opts = c.options ? c.options->to_json() : nlohmann::json::object();
  if (opts.is_null()) opts = nlohmann::json::object();
  if (!c.algorithm.empty()) opts["name"] = c.algorithm;
  nlohmann::json j = nlohmann::json::object();
  j[c.family] = std::move(opts);
  return j;
}

}  // namespace as
