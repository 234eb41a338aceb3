// Typed reading of YAML configuration files with precise, one-line errors.
//
// A YamlReader wraps one mapping node and knows its key path ("compression.quantization"). Every
// get_*/req_*/opt_* call reads one key and declares it as known; finish() then reports the first key
// of the mapping that nobody asked about, naming it and listing the known ones. All errors are
// as::Error with the message "SOURCE:LINE:COL: KEY.PATH: what is wrong" (line and column 1-based).
// Torch-free.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace as {

// Parses YAML text. A syntax error throws as::Error "SOURCE:LINE:COL: YAML syntax error: ...".
YAML::Node parse_yaml(const std::string& text, const std::string& source_name);
// Reads and parses a file (missing / unreadable file -> as::Error naming it).
YAML::Node load_yaml_file(const std::string& path);

// Byte sizes: a plain non-negative integer (bytes) or a number with a unit, case-insensitive:
// B, K/KB, M/MB, G/GB, T/TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024). "2GB",
// "512MiB", "1.5 GiB". Returns nullopt on anything else (negative, unknown unit, overflow).
std::optional<uint64_t> parse_size(std::string_view s);
// Shortest exact rendering that parse_size reads back: "2GiB", "1500MB", "123B".
std::string format_size(uint64_t bytes);

struct IntRange {
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
};
struct DoubleRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

// Allowed values of an enum key and what each maps to, in the order they are listed in errors.
template <class E>
using EnumValues = std::vector<std::pair<std::string, E>>;

class YamlReader {
 public:
  // `node` must be a mapping (a null / absent node reads as an empty mapping). `source` names the
  // file in errors; `path` is the key path of the mapping ("" for the document root).
  YamlReader(const YAML::Node& node, std::string source, std::string path = "");

  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  // "path.key" (or "key" at the root).
  std::string key_path(std::string_view key) const;

  // Declares `key` as known; true when it is present with a non-null value.
  bool has(const std::string& key);
  // Declares keys as known without reading them.
  void allow(const std::string& key);
  // Keys present in the mapping, in file order.
  std::vector<std::string> keys() const;
  // The raw value (declares the key; a null node when absent).
  YAML::Node node(const std::string& key);

  // Scalars. get_* return `def` when the key is absent or null, req_* fail with
  // "missing required key", opt_* return nullopt.
  int64_t get_int(const std::string& key, int64_t def, IntRange r = {});
  int64_t req_int(const std::string& key, IntRange r = {});
  std::optional<int64_t> opt_int(const std::string& key, IntRange r = {});

  double get_double(const std::string& key, double def, DoubleRange r = {});
  double req_double(const std::string& key, DoubleRange r = {});
  std::optional<double> opt_double(const std::string& key, DoubleRange r = {});

  bool get_bool(const std::string& key, bool def);
  bool req_bool(const std::string& key);
  std::optional<bool> opt_bool(const std::string& key);

  std::string get_string(const std::string& key, const std::string& def);
  std::string req_string(const std::string& key);  // also rejects the empty string
  std::optional<std::string> opt_string(const std::string& key);

  uint64_t get_size(const std::string& key, uint64_t def);
  uint64_t req_size(const std::string& key);
  std::optional<uint64_t> opt_size(const std::string& key);

  // A sequence of scalars; absent / null -> `def`.
  std::vector<std::string> get_string_list(const std::string& key, const std::vector<std::string>& def = {});

  // String enums: the value must be one of `allowed` (the error lists them).
  std::string get_enum(const std::string& key, const std::vector<std::string>& allowed, const std::string& def);
  std::string req_enum(const std::string& key, const std::vector<std::string>& allowed);
  std::optional<std::string> opt_enum(const std::string& key, const std::vector<std::string>& allowed);
  // Typed enums.
  template <class E>
  E get_enum(const std::string& key, const EnumValues<E>& values, E def) {
    auto s = opt_enum(key, names_of(values));
    return s ? value_of(values, *s) : def;
  }
  template <class E>
  E req_enum(const std::string& key, const EnumValues<E>& values) {
    return value_of(values, req_enum(key, names_of(values)));
  }

  // Nested mappings. section() fails when the key is missing; opt_section() returns nullopt when
  // it is absent; a null value (`key:` with nothing after it) reads as an empty mapping in both.
  YamlReader section(const std::string& key);
  std::optional<YamlReader> opt_section(const std::string& key);
  // A sequence of mappings ("key[0]", "key[1]", ...); absent / null -> empty.
  std::vector<YamlReader> section_list(const std::string& key);

  // Fails on the first present key that was never declared:
  // "unknown key 'a.b.c'; allowed keys under 'a.b': x, y, z".
  void finish() const;

  // Throws as::Error located at `key` (its value when present, else this mapping).
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const;
  // Throws as::Error located at the key itself (for errors about the key rather than its value).
  [[noreturn]] void fail_key(const std::string& key, const std::string& msg) const;
  // Throws as::Error located at this mapping.
  [[noreturn]] void fail_here(const std::string& msg) const;

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* find(const std::string& key) const;
  // Declares the key and returns its entry when present with a non-null value.
  const Entry* lookup(const std::string& key);
  std::string scalar(const std::string& key, const Entry& e, const char* expected) const;
  int64_t to_int(const std::string& key, const Entry& e, IntRange r) const;
  double to_double(const std::string& key, const Entry& e, DoubleRange r) const;
  bool to_bool(const std::string& key, const Entry& e) const;
  uint64_t to_size(const std::string& key, const Entry& e) const;
  std::string to_enum(const std::string& key, const Entry& e, const std::vector<std::string>& allowed) const;
  [[noreturn]] void fail_missing(const std::string& key) const;
  std::string location(const YAML::Mark& m) const;

  template <class E>
  static std::vector<std::string> names_of(const EnumValues<E>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) out.push_back(v.first);
    return out;
  }
  template <class E>
  static E value_of(const EnumValues<E>& values, const std::string& name) {
    for (const auto& v : values)
      if (v.first == name) return v.second;
    return values.front().second;  // unreachable: the name was validated against the list
  }

  std::string source_;
  std::string path_;
  YAML::Mark mark_;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

// Joins names as "a, b, c".
std::string join_names(const std::vector<std::string>& names);

}  // namespace as
