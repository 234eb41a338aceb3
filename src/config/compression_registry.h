// Compression families register here by name (one registry entry per family: quantization,
// sparsity, ...). An entry lists the family's algorithms (the values of its `name` key) and parses
// its own typed options from the YAML section under `compression.<family>`. The job parser only
// dispatches, so a new family needs its own folder plus one registration line.
//
//   compression:              # absent, `compression: none` or `compression: {none: {}}` = no compression
//     quantization:           # the family
//       name: int4_gptq       # the algorithm (omit when the family has exactly one)
//       bits: 4               # options, read by the family's parse function
//
// `none` is built in. Torch-free.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"
#include "config/yaml_reader.h"

namespace as {

// Base of every family's typed options.
struct CompressionOptions {
  virtual ~CompressionOptions() = default;
  // The options as the keys under compression.<family>, `name` excluded (the resolved config).
  virtual nlohmann::json to_json() const = 0;
};

struct CompressionConfig {
  std::string family = "none";
  std::string algorithm;  // the `name` value; "" for a family without algorithms (none)
  std::shared_ptr<const CompressionOptions> options;  // never null after parsing

  bool is_none() const { return family == "none"; }
  // The options as the family's concrete type; as::Error when they are of another type.
  template <class T>
  const T& options_as() const {
    const T* p = dynamic_cast<const T*>(options.get());
    check(p != nullptr, "compression family '" + family + "': options are not of type " + typeid(T).name());
    return *p;
  }
};

// Reads the family's keys from `section` (the mapping under compression.<family>; empty when the
// job wrote `compression: <family>`). `algorithm` is the validated `name`. Keys it does not read are
// reported as unknown afterwards. Must return non-null options.
using CompressionParseFn =
    std::function<std::shared_ptr<const CompressionOptions>(YamlReader& section, const std::string& algorithm)>;

struct CompressionFamily {
  std::string name;                     // "quantization"
  std::vector<std::string> algorithms;  // allowed `name` values; empty = the family takes no `name`
  CompressionParseFn parse;
};

// Adds a family; as::Error when the name is already taken or the entry is incomplete.
void register_compression_family(CompressionFamily family);
// nullptr when no family of that name is registered.
const CompressionFamily* find_compression_family(const std::string& name);
// Registered family names, sorted.
std::vector<std::string> compression_family_names();

// Reads `key` of `parent` (absent -> none) and dispatches to the registered family. An unknown
// family fails listing the registered ones.
CompressionConfig parse_compression(YamlReader& parent, const std::string& key = "compression");
// {"<family>": {"name": algorithm, ...options}} as it would be written in a job file.
nlohmann::json compression_to_json(const CompressionConfig& c);

}  // namespace as
