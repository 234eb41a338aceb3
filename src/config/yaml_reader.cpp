#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>
#include <system_error>

#include "common/error.h"
#include "common/file.h"

namespace as {

namespace {

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  std::string s = n.Scalar();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return "'" + s + "'";
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Levenshtein distance, for "did you mean" hints on unknown keys.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string fmt_double(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

const char* kSizeHint =
    "expected a byte count or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), "
    "e.g. 2GB or 512MiB";

}  // namespace

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

YAML::Node parse_yaml(const std::string& text, const std::string& source_name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string where = source_name;
    if (!e.mark.is_null())
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    throw Error(where + ": YAML syntax error: " + e.msg);
  }
}

YAML::Node load_yaml_file(const std::string& path) {
  if (is_directory(path)) throw Error(path + ": is a directory, expected a YAML file");
  if (!file_exists(path)) throw Error(path + ": no such file");
  return parse_yaml(read_file(path), path);
}

std::optional<uint64_t> parse_size(std::string_view s) {
  s = trim(s);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string_view num = s.substr(0, i);
  std::string unit = to_lower(trim(s.substr(i)));
  if (num.empty() || num.front() == '.' || num.back() == '.' ||
      std::count(num.begin(), num.end(), '.') > 1)
    return std::nullopt;

  static const std::vector<std::pair<std::string, uint64_t>> kUnits = {
      {"", 1},
      {"b", 1},
      {"k", 1000ULL},
      {"kb", 1000ULL},
      {"m", 1000ULL * 1000},
      {"mb", 1000ULL * 1000},
      {"g", 1000ULL * 1000 * 1000},
      {"gb", 1000ULL * 1000 * 1000},
      {"t", 1000ULL * 1000 * 1000 * 1000},
      {"tb", 1000ULL * 1000 * 1000 * 1000},
      {"kib", 1ULL << 10},
      {"mib", 1ULL << 20},
      {"gib", 1ULL << 30},
      {"tib", 1ULL << 40},
  };
  uint64_t mult = 0;
  for (const auto& [name, m] : kUnits)
    if (name == unit) mult = m;
  if (mult == 0) return std::nullopt;

  if (num.find('.') == std::string_view::npos) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size()) return std::nullopt;
    if (v != 0 && mult > std::numeric_limits<uint64_t>::max() / v) return std::nullopt;
    return v * mult;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) return std::nullopt;
  long double bytes = std::round(static_cast<long double>(v) * static_cast<long double>(mult));
  if (!(bytes < 18446744073709551616.0L)) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  static const std::vector<std::pair<const char*, uint64_t>> kUnits = {
      {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10},
      {"TB", 1000ULL * 1000 * 1000 * 1000}, {"GB", 1000ULL * 1000 * 1000}, {"MB", 1000ULL * 1000},
      {"KB", 1000ULL}};
  std::string best = std::to_string(bytes) + "B";
  uint64_t best_v = bytes;
  for (const auto& [name, m] : kUnits) {
    if (bytes % m == 0 && bytes / m < best_v) {
      best_v = bytes / m;
      best = std::to_string(best_v) + name;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------

YamlReader::YamlReader(const YAML::Node& node, std::string source, std::string path)
    : source_(std::move(source)), path_(std::move(path)), mark_(YAML::Mark::null_mark()) {
  if (!node.IsDefined() || node.IsNull()) {
    if (node.IsDefined()) mark_ = node.Mark();
    return;
  }
  mark_ = node.Mark();
  if (!node.IsMap()) {
    fail_here(path_.empty() ? "expected a mapping of sections at the top level, got " + describe(node)
                            : "expected a mapping, got " + describe(node));
  }
  for (const auto& kv : node) {
    const YAML::Node k = kv.first;
    if (!k.IsScalar()) {
      throw Error(location(k.Mark()) + (path_.empty() ? "" : path_ + ": ") +
                  "keys must be plain strings, got " + describe(k));
    }
    std::string key = k.Scalar();
    if (const Entry* prev = find(key)) {
      throw Error(location(k.Mark()) + "duplicate key '" + key_path(key) + "' (first given at line " +
                  std::to_string(prev->key_node.Mark().line + 1) + ")");
    }
    entries_.push_back(Entry{key, k, kv.second});
  }
}

std::string YamlReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string YamlReader::location(const YAML::Mark& m) const {
  if (m.is_null()) return source_ + ": ";
  return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
}

const YamlReader::Entry* YamlReader::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

void YamlReader::allow(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
}

const YamlReader::Entry* YamlReader::lookup(const std::string& key) {
  allow(key);
  const Entry* e = find(key);
  if (!e || !e->value.IsDefined() || e->value.IsNull()) return nullptr;
  return e;
}

bool YamlReader::has(const std::string& key) { return lookup(key) != nullptr; }

std::vector<std::string> YamlReader::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.key);
  return out;
}

YAML::Node YamlReader::node(const std::string& key) {
  allow(key);
  const Entry* e = find(key);
  return e ? e->value : YAML::Node();
}

void YamlReader::fail(const std::string& key, const std::string& msg) const {
  YAML::Mark m = mark_;
  if (const Entry* e = find(key)) {
    m = e->value.Mark();
    if (m.is_null() || e->value.IsNull()) m = e->key_node.Mark();
  }
  throw Error(location(m) + key_path(key) + ": " + msg);
}

void YamlReader::fail_key(const std::string& key, const std::string& msg) const {
  const Entry* e = find(key);
  throw Error(location(e ? e->key_node.Mark() : mark_) + key_path(key) + ": " + msg);
}

void YamlReader::fail_here(const std::string& msg) const {
  throw Error(location(mark_) + (path_.empty() ? "" : path_ + ": ") + msg);
}

void YamlReader::fail_missing(const std::string& key) const {
  const Entry* e = find(key);
  std::string what = e ? "missing value for required key '" : "missing required key '";
  YAML::Mark m = e ? e->key_node.Mark() : (path_.empty() ? YAML::Mark::null_mark() : mark_);
  throw Error(location(m) + what + key_path(key) + "'");
}

std::string YamlReader::scalar(const std::string& key, const Entry& e, const char* expected) const {
  if (!e.value.IsScalar()) fail(key, std::string("expected ") + expected + ", got " + describe(e.value));
  return e.value.Scalar();
}

int64_t YamlReader::to_int(const std::string& key, const Entry& e, IntRange r) const {
  std::string s = scalar(key, e, "an integer");
  std::string_view v = trim(s);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || p != v.data() + v.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    fail(key, "expected an integer, got " + describe(e.value));
  if (ec == std::errc::result_out_of_range) fail(key, "integer out of range: " + describe(e.value));
  if (out < r.min || out > r.max) {
    std::string want;
    const bool lo = r.min != std::numeric_limits<int64_t>::min();
    const bool hi = r.max != std::numeric_limits<int64_t>::max();
    if (lo && hi)
      want = "between " + std::to_string(r.min) + " and " + std::to_string(r.max);
    else if (lo)
      want = ">= " + std::to_string(r.min);
    else
      want = "<= " + std::to_string(r.max);
    fail(key, "must be " + want + ", got " + std::to_string(out));
  }
  return out;
}

double YamlReader::to_double(const std::string& key, const Entry& e, DoubleRange r) const {
  std::string s = scalar(key, e, "a number");
  std::string_view v = trim(s);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !std::isfinite(out))
    fail(key, "expected a number, got " + describe(e.value));
  if (out < r.min || out > r.max) {
    std::string want;
    const bool lo = std::isfinite(r.min), hi = std::isfinite(r.max);
    if (lo && hi)
      want = "between " + fmt_double(r.min) + " and " + fmt_double(r.max);
    else if (lo)
      want = ">= " + fmt_double(r.min);
    else
      want = "<= " + fmt_double(r.max);
    fail(key, "must be " + want + ", got " + fmt_double(out));
  }
  return out;
}

bool YamlReader::to_bool(const std::string& key, const Entry& e) const {
  std::string s = to_lower(trim(scalar(key, e, "true or false")));
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(key, "expected true or false, got " + describe(e.value));
}

uint64_t YamlReader::to_size(const std::string& key, const Entry& e) const {
  std::string s = scalar(key, e, "a size");
  auto v = parse_size(s);
  if (!v) fail(key, "invalid size " + describe(e.value) + "; " + kSizeHint);
  return *v;
}

std::string YamlReader::to_enum(const std::string& key, const Entry& e,
                                const std::vector<std::string>& allowed) const {
  if (!e.value.IsScalar())
    fail(key, "expected one of " + join_names(allowed) + ", got " + describe(e.value));
  const std::string& s = e.value.Scalar();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
    fail(key, "invalid value '" + s + "'; allowed values: " + join_names(allowed));
  return s;
}

int64_t YamlReader::get_int(const std::string& key, int64_t def, IntRange r) {
  const Entry* e = lookup(key);
  return e ? to_int(key, *e, r) : def;
}
int64_t YamlReader::req_int(const std::string& key, IntRange r) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  return to_int(key, *e, r);
}
std::optional<int64_t> YamlReader::opt_int(const std::string& key, IntRange r) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return to_int(key, *e, r);
}

double YamlReader::get_double(const std::string& key, double def, DoubleRange r) {
  const Entry* e = lookup(key);
  return e ? to_double(key, *e, r) : def;
}
double YamlReader::req_double(const std::string& key, DoubleRange r) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  return to_double(key, *e, r);
}
std::optional<double> YamlReader::opt_double(const std::string& key, DoubleRange r) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return to_double(key, *e, r);
}

bool YamlReader::get_bool(const std::string& key, bool def) {
  const Entry* e = lookup(key);
  return e ? to_bool(key, *e) : def;
}
bool YamlReader::req_bool(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  return to_bool(key, *e);
}
std::optional<bool> YamlReader::opt_bool(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return to_bool(key, *e);
}

std::string YamlReader::get_string(const std::string& key, const std::string& def) {
  const Entry* e = lookup(key);
  return e ? scalar(key, *e, "a string") : def;
}
std::string YamlReader::req_string(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  std::string s = scalar(key, *e, "a string");
  if (s.empty()) fail(key, "must not be empty");
  return s;
}
std::optional<std::string> YamlReader::opt_string(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return scalar(key, *e, "a string");
}

uint64_t YamlReader::get_size(const std::string& key, uint64_t def) {
  const Entry* e = lookup(key);
  return e ? to_size(key, *e) : def;
}
uint64_t YamlReader::req_size(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  return to_size(key, *e);
}
std::optional<uint64_t> YamlReader::opt_size(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return to_size(key, *e);
}

std::vector<std::string> YamlReader::get_string_list(const std::string& key,
                                                     const std::vector<std::string>& def) {
  const Entry* e = lookup(key);
  if (!e) return def;
  if (!e->value.IsSequence()) fail(key, "expected a list of strings, got " + describe(e->value));
  std::vector<std::string> out;
  size_t i = 0;
  for (const auto& item : e->value) {
    if (!item.IsScalar()) {
      throw Error(location(item.Mark()) + key_path(key) + "[" + std::to_string(i) +
                  "]: expected a string, got " + describe(item));
    }
    out.push_back(item.Scalar());
    ++i;
  }
  return out;
}

std::string YamlReader::get_enum(const std::string& key, const std::vector<std::string>& allowed,
                                 const std::string& def) {
  const Entry* e = lookup(key);
  return e ? to_enum(key, *e, allowed) : def;
}
std::string YamlReader::req_enum(const std::string& key, const std::vector<std::string>& allowed) {
  const Entry* e = lookup(key);
  if (!e) fail_missing(key);
  return to_enum(key, *e, allowed);
}
std::optional<std::string> YamlReader::opt_enum(const std::string& key,
                                                const std::vector<std::string>& allowed) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  return to_enum(key, *e, allowed);
}

YamlReader YamlReader::section(const std::string& key) {
  auto s = opt_section(key);
  if (!s) fail_missing(key);
  return std::move(*s);
}

std::optional<YamlReader> YamlReader::opt_section(const std::string& key) {
  allow(key);
  const Entry* e = find(key);
  if (!e) return std::nullopt;
  if (e->value.IsDefined() && !e->value.IsNull() && !e->value.IsMap())
    fail(key, "expected a mapping, got " + describe(e->value));
  YamlReader r(e->value, source_, key_path(key));
  if (r.mark_.is_null() || e->value.IsNull()) r.mark_ = e->key_node.Mark();
  return r;
}

std::vector<YamlReader> YamlReader::section_list(const std::string& key) {
  const Entry* e = lookup(key);
  if (!e) return {};
  if (!e->value.IsSequence()) fail(key, "expected a list of mappings, got " + describe(e->value));
  std::vector<YamlReader> out;
  size_t i = 0;
  for (const auto& item : e->value) {
    std::string p = key_path(key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) throw Error(location(item.Mark()) + p + ": expected a mapping, got " + describe(item));
    out.emplace_back(item, source_, p);
    ++i;
  }
  return out;
}

void YamlReader::finish() const {
  for (const auto& e : entries_) {
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::string msg = location(e.key_node.Mark()) + "unknown key '" + key_path(e.key) + "'";
    std::string best;
    size_t best_d = 3;
    for (const auto& k : known_) {
      size_t d = edit_distance(to_lower(e.key), to_lower(k));
      if (d < best_d) best_d = d, best = k;
    }
    if (!best.empty()) msg += " (did you mean '" + best + "'?)";
    if (known_.empty())
      msg += "; '" + path_ + "' takes no keys";
    else if (path_.empty())
      msg += "; allowed top-level keys: " + join_names(known_);
    else
      msg += "; allowed keys under '" + path_ + "': " + join_names(known_);
    throw Error(msg);
  }
}

}  // namespace as
