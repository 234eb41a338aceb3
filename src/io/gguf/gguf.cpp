#include "io/gguf/gguf.h"

#include <algorithm>
#include <limits>

namespace as::gguf {

namespace {

constexpr uint64_t kMaxStringLength = uint64_t(1) << 30;  // ggml's GGUF_MAX_STRING_LENGTH
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 30;  // ggml's GGUF_MAX_ARRAY_ELEMENTS
constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

std::string hex_bytes(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

std::string prefix(const std::string& context) { return context.empty() ? "" : context + ": "; }

// Bounds-checked little-endian reader over the mapped file.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size, const std::string& path) : base_(base), size_(size), path_(path) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > size_ - pos_)
      throw Error(path_ + ": truncated file: " + what + " needs " + std::to_string(n) + " bytes at offset " +
                  std::to_string(pos_) + " but the file has " + std::to_string(size_) + " bytes");
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const uint8_t* take(uint64_t n, const std::string& what) {
    need(n, what);
    const uint8_t* p = base_ + pos_;
    pos_ += n;
    return p;
  }
  std::string read_string(const std::string& what) {
    const uint64_t len = read<uint64_t>(what + " length");
    if (len > kMaxStringLength)
      throw Error(path_ + ": " + what + " length " + std::to_string(len) + " exceeds the 1 GiB limit");
    const uint8_t* p = take(len, what);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

Value read_value(Cursor& c, const std::string& path, const std::string& key) {
  const std::string what = "value of key '" + key + "'";
  const uint32_t t = c.read<uint32_t>("type of key '" + key + "'");
  if (!known_value_type(t))
    throw Error(path + ": key '" + key + "' has unknown value type " + std::to_string(t));
  ValueType type = static_cast<ValueType>(t);
  ValueType elem = type;
  uint64_t count = 1;
  if (type == ValueType::ARRAY) {
    const uint32_t e = c.read<uint32_t>("array element type of key '" + key + "'");
    if (!known_value_type(e))
      throw Error(path + ": key '" + key + "' is an array of unknown value type " + std::to_string(e));
    elem = static_cast<ValueType>(e);
    if (elem == ValueType::ARRAY) throw Error(path + ": key '" + key + "' is a nested array (not supported by ggml)");
    count = c.read<uint64_t>("array length of key '" + key + "'");
    if (count > kMaxArrayElements)
      throw Error(path + ": key '" + key + "' array length " + std::to_string(count) + " exceeds the 2^30 limit");
    const uint64_t min_bytes = elem == ValueType::STRING ? 8 : value_type_size(elem);
    if (count * min_bytes > c.remaining())
      throw Error(path + ": truncated file: key '" + key + "' array of " + std::to_string(count) + " " +
                  value_type_name(elem) + " needs more than the remaining " + std::to_string(c.remaining()) +
                  " bytes");
  }
  std::vector<uint8_t> raw;
  std::vector<std::string> strs;
  if (elem == ValueType::STRING) {
    strs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) strs.push_back(c.read_string(what));
  } else {
    const uint64_t n = count * value_type_size(elem);
    const uint8_t* p = c.take(n, what);
    raw.assign(p, p + n);
    if (elem == ValueType::BOOL)  // ggml reads any non-zero byte as true
      for (auto& b : raw) b = b ? 1 : 0;
  }
  return Value::from_parts(type, elem, count, std::move(raw), std::move(strs));
}

void put_bytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <typename T>
void put(std::string& out, T v) {
  put_bytes(out, &v, sizeof v);
}
void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Value

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "u8";
    case ValueType::INT8: return "i8";
    case ValueType::UINT16: return "u16";
    case ValueType::INT16: return "i16";
    case ValueType::UINT32: return "u32";
    case ValueType::INT32: return "i32";
    case ValueType::FLOAT32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "str";
    case ValueType::ARRAY: return "arr";
    case ValueType::UINT64: return "u64";
    case ValueType::INT64: return "i64";
    case ValueType::FLOAT64: return "f64";
  }
  return "unknown";
}

size_t value_type_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    default: return 0;
  }
}

std::string Value::type_str() const {
  if (!is_array()) return value_type_name(type_);
  return std::string("arr[") + value_type_name(elem_) + "," + std::to_string(count_) + "]";
}

Value Value::from_parts(ValueType type, ValueType elem, uint64_t count, std::vector<uint8_t> raw,
                        std::vector<std::string> strs) {
  Value v;
  v.type_ = type;
  v.elem_ = elem;
  v.count_ = count;
  v.raw_ = std::move(raw);
  v.strs_ = std::move(strs);
  return v;
}

void Value::check(ValueType want, bool array, const std::string& context) const {
  if (is_array() != array || elem_ != want)
    throw Error(prefix(context) + "value is " + type_str() + ", expected " +
                (array ? std::string("arr[") + value_type_name(want) + "]" : std::string(value_type_name(want))));
}

const std::string& Value::get_string(const std::string& context) const {
  check(ValueType::STRING, false, context);
  return strs_[0];
}

const std::vector<std::string>& Value::get_strings(const std::string& context) const {
  check(ValueType::STRING, true, context);
  return strs_;
}

int64_t Value::as_int(const std::string& context) const {
  if (!is_array()) {
    switch (type_) {
      case ValueType::UINT8: return element<uint8_t>(0);
      case ValueType::INT8: return element<int8_t>(0);
      case ValueType::UINT16: return element<uint16_t>(0);
      case ValueType::INT16: return element<int16_t>(0);
      case ValueType::UINT32: return element<uint32_t>(0);
      case ValueType::INT32: return element<int32_t>(0);
      case ValueType::BOOL: return element<bool>(0) ? 1 : 0;
      case ValueType::INT64: return element<int64_t>(0);
      case ValueType::UINT64: {
        const uint64_t u = element<uint64_t>(0);
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          throw Error(prefix(context) + "u64 value " + std::to_string(u) + " does not fit int64");
        return static_cast<int64_t>(u);
      }
      default: break;
    }
  }
  throw Error(prefix(context) + "value is " + type_str() + ", expected an integer");
}

double Value::as_double(const std::string& context) const {
  if (!is_array()) {
    if (type_ == ValueType::FLOAT32) return element<float>(0);
    if (type_ == ValueType::FLOAT64) return element<double>(0);
    if (type_ == ValueType::UINT64) return static_cast<double>(element<uint64_t>(0));
    if (type_ != ValueType::STRING) return static_cast<double>(as_int(context));
  }
  throw Error(prefix(context) + "value is " + type_str() + ", expected a number");
}

// ---------------------------------------------------------------------------------------------
// GGUFTensor

int64_t GGUFTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::vector<int64_t> GGUFTensor::shape() const { return std::vector<int64_t>(ne.rbegin(), ne.rend()); }

// ---------------------------------------------------------------------------------------------
// GGUFFile

GGUFFile::GGUFFile(const std::string& path) : file_(path) {
  const std::string& p = file_.path();
  Cursor c(file_.data(), file_.size(), p);
  if (file_.size() < 4) throw Error(p + ": not a GGUF file: " + std::to_string(file_.size()) + " bytes");
  const uint8_t* magic = c.take(4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0)
    throw Error(p + ": not a GGUF file: bad magic " + hex_bytes(magic, 4) + " (expected 47 47 55 46 \"GGUF\")");
  version_ = c.read<uint32_t>("version");
  if (version_ == 0 || (version_ & 0xFFFF) == 0)
    throw Error(p + ": bad GGUF version " + std::to_string(version_) + " (big-endian files are not supported)");
  if (version_ == 1) throw Error(p + ": GGUF version 1 is not supported (need 2 or 3)");
  if (version_ > kGGUFVersion)
    throw Error(p + ": GGUF version " + std::to_string(version_) + " is newer than the supported version 3");
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Every KV needs at least 8 (key length) + 4 (type) + 1 bytes; every tensor info 8 + 4 + 4 + 8.
  if (n_kv > c.remaining() / 13)
    throw Error(p + ": metadata count " + std::to_string(n_kv) + " cannot fit in the remaining " +
                std::to_string(c.remaining()) + " bytes");
  if (n_tensors > c.remaining() / 24)
    throw Error(p + ": tensor count " + std::to_string(n_tensors) + " cannot fit in the remaining " +
                std::to_string(c.remaining()) + " bytes");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("key #" + std::to_string(i));
    if (key.empty()) throw Error(p + ": key #" + std::to_string(i) + " is empty");
    if (kv_.count(key)) throw Error(p + ": duplicate key '" + key + "'");
    Value v = read_value(c, p, key);
    keys_.push_back(key);
    kv_.emplace(std::move(key), std::move(v));
  }

  if (auto it = kv_.find("general.alignment"); it != kv_.end()) {
    if (it->second.is_array() || it->second.type() != ValueType::UINT32)
      throw Error(p + ": key 'general.alignment' must be u32, not " + it->second.type_str());
    const uint32_t a = it->second.get<uint32_t>();
    if (a == 0 || (a & (a - 1)) != 0)
      throw Error(p + ": key 'general.alignment' = " + std::to_string(a) + " is not a power of two");
    alignment_ = a;
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GGUFTensor t;
    t.name = c.read_string("name of tensor #" + std::to_string(i));
    const std::string tc = p + ": tensor '" + t.name + "'";
    if (t.name.size() > kMaxTensorName)
      throw Error(tc + ": name is " + std::to_string(t.name.size()) + " bytes, longer than ggml's limit of " +
                  std::to_string(kMaxTensorName));
    if (t.name.find('\0') != std::string::npos) throw Error(tc + ": name contains a NUL byte");
    if (index_.count(t.name)) throw Error(tc + ": duplicate tensor name");
    const uint32_t n_dims = c.read<uint32_t>("dimension count of tensor '" + t.name + "'");
    if (n_dims > kMaxDims)
      throw Error(tc + ": " + std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) + ")");
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t v = c.read<int64_t>("dimensions of tensor '" + t.name + "'");
      if (v < 0) throw Error(tc + ": dimension " + std::to_string(d) + " is negative (" + std::to_string(v) + ")");
      if (__builtin_mul_overflow(numel, v, &numel)) throw Error(tc + ": element count overflows int64");
      t.ne.push_back(v);
    }
    const uint32_t type_id = c.read<uint32_t>("type of tensor '" + t.name + "'");
    const TypeTraits* tr = find_type(type_id);
    if (!tr) throw Error(tc + ": unknown ggml type id " + std::to_string(type_id));
    t.type = tr->type;
    const int64_t row = t.ne.empty() ? 1 : t.ne[0];
    if (row % tr->block_size != 0)
      throw Error(tc + ": row length " + std::to_string(row) + " is not a multiple of the " + tr->name +
                  " block size " + std::to_string(tr->block_size));
    const uint64_t blocks = static_cast<uint64_t>(numel / tr->block_size);
    if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(tr->type_size), &t.nbytes))
      throw Error(tc + ": byte size overflows 64 bits");
    t.offset = c.read<uint64_t>("data offset of tensor '" + t.name + "'");
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  data_offset_ = n_tensors > 0 ? pad_to(c.pos(), alignment_) : c.pos();
  const uint64_t size = file_.size();
  if (data_offset_ > size)
    throw Error(p + ": truncated file: data section starts at " + std::to_string(data_offset_) +
                " but the file has " + std::to_string(size) + " bytes");
  uint64_t expect = 0;
  for (GGUFTensor& t : tensors_) {
    const std::string tc = p + ": tensor '" + t.name + "'";
    if (t.offset != expect)
      throw Error(tc + ": data offset " + std::to_string(t.offset) + ", expected " + std::to_string(expect) +
                  " (tensors must be stored in order, each padded to " + std::to_string(alignment_) + " bytes)");
    const uint64_t avail = size - data_offset_;  // data_offset_ <= size was checked above
    if (t.offset > avail || t.nbytes > avail - t.offset)
      throw Error(tc + ": data [" + std::to_string(data_offset_ + t.offset) + ", +" + std::to_string(t.nbytes) +
                  ") extends beyond the end of the file (" + std::to_string(size) + " bytes)");
    t.data = file_.data() + data_offset_ + t.offset;
    expect = t.offset + pad_to(t.nbytes, alignment_);
  }
}

const Value& GGUFFile::value(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) throw Error(path() + ": missing key '" + key + "'");
  return it->second;
}

const GGUFTensor& GGUFFile::tensor(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(path() + ": no tensor named '" + name + "'");
  return tensors_[it->second];
}

std::vector<float> GGUFFile::to_float(const std::string& name) const {
  const GGUFTensor& t = tensor(name);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  dequantize(t.type, t.data, out.data(), t.numel(), path() + ": tensor '" + name + "'");
  return out;
}

void GGUFFile::release(const std::string& name) const {
  const GGUFTensor& t = tensor(name);
  file_.release(static_cast<size_t>(t.data - file_.data()), t.nbytes);
}

// ---------------------------------------------------------------------------------------------
// GGUFWriter

void GGUFWriter::add_kv(const std::string& key, Value v) {
  if (key.empty()) throw Error("gguf writer: empty metadata key");
  if (key == "general.alignment") {
    if (v.is_array() || v.type() != ValueType::UINT32)
      throw Error("gguf writer: key 'general.alignment' must be u32, not " + v.type_str());
    const uint32_t a = v.get<uint32_t>();
    if (a == 0 || (a & (a - 1)) != 0)
      throw Error("gguf writer: key 'general.alignment' = " + std::to_string(a) + " is not a power of two");
    alignment_ = a;
  }
  for (auto& [k, old] : kv_) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  kv_.emplace_back(key, std::move(v));
}

bool GGUFWriter::has_kv(const std::string& key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return true;
  return false;
}

uint64_t GGUFWriter::check_tensor(const std::string& name, GGMLType type, const std::vector<int64_t>& ne) const {
  const std::string tc = "gguf writer: tensor '" + name + "'";
  if (name.empty()) throw Error("gguf writer: empty tensor name");
  if (name.find('\0') != std::string::npos) throw Error(tc + ": name contains a NUL byte");
  if (name.size() > kMaxTensorName)
    throw Error(tc + ": name longer than " + std::to_string(kMaxTensorName) + " bytes");
  for (const Tensor& t : tensors_)
    if (t.name == name) throw Error(tc + ": added twice");
  if (ne.empty() || ne.size() > static_cast<size_t>(kMaxDims))
    throw Error(tc + ": " + std::to_string(ne.size()) + " dimensions (need 1 to " + std::to_string(kMaxDims) + ")");
  const TypeTraits* tr = find_type(static_cast<uint32_t>(type));
  if (!tr) throw Error(tc + ": unknown ggml type id " + std::to_string(static_cast<uint32_t>(type)));
  int64_t numel = 1;
  for (int64_t d : ne) {
    if (d < 0) throw Error(tc + ": negative dimension");
    if (__builtin_mul_overflow(numel, d, &numel)) throw Error(tc + ": element count overflows int64");
  }
  if (ne[0] % tr->block_size != 0)
    throw Error(tc + ": row length " + std::to_string(ne[0]) + " is not a multiple of the " + tr->name +
                " block size " + std::to_string(tr->block_size));
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel / tr->block_size), static_cast<uint64_t>(tr->type_size),
                             &nbytes))
    throw Error(tc + ": byte size overflows 64 bits");
  return nbytes;
}

void GGUFWriter::add_tensor(const std::string& name, GGMLType type, std::vector<int64_t> ne,
                            std::vector<uint8_t> bytes) {
  const uint64_t nb = check_tensor(name, type, ne);
  if (bytes.size() != nb)
    throw Error("gguf writer: tensor '" + name + "': " + type_name(type) + " data needs " + std::to_string(nb) +
                " bytes, got " + std::to_string(bytes.size()));
  tensors_.push_back(Tensor{name, type, std::move(ne), nb, std::move(bytes), nullptr});
}

void GGUFWriter::add_tensor(const std::string& name, GGMLType type, std::vector<int64_t> ne, const void* data) {
  const uint64_t nb = check_tensor(name, type, ne);
  if (nb > 0 && !data) throw Error("gguf writer: tensor '" + name + "': null data");
  std::vector<uint8_t> bytes(nb);
  if (nb) std::memcpy(bytes.data(), data, nb);
  tensors_.push_back(Tensor{name, type, std::move(ne), nb, std::move(bytes), nullptr});
}

void GGUFWriter::add_tensor_lazy(const std::string& name, GGMLType type, std::vector<int64_t> ne, Fill fill) {
  const uint64_t nb = check_tensor(name, type, ne);
  if (!fill) throw Error("gguf writer: tensor '" + name + "': empty fill callback");
  tensors_.push_back(Tensor{name, type, std::move(ne), nb, {}, std::move(fill)});
}

void GGUFWriter::add_tensor_from_f32(const std::string& name, GGMLType type, std::vector<int64_t> ne,
                                     const float* x) {
  check_tensor(name, type, ne);
  int64_t numel = 1;
  for (int64_t d : ne) numel *= d;
  add_tensor(name, type, std::move(ne), quantize(type, x, numel, "gguf writer: tensor '" + name + "'"));
}

void GGUFWriter::write(const std::string& path) const {
  std::string h;
  put_bytes(h, kMagic, 4);
  put<uint32_t>(h, kGGUFVersion);
  put<uint64_t>(h, tensors_.size());
  put<uint64_t>(h, kv_.size());
  for (const auto& [key, v] : kv_) {
    put_string(h, key);
    put<uint32_t>(h, static_cast<uint32_t>(v.type()));
    if (v.is_array()) {
      put<uint32_t>(h, static_cast<uint32_t>(v.elem_type()));
      put<uint64_t>(h, v.size());
    }
    if (v.elem_type() == ValueType::STRING) {
      for (const auto& s : v.strings()) put_string(h, s);
    } else {
      put_bytes(h, v.raw().data(), v.raw().size());
    }
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(h, t.name);
    put<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<int64_t>(h, d);
    put<uint32_t>(h, static_cast<uint32_t>(t.type));
    put<uint64_t>(h, offset);
    offset += pad_to(t.nbytes, alignment_);
  }
  h.append(pad_to(h.size(), alignment_) - h.size(), '\0');

  AtomicWriter w(path);
  w.write(h);
  static const char zeros[4096] = {};
  auto write_zeros = [&](uint64_t n) {
    for (; n > 0; n -= std::min<uint64_t>(n, sizeof zeros)) w.write(zeros, std::min<uint64_t>(n, sizeof zeros));
  };
  std::vector<uint8_t> buf;
  for (const Tensor& t : tensors_) {
    if (t.fill) {
      buf.assign(t.nbytes, 0);
      t.fill(buf.data(), t.nbytes);
      w.write(buf.data(), buf.size());
    } else {
      w.write(t.bytes.data(), t.bytes.size());
    }
    write_zeros(pad_to(t.nbytes, alignment_) - t.nbytes);
  }
  if (w.bytes_written() != h.size() + offset)
    throw Error(path + ": wrote " + std::to_string(w.bytes_written()) + " bytes, expected " +
                std::to_string(h.size() + offset));
  w.commit();
}

}  // namespace as::gguf
