#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"

namespace as {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t load_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_u64_le(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string qt(const std::string& s) { return "\"" + s + "\""; }

// Parses `text` as JSON, rejecting duplicate keys in any object (nlohmann keeps the last one
// silently). Throws as::Error prefixed with `where`.
json parse_strict(std::string_view text, const std::string& where, const char* what) {
  std::vector<std::set<std::string>> seen;
  std::vector<std::string> path;  // last key at each object depth
  std::string duplicate;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        seen.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        if (path.size() > seen.size()) path.resize(seen.size());
        break;
      case json::parse_event_t::key: {
        const std::string k = parsed.get<std::string>();
        const size_t d = seen.size();
        if (d == 0) break;
        path.resize(d);
        if (!seen.back().insert(k).second && duplicate.empty())
          duplicate = d == 1 ? "duplicate name " + qt(k)
                             : "entry " + qt(path[d - 2]) + ": duplicate key " + qt(k);
        path[d - 1] = k;
        break;
      }
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    throw Error(where + ": " + what + " is not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) throw Error(where + ": " + what + ": " + duplicate);
  return j;
}

bool json_to_u64(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < 0) return false;
    out = static_cast<uint64_t>(s);
    return true;
  }
  return false;
}

// numel * elem_size with overflow detection; false on overflow.
bool checked_bytes(const std::vector<int64_t>& shape, size_t elem, uint64_t& out) {
  uint64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  return !__builtin_mul_overflow(n, static_cast<uint64_t>(elem), &out);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  s += ']';
  return s;
}

std::string json_string(const std::string& s, const std::string& context) {
  try {
    return json(s).dump();
  } catch (const json::exception&) {
    throw Error(context + ": " + qt(s) + " is not valid UTF-8");
  }
}

std::string dir_join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TensorView

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const std::string& p = file_.path();
  const size_t size = file_.size();
  if (size < 8)
    throw Error(p + ": not a safetensors file: " + std::to_string(size) +
                " bytes, shorter than the 8-byte header length");
  const uint64_t n = load_u64_le(file_.data());
  if (n > kMaxHeaderBytes)
    throw Error(p + ": header length " + std::to_string(n) + " exceeds the 100000000-byte limit");
  if (n > size - 8)
    throw Error(p + ": header length " + std::to_string(n) + " exceeds the file size " +
                std::to_string(size));
  const std::string_view text(reinterpret_cast<const char*>(file_.data()) + 8, n);
  // nlohmann treats a NUL byte as end of input; the header must be JSON + spaces only.
  if (const void* nul = std::memchr(text.data(), 0, text.size()))
    throw Error(p + ": header is not valid JSON: NUL byte at header offset " +
                std::to_string(static_cast<const char*>(nul) - text.data()));
  const json header = parse_strict(text, p, "header");
  if (!header.is_object()) throw Error(p + ": header is not a JSON object");

  const uint64_t data_start = 8 + n;
  const uint64_t buffer = size - data_start;
  struct Span {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(p + ": __metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw Error(p + ": __metadata__ value for key " + qt(m.key()) + " is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string ctx = p + ": tensor " + qt(name);
    if (!v.is_object()) throw Error(ctx + ": entry is not a JSON object");
    for (const char* k : {"dtype", "shape", "data_offsets"})
      if (!v.contains(k)) throw Error(ctx + ": missing key " + qt(k));
    for (auto m = v.begin(); m != v.end(); ++m)
      if (m.key() != "dtype" && m.key() != "shape" && m.key() != "data_offsets")
        throw Error(ctx + ": unexpected key " + qt(m.key()) +
                    " (expected dtype, shape, data_offsets)");

    TensorView t;
    t.name = name;
    if (!v["dtype"].is_string()) throw Error(ctx + ": dtype is not a string");
    t.dtype = dtype_from_name(v["dtype"].get<std::string>(), ctx);

    const json& shape = v["shape"];
    if (!shape.is_array()) throw Error(ctx + ": shape is not an array");
    for (const json& d : shape) {
      uint64_t u = 0;
      if (!json_to_u64(d, u) || u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(ctx + ": shape " + shape.dump() + " is not a list of non-negative integers");
      t.shape.push_back(static_cast<int64_t>(u));
    }

    const json& off = v["data_offsets"];
    uint64_t b = 0, e = 0;
    if (!off.is_array() || off.size() != 2 || !json_to_u64(off[0], b) || !json_to_u64(off[1], e))
      throw Error(ctx + ": data_offsets " + off.dump() + " is not a pair of non-negative integers");
    if (e < b) throw Error(ctx + ": data_offsets " + off.dump() + " end before begin");
    if (e > buffer)
      throw Error(ctx + ": data_offsets " + off.dump() + " out of range (data buffer is " +
                  std::to_string(buffer) + " bytes)");
    uint64_t expect = 0;
    if (!checked_bytes(t.shape, dtype_size(t.dtype), expect))
      throw Error(ctx + ": shape " + shape_str(t.shape) + " x " + dtype_name(t.dtype) +
                  " overflows 64-bit byte count");
    if (expect != e - b)
      throw Error(ctx + ": shape " + shape_str(t.shape) + " x " + dtype_name(t.dtype) + " needs " +
                  std::to_string(expect) + " bytes but data_offsets span " + std::to_string(e - b));
    t.data = file_.data() + data_start + b;
    t.nbytes = e - b;
    auto [pos, inserted] = tensors_.emplace(name, std::move(t));
    if (!inserted) throw Error(ctx + ": duplicate tensor name");
    spans.push_back({b, e, &pos->first});
  }

  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t prev_end = 0;
  const std::string* prev = nullptr;
  for (const Span& s : spans) {
    if (s.begin > prev_end)
      throw Error(p + ": tensor " + qt(*s.name) + " starts at " + std::to_string(s.begin) +
                  ", leaving a gap after " + (prev ? "tensor " + qt(*prev) : "the buffer start") +
                  " (ends at " + std::to_string(prev_end) + ")");
    if (s.begin < prev_end)
      throw Error(p + ": tensor " + qt(*s.name) + " data_offsets overlap tensor " + qt(*prev));
    prev_end = s.end;
    prev = s.name;
  }
  if (prev_end != buffer)
    throw Error(p + ": " + std::to_string(buffer - prev_end) + " trailing bytes after the last tensor (data buffer " +
                std::to_string(buffer) + " bytes, tensors end at " + std::to_string(prev_end) + ")");
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return tensors_.count(name) != 0; }

const TensorView& SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(path() + ": no tensor named " + qt(name));
  return it->second;
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorView& t = get(name);
  file_.release(static_cast<size_t>(t.data - file_.data()), t.nbytes);
}

// ---------------------------------------------------------------------------------------------
// SafetensorsWriter

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  json_string(key, "safetensors metadata key");
  json_string(value, "safetensors metadata value for " + qt(key));
  metadata_[key] = value;
}

void SafetensorsWriter::check_new(const std::string& name, DType dtype,
                                  const std::vector<int64_t>& shape) const {
  const std::string ctx = "safetensors writer: tensor " + qt(name);
  if (name.empty()) throw Error("safetensors writer: empty tensor name");
  if (name == "__metadata__") throw Error(ctx + ": reserved name");
  json_string(name, "safetensors writer: tensor name");
  for (int64_t d : shape)
    if (d < 0) throw Error(ctx + ": negative dimension in shape " + shape_str(shape));
  uint64_t nb = 0;
  if (!checked_bytes(shape, dtype_size(dtype), nb))
    throw Error(ctx + ": shape " + shape_str(shape) + " overflows 64-bit byte count");
  for (const Entry& e : entries_)
    if (e.name == name) throw Error(ctx + ": added twice");
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            std::vector<uint8_t> bytes) {
  check_new(name, dtype, shape);
  uint64_t nb = 0;
  checked_bytes(shape, dtype_size(dtype), nb);
  if (bytes.size() != nb)
    throw Error("safetensors writer: tensor " + qt(name) + ": shape " + shape_str(shape) + " x " +
                dtype_name(dtype) + " needs " + std::to_string(nb) + " bytes, got " +
                std::to_string(bytes.size()));
  entries_.push_back(Entry{name, dtype, std::move(shape), nb, std::move(bytes), nullptr});
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  check_new(name, dtype, shape);
  uint64_t nb = 0;
  checked_bytes(shape, dtype_size(dtype), nb);
  if (nb > 0 && data == nullptr) throw Error("safetensors writer: tensor " + qt(name) + ": null data");
  std::vector<uint8_t> bytes(nb);
  if (nb) std::memcpy(bytes.data(), data, nb);
  entries_.push_back(Entry{name, dtype, std::move(shape), nb, std::move(bytes), nullptr});
}

void SafetensorsWriter::add_lazy(const std::string& name, DType dtype, std::vector<int64_t> shape, Fill fill) {
  check_new(name, dtype, shape);
  if (!fill) throw Error("safetensors writer: tensor " + qt(name) + ": empty fill callback");
  uint64_t nb = 0;
  checked_bytes(shape, dtype_size(dtype), nb);
  entries_.push_back(Entry{name, dtype, std::move(shape), nb, {}, std::move(fill)});
}

uint64_t SafetensorsWriter::payload_bytes() const {
  uint64_t n = 0;
  for (const Entry& e : entries_) n += e.nbytes;
  return n;
}

void SafetensorsWriter::write_entries(const std::string& path, const std::map<std::string, std::string>& metadata,
                                      std::vector<const Entry*> list) {
  std::stable_sort(list.begin(), list.end(), [](const Entry* a, const Entry* b) {
    const size_t sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      h += json(k).dump() + ":" + json(v).dump();
    }
    h += "}";
  }
  uint64_t off = 0;
  for (const Entry* e : list) {
    if (h.size() > 1) h += ',';
    h += json(e->name).dump();
    h += ":{\"dtype\":\"";
    h += dtype_name(e->dtype);
    h += "\",\"shape\":" + shape_str(e->shape);
    h += ",\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + e->nbytes) + "]}";
    off += e->nbytes;
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  if (h.size() > kMaxHeaderBytes)
    throw Error(path + ": header of " + std::to_string(h.size()) + " bytes exceeds the 100000000-byte limit");

  AtomicWriter w(path);
  uint8_t len[8];
  store_u64_le(len, h.size());
  w.write(len, 8);
  w.write(h);
  std::vector<uint8_t> buf;
  for (const Entry* e : list) {
    if (!e->fill) {
      w.write(e->bytes.data(), e->bytes.size());
      continue;
    }
    buf.resize(e->nbytes);
    e->fill(buf.data(), e->nbytes);
    w.write(buf.data(), buf.size());
  }
  if (w.bytes_written() != 8 + h.size() + off)
    throw Error(path + ": wrote " + std::to_string(w.bytes_written()) + " bytes, expected " +
                std::to_string(8 + h.size() + off));
  w.commit();
}

void SafetensorsWriter::write(const std::string& path) const {
  std::vector<const Entry*> list;
  list.reserve(entries_.size());
  for (const Entry& e : entries_) list.push_back(&e);
  write_entries(path, metadata_, std::move(list));
}

// ---------------------------------------------------------------------------------------------
// Sharded writing

void write_sharded(const std::string& dir, const SafetensorsWriter& tensors, uint64_t max_shard_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!is_directory(dir)) throw Error(dir + ": cannot create output directory" + (ec ? ": " + ec.message() : ""));

  const std::string index_path = dir_join(dir, "model.safetensors.index.json");
  const uint64_t total = tensors.payload_bytes();
  if (max_shard_bytes == 0 || total <= max_shard_bytes) {
    tensors.write(dir_join(dir, "model.safetensors"));
    if (file_exists(index_path)) std::filesystem::remove(index_path, ec);
    return;
  }

  using Entry = SafetensorsWriter::Entry;
  std::vector<std::vector<const Entry*>> shards(1);
  uint64_t cur = 0;
  for (const Entry& e : tensors.entries_) {
    if (!shards.back().empty() && cur + e.nbytes > max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(&e);
    cur += e.nbytes;
  }
  const size_t n = shards.size();
  if (n > 99999) throw Error(dir + ": " + std::to_string(n) + " shards exceed the 5-digit naming scheme");
  auto shard_name = [n](size_t k) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1, n);
    return std::string(buf);
  };
  json weight_map = json::object();
  for (size_t k = 0; k < n; ++k) {
    const std::string name = shard_name(k);
    SafetensorsWriter::write_entries(dir_join(dir, name), tensors.metadata_, shards[k]);
    for (const Entry* e : shards[k]) weight_map[e->name] = name;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_file_atomic(index_path, index.dump(2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

Checkpoint::Checkpoint(const std::string& dir_or_file) : location_(dir_or_file) {
  auto add_file = [&](const std::string& path) -> const SafetensorsFile* {
    files_.push_back(std::make_unique<SafetensorsFile>(path));
    return files_.back().get();
  };
  if (file_exists(dir_or_file) && !is_directory(dir_or_file)) {
    const SafetensorsFile* f = add_file(dir_or_file);
    for (const auto& n : f->names()) where_[n] = f;
    return;
  }
  if (!is_directory(dir_or_file)) throw Error(dir_or_file + ": no such checkpoint file or directory");

  const std::string index_path = dir_join(dir_or_file, "model.safetensors.index.json");
  if (file_exists(index_path)) {
    const json index = parse_strict(read_file(index_path), index_path, "index");
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path + ": missing \"weight_map\" object");
    std::map<std::string, const SafetensorsFile*> opened;
    const json& wm = index["weight_map"];
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      if (!it.value().is_string())
        throw Error(index_path + ": weight_map entry for " + qt(it.key()) + " is not a string");
      const std::string shard = it.value().get<std::string>();
      if (shard.empty() || shard.front() == '/' || shard.find("..") != std::string::npos)
        throw Error(index_path + ": weight_map entry for " + qt(it.key()) + " names an invalid shard " +
                    qt(shard));
      auto o = opened.find(shard);
      if (o == opened.end()) {
        const std::string sp = dir_join(dir_or_file, shard);
        if (!file_exists(sp))
          throw Error(index_path + ": shard " + qt(shard) + " (listing tensor " + qt(it.key()) +
                      ") is missing");
        o = opened.emplace(shard, add_file(sp)).first;
      }
      if (!o->second->contains(it.key()))
        throw Error(index_path + ": tensor " + qt(it.key()) + " listed in the index is absent from shard " +
                    qt(shard));
      where_[it.key()] = o->second;
    }
    return;
  }

  const std::string single = dir_join(dir_or_file, "model.safetensors");
  std::vector<std::string> paths;
  if (file_exists(single)) {
    paths.push_back(single);
  } else {
    for (const auto& de : std::filesystem::directory_iterator(dir_or_file)) {
      if (de.is_regular_file() && de.path().extension() == ".safetensors") paths.push_back(de.path().string());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.empty())
      throw Error(dir_or_file + ": no model.safetensors.index.json, model.safetensors or *.safetensors file");
  }
  for (const auto& path : paths) {
    const SafetensorsFile* f = add_file(path);
    for (const auto& n : f->names()) {
      auto [it, inserted] = where_.emplace(n, f);
      if (!inserted)
        throw Error(dir_or_file + ": tensor " + qt(n) + " is in both " + it->second->path() + " and " + path);
    }
  }
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

bool Checkpoint::contains(const std::string& name) const { return where_.count(name) != 0; }

const TensorView& Checkpoint::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error(location_ + ": no tensor named " + qt(name) + " in checkpoint");
  return it->second->get(name);
}

void Checkpoint::release(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error(location_ + ": no tensor named " + qt(name) + " in checkpoint");
  it->second->release(name);
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& [k, f] : where_) n += f->get(k).nbytes;
  return n;
}

}  // namespace as
