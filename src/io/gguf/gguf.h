// GGUF v3 container: a validating zero-copy reader (mmap) and an atomic, streaming writer. Torch-free.
//
// Layout (little-endian): "GGUF" | u32 version | u64 n_tensors | u64 n_kv | KV... | tensor infos... |
// zero padding to `alignment` | tensor data (each tensor padded to `alignment`).
//   KV:          string key | u32 value type | value   (arrays: u32 elem type, u64 count, elements)
//   string:      u64 length | bytes (no NUL)
//   tensor info: string name | u32 n_dims | u64 ne[n_dims] (ne[0] = row length) | u32 ggml type | u64 offset
// `alignment` is the u32 key general.alignment (a power of two), default 32. Tensor offsets are
// relative to the data section and, as ggml's reader requires, follow the tensor-info order with
// each tensor starting at the padded end of the previous one.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "common/file.h"
#include "io/gguf/ggml_types.h"

namespace as::gguf {

constexpr uint32_t kGGUFVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr size_t kMaxTensorName = 63;  // ggml's GGML_MAX_NAME (64) including the NUL
constexpr int kMaxDims = 4;

enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* value_type_name(ValueType t);  // "u8", "i32", "f32", "bool", "str", "arr", ...
// Bytes of one element of a fixed-size type; 0 for STRING / ARRAY / unknown.
size_t value_type_size(ValueType t);

template <typename T> struct ValueTypeOf;
template <> struct ValueTypeOf<uint8_t> { static constexpr ValueType value = ValueType::UINT8; };
template <> struct ValueTypeOf<int8_t> { static constexpr ValueType value = ValueType::INT8; };
template <> struct ValueTypeOf<uint16_t> { static constexpr ValueType value = ValueType::UINT16; };
template <> struct ValueTypeOf<int16_t> { static constexpr ValueType value = ValueType::INT16; };
template <> struct ValueTypeOf<uint32_t> { static constexpr ValueType value = ValueType::UINT32; };
template <> struct ValueTypeOf<int32_t> { static constexpr ValueType value = ValueType::INT32; };
template <> struct ValueTypeOf<float> { static constexpr ValueType value = ValueType::FLOAT32; };
template <> struct ValueTypeOf<bool> { static constexpr ValueType value = ValueType::BOOL; };
template <> struct ValueTypeOf<std::string> { static constexpr ValueType value = ValueType::STRING; };
template <> struct ValueTypeOf<uint64_t> { static constexpr ValueType value = ValueType::UINT64; };
template <> struct ValueTypeOf<int64_t> { static constexpr ValueType value = ValueType::INT64; };
template <> struct ValueTypeOf<double> { static constexpr ValueType value = ValueType::FLOAT64; };

// One metadata value: a scalar or a (non-nested) array of one element type.
class Value {
 public:
  Value() : raw_(1, 0) {}  // u8 0
  template <typename T, typename = decltype(ValueTypeOf<T>::value)>
  explicit Value(T v) : type_(ValueTypeOf<T>::value), elem_(type_), count_(1), raw_(), strs_() {
    if constexpr (std::is_same_v<T, std::string>) {
      strs_.push_back(std::move(v));
    } else if constexpr (std::is_same_v<T, bool>) {
      raw_.push_back(v ? 1 : 0);
    } else {
      raw_.resize(sizeof(T));
      std::memcpy(raw_.data(), &v, sizeof(T));
    }
  }
  explicit Value(const char* s) : Value(std::string(s)) {}
  template <typename T, typename = decltype(ValueTypeOf<T>::value)>
  explicit Value(const std::vector<T>& v)
      : type_(ValueType::ARRAY), elem_(ValueTypeOf<T>::value), count_(v.size()), raw_(), strs_() {
    if constexpr (std::is_same_v<T, std::string>) {
      strs_ = v;
    } else if constexpr (std::is_same_v<T, bool>) {
      for (bool b : v) raw_.push_back(b ? 1 : 0);
    } else {
      raw_.resize(v.size() * sizeof(T));
      if (!v.empty()) std::memcpy(raw_.data(), v.data(), raw_.size());
    }
  }

  ValueType type() const { return type_; }       // ARRAY for arrays
  ValueType elem_type() const { return elem_; }  // element type (== type() for scalars)
  bool is_array() const { return type_ == ValueType::ARRAY; }
  uint64_t size() const { return count_; }        // elements (1 for a scalar)
  // "u32", "arr[str,151936]"
  std::string type_str() const;

  // Exact-type access; throws as::Error prefixed with `context` (e.g. the key) on a mismatch.
  template <typename T>
  T get(const std::string& context = "") const {
    check(ValueTypeOf<T>::value, false, context);
    return element<T>(0);
  }
  template <typename T>
  std::vector<T> get_array(const std::string& context = "") const {
    check(ValueTypeOf<T>::value, true, context);
    std::vector<T> out;
    out.reserve(count_);
    for (uint64_t i = 0; i < count_; ++i) out.push_back(element<T>(i));
    return out;
  }
  const std::string& get_string(const std::string& context = "") const;
  const std::vector<std::string>& get_strings(const std::string& context = "") const;
  // Lenient numeric access: any integer scalar (incl. bool) that fits / any number as double.
  int64_t as_int(const std::string& context = "") const;
  double as_double(const std::string& context = "") const;

  bool operator==(const Value& o) const {
    return type_ == o.type_ && elem_ == o.elem_ && count_ == o.count_ && raw_ == o.raw_ && strs_ == o.strs_;
  }

  // Raw storage (little-endian element bytes for fixed-size types, strings otherwise).
  const std::vector<uint8_t>& raw() const { return raw_; }
  const std::vector<std::string>& strings() const { return strs_; }
  // Builds a value from parsed parts (used by the reader).
  static Value from_parts(ValueType type, ValueType elem, uint64_t count, std::vector<uint8_t> raw,
                          std::vector<std::string> strs);

 private:
  void check(ValueType want, bool array, const std::string& context) const;
  template <typename T>
  T element(uint64_t i) const {
    if constexpr (std::is_same_v<T, std::string>) {
      return strs_[i];
    } else if constexpr (std::is_same_v<T, bool>) {
      return raw_[i] != 0;
    } else {
      T v;
      std::memcpy(&v, raw_.data() + i * sizeof(T), sizeof(T));
      return v;
    }
  }

  ValueType type_ = ValueType::UINT8;
  ValueType elem_ = ValueType::UINT8;
  uint64_t count_ = 1;
  std::vector<uint8_t> raw_;
  std::vector<std::string> strs_;
};

struct GGUFTensor {
  std::string name;
  GGMLType type = GGMLType::F32;
  std::vector<int64_t> ne;    // GGUF order: ne[0] is the row length (fastest varying)
  uint64_t offset = 0;        // relative to the data section
  const uint8_t* data = nullptr;  // into the mmap; valid while the GGUFFile lives
  uint64_t nbytes = 0;
  int64_t numel() const;
  std::vector<int64_t> shape() const;  // reversed ne: PyTorch order ([out, in] for a weight)
};

class GGUFFile {
 public:
  // Maps and validates the whole file; throws as::Error naming the file and the key / tensor.
  explicit GGUFFile(const std::string& path);
  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::string>& keys() const { return keys_; }  // file order
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const Value& value(const std::string& key) const;  // throws naming key and file
  template <typename T>
  T get(const std::string& key) const {
    return value(key).get<T>(ctx(key));
  }
  template <typename T>
  T get_or(const std::string& key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  template <typename T>
  std::vector<T> get_array(const std::string& key) const {
    return value(key).get_array<T>(ctx(key));
  }
  std::string get_string(const std::string& key) const { return value(key).get_string(ctx(key)); }
  int64_t get_int(const std::string& key) const { return value(key).as_int(ctx(key)); }
  double get_double(const std::string& key) const { return value(key).as_double(ctx(key)); }

  const std::vector<GGUFTensor>& tensors() const { return tensors_; }  // file order
  bool has_tensor(const std::string& name) const { return index_.count(name) != 0; }
  const GGUFTensor& tensor(const std::string& name) const;  // throws naming tensor and file
  // The whole tensor as float32 (dequantized); throws naming the tensor for types without a codec.
  std::vector<float> to_float(const std::string& name) const;
  // Drops the page-cache residency of one tensor's bytes.
  void release(const std::string& name) const;

 private:
  std::string ctx(const std::string& key) const { return path() + ": key '" + key + "'"; }
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::string> keys_;
  std::map<std::string, Value> kv_;
  std::vector<GGUFTensor> tensors_;
  std::map<std::string, size_t> index_;
};

// Builds a GGUF file: metadata in insertion order, tensors in insertion order. Tensor bytes are
// given up front or produced by a callback during write(); the file appears atomically.
class GGUFWriter {
 public:
  using Fill = std::function<void(uint8_t* dst, uint64_t nbytes)>;

  // Adds or replaces (in place) a metadata key. general.alignment must be a u32 power of two.
  void add_kv(const std::string& key, Value v);
  template <typename T>
  void add_kv(const std::string& key, T v) {
    add_kv(key, Value(std::move(v)));
  }
  void set_alignment(uint32_t alignment) { add_kv("general.alignment", Value(alignment)); }
  uint32_t alignment() const { return alignment_; }
  bool has_kv(const std::string& key) const;

  // `ne` in GGUF order (ne[0] = row length, a multiple of the type's block size), 1..4 dims, written
  // as given (ggml's own writer drops trailing dims of 1; pass them that way for identical bytes).
  void add_tensor(const std::string& name, GGMLType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes);
  void add_tensor(const std::string& name, GGMLType type, std::vector<int64_t> ne, const void* data);  // copies
  void add_tensor_lazy(const std::string& name, GGMLType type, std::vector<int64_t> ne, Fill fill);
  // Quantizes float32 values (numel of ne, row-major in ne order) to `type` right away.
  void add_tensor_from_f32(const std::string& name, GGMLType type, std::vector<int64_t> ne, const float* x);

  size_t n_tensors() const { return tensors_.size(); }
  size_t n_kv() const { return kv_.size(); }
  void write(const std::string& path) const;  // atomic (temp file + rename)

 private:
  struct Tensor {
    std::string name;
    GGMLType type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
    std::vector<uint8_t> bytes;
    Fill fill;
  };
  uint64_t check_tensor(const std::string& name, GGMLType type, const std::vector<int64_t>& ne) const;

  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = kDefaultAlignment;
};

}  // namespace as::gguf
