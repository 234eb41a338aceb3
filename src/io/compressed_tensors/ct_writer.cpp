#include "io/compressed_tensors/ct_writer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "common/error.h"
#include "common/file.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_pack.h"
#include "io/compressed_tensors/ct_text.h"
#include "kernels/half.h"

namespace as::ct {

using detail::qt;
using detail::shape_str;

static_assert(std::endian::native == std::endian::little, "safetensors payloads are little-endian");

using nlohmann::json;
namespace fs = std::filesystem;

namespace {


std::string infer_format(const ConfigGroup& g) {
  const QuantArgs& w = *g.weights;
  if (w.type == QuantType::Float) return kFormatFloatQuantized;
  if (!g.input_activations) return kFormatPackQuantized;
  return kFormatIntQuantized;
}

int64_t product(const std::vector<int64_t>& s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

// A linear with its scheme normalized (targets cleared, format set).
struct Prepared {
  const QuantizedLinear* lin;
  ConfigGroup scheme;
  std::string format;
  int group = -1;
};

struct Plan {
  QuantizationConfig config;
  std::vector<Prepared> linears;
};

bool has_input_scale(const ConfigGroup& s) { return s.input_activations && !s.input_activations->is_dynamic(); }
bool has_input_zero_point(const ConfigGroup& s) { return has_input_scale(s) && !s.input_activations->symmetric; }

std::string who_of(const QuantizedLinear& l) { return "compressed-tensors export: linear " + qt(l.name); }

// Checks everything that does not need the linear's data (name, scheme, features) and normalizes
// the scheme into `p`.
void check_meta(const QuantizedLinear& l, Prepared& p) {
  const std::string who = who_of(l);
  check(!l.name.empty(), "compressed-tensors export: linear with an empty module name");
  check(l.scheme.weights.has_value(), who + ": scheme has no weights QuantizationArgs");
  check(!l.scheme.output_activations.has_value(), who + ": output activation quantization is not supported");
  p.scheme = l.scheme;
  p.scheme.targets.clear();
  if (!p.scheme.format) p.scheme.format = infer_format(p.scheme);
  p.format = *p.scheme.format;
  {
    // Round-trip through CT's validation rules.
    json j = p.scheme.to_json();
    j["targets"] = json::array({l.name});
    std::vector<Violation> v;
    if (!ConfigGroup::parse(j, "scheme", v)) throw Error(who + ": " + v.front().tensor_or_key + ": " + v.front().message);
  }
  check(is_supported_format(p.format), who + ": format " + qt(p.format) + " is not supported");
  const QuantArgs& w = *p.scheme.weights;
  check(!w.is_dynamic(), who + ": weights cannot be dynamic");
  check(w.strategy == Strategy::Tensor || w.strategy == Strategy::Channel || w.strategy == Strategy::Group ||
            w.strategy == Strategy::Block,
        who + ": weight strategy " + qt(to_string(w.strategy)) + " is not supported");
  if (p.format == kFormatPackQuantized)
    check(w.type == QuantType::Int && w.num_bits >= 1 && w.num_bits <= 8, who + ": pack-quantized needs int weights of 1..8 bits");
  if (p.format == kFormatIntQuantized) check(w.type == QuantType::Int, who + ": int-quantized needs int weights");
  if (p.format == kFormatFloatQuantized) check(w.type == QuantType::Float, who + ": float-quantized needs float weights");
  if (w.type == QuantType::Int) check(w.num_bits <= 8, who + ": int weights wider than 8 bits are not supported");
  if (w.type == QuantType::Float)
    check(w.num_bits == 8 && w.symmetric, who + ": float weights must be symmetric FP8 (num_bits 8)");
  if (!w.symmetric) check(w.type == QuantType::Int, who + ": asymmetric weights must be int");
  check(l.out_features > 0 && l.in_features > 0, who + ": out_features / in_features must be positive");
  if (has_input_scale(p.scheme)) {
    const QuantArgs& in = *p.scheme.input_activations;
    check(in.strategy == Strategy::Tensor, who + ": static input quantization must be per-tensor");
    if (!in.symmetric) check(in.type == QuantType::Int, who + ": asymmetric input quantization must be int");
  }
  if (l.materialize)
    check(l.codes.empty() && l.fp8.empty() && l.weight_scale.empty() && l.weight_zero_point.empty() && l.g_idx.empty(),
          who + ": has a materialize callback but already holds data (codes / fp8 / weight_scale / "
                "weight_zero_point / g_idx must be empty up front)");
}

// Checks the linear's data against its (already checked) metadata.
void check_data(const QuantizedLinear& l, const Prepared& p, const WriterOptions& opt) {
  const std::string who = who_of(l);
  const QuantArgs& w = *p.scheme.weights;
  const int64_t n = l.out_features, k = l.in_features;
  const uint64_t nk = static_cast<uint64_t>(n) * static_cast<uint64_t>(k);
  if (w.type == QuantType::Int) {
    check(l.fp8.empty(), who + ": int weights are given as `codes`, not `fp8`");
    check(l.codes.size() == nk, who + ": codes hold " + std::to_string(l.codes.size()) + " values, expected N*K = " +
                                    std::to_string(nk));
    const int lo = w.qmin(), hi = w.qmax();
    for (uint64_t i = 0; i < nk; ++i)
      if (l.codes[i] < lo || l.codes[i] > hi)
        throw Error(who + ": code " + std::to_string(int(l.codes[i])) + " at [" + std::to_string(i / k) + ", " +
                    std::to_string(i % k) + "] outside the " + std::to_string(w.num_bits) + "-bit range [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
  } else {
    check(l.codes.empty(), who + ": float weights are given as `fp8` bytes, not `codes`");
    check(l.fp8.size() == nk, who + ": fp8 holds " + std::to_string(l.fp8.size()) + " bytes, expected N*K = " +
                                  std::to_string(nk));
    for (uint64_t i = 0; i < nk; ++i)
      if ((l.fp8[i] & 0x7F) == 0x7F)
        throw Error(who + ": FP8 byte at [" + std::to_string(i / k) + ", " + std::to_string(i % k) + "] is NaN");
  }
  const std::vector<int64_t> ss = weight_scale_shape(w, n, k);
  const uint64_t ns = static_cast<uint64_t>(product(ss));
  check(l.weight_scale.size() == ns, who + ": weight_scale holds " + std::to_string(l.weight_scale.size()) +
                                         " values, expected " + std::to_string(ns) + " for strategy " +
                                         to_string(w.strategy));
  for (uint64_t i = 0; i < ns; ++i) {
    const float s = round_scale(l.weight_scale[i], opt.scale_dtype);
    if (!(std::isfinite(s) && s > 0.0f))
      throw Error(who + ": weight_scale[" + std::to_string(i) + "] = " + std::to_string(l.weight_scale[i]) +
                  " is not finite and > 0 once stored as " + dtype_name(opt.scale_dtype));
  }
  if (w.symmetric) {
    check(l.weight_zero_point.empty(), who + ": symmetric weights must not carry zero points");
  } else {
    check(l.weight_zero_point.size() == ns, who + ": weight_zero_point holds " +
                                                std::to_string(l.weight_zero_point.size()) + " values, expected " +
                                                std::to_string(ns));
    for (uint64_t i = 0; i < ns; ++i)
      check(l.weight_zero_point[i] >= w.qmin() && l.weight_zero_point[i] <= w.qmax(),
            who + ": zero point " + std::to_string(int(l.weight_zero_point[i])) + " outside the " +
                std::to_string(w.num_bits) + "-bit range");
  }
  if (w.actorder == ActOrder::Group) {
    const int64_t groups = num_groups(w, k);
    check(l.g_idx.size() == static_cast<uint64_t>(k), who + ": g_idx must hold K = " + std::to_string(k) + " entries");
    for (int64_t i = 0; i < k; ++i)
      check(l.g_idx[i] >= 0 && l.g_idx[i] < groups, who + ": g_idx[" + std::to_string(i) + "] = " +
                                                        std::to_string(l.g_idx[i]) + " outside [0, " +
                                                        std::to_string(groups) + ")");
  } else {
    check(l.g_idx.empty(), who + ": g_idx given but the scheme has no actorder \"group\"");
  }
  if (has_input_scale(p.scheme)) {
    const QuantArgs& in = *p.scheme.input_activations;
    check(l.input_scale.has_value(), who + ": static input quantization needs input_scale");
    const float s = round_scale(*l.input_scale, opt.scale_dtype);
    check(std::isfinite(s) && s > 0.0f, who + ": input_scale is not finite and > 0");
    if (!in.symmetric) {
      check(l.input_zero_point.has_value(), who + ": asymmetric static input needs input_zero_point");
      check(*l.input_zero_point >= in.qmin() && *l.input_zero_point <= in.qmax(),
            who + ": input_zero_point outside the input range");
    } else {
      check(!l.input_zero_point.has_value(), who + ": symmetric input must not carry input_zero_point");
    }
  } else {
    check(!l.input_scale.has_value(), who + ": input_scale given but input activations are not statically quantized");
    check(!l.input_zero_point.has_value(), who + ": input_zero_point given but input activations are not static");
  }
}

Plan prepare(const ExportModel& model, const WriterOptions& opt) {
  check(opt.scale_dtype == DType::BF16 || opt.scale_dtype == DType::F16 || opt.scale_dtype == DType::F32,
        std::string("compressed-tensors export: scale dtype must be BF16, F16 or F32, got ") +
            dtype_name(opt.scale_dtype));
  check(!model.linears.empty(), "compressed-tensors export: no quantized linears");
  Plan plan;
  std::set<std::string> linear_names;
  plan.linears.reserve(model.linears.size());
  for (const QuantizedLinear& l : model.linears) {
    Prepared p{&l, {}, {}, -1};
    check_meta(l, p);
    if (!l.materialize) check_data(l, p, opt);
    check(linear_names.insert(l.name).second, "compressed-tensors export: linear " + qt(l.name) + " given twice");
    plan.linears.push_back(std::move(p));
  }

  // Plain tensors must not collide with the quantized modules' tensors.
  std::set<std::string> plain_names;
  for (const PlainTensor& t : model.tensors) {
    check(plain_names.insert(t.name).second, "compressed-tensors export: tensor " + qt(t.name) + " given twice");
    const size_t dot = t.name.rfind('.');
    if (dot == std::string::npos) continue;
    const std::string module = t.name.substr(0, dot), param = t.name.substr(dot + 1);
    if (linear_names.count(module) && (param == "weight" || is_quant_param(param)))
      throw Error("compressed-tensors export: tensor " + qt(t.name) + " belongs to quantized linear " + qt(module) +
                  " (its weight is written from the quantized data)");
  }

  // Distinct schemes -> config groups.
  std::vector<ConfigGroup> schemes;
  for (Prepared& p : plan.linears) {
    int gi = -1;
    for (size_t i = 0; i < schemes.size(); ++i)
      if (schemes[i].same_scheme(p.scheme)) {
        gi = static_cast<int>(i);
        break;
      }
    if (gi < 0) {
      schemes.push_back(p.scheme);
      gi = static_cast<int>(schemes.size() - 1);
    }
    p.group = gi;
  }
  const bool class_target = opt.targets == TargetStyle::Auto && schemes.size() == 1;
  QuantizationConfig& qc = plan.config;
  qc.version = opt.ct_version;
  std::set<std::string> formats;
  for (size_t i = 0; i < schemes.size(); ++i) {
    ConfigGroup g = schemes[i];
    if (class_target) {
      g.targets = {"Linear"};
    } else {
      for (const Prepared& p : plan.linears)
        if (p.group == static_cast<int>(i)) g.targets.push_back(p.lin->name);
    }
    formats.insert(*g.format);
    qc.config_groups.emplace_back("group_" + std::to_string(i), std::move(g));
  }
  qc.format = formats.size() == 1 ? *formats.begin() : std::string(kFormatMixedPrecision);

  // Ignore list: user entries, then unquantized Linear-like weights.
  for (const std::string& s : model.ignore)
    if (std::find(qc.ignore.begin(), qc.ignore.end(), s) == qc.ignore.end()) qc.ignore.push_back(s);
  {
    TargetMatcher m(qc);
    if (!m.regex_errors().empty())
      throw Error("compressed-tensors export: " + m.regex_errors().front().tensor_or_key + ": " +
                  m.regex_errors().front().message);
    for (const Prepared& p : plan.linears)
      if (m.is_ignored(p.lin->name, true))
        throw Error("compressed-tensors export: linear " + qt(p.lin->name) + " is quantized but matched by the ignore list");
  }
  if (opt.auto_ignore) {
    std::vector<std::string> extra;
    {
      TargetMatcher m(qc);
      for (const PlainTensor& t : model.tensors) {
        const size_t dot = t.name.rfind('.');
        if (dot == std::string::npos || t.name.compare(dot + 1, std::string::npos, "weight") != 0) continue;
        const std::string module = t.name.substr(0, dot);
        if (!dtype_is_float(t.dtype) || !is_linear_weight_candidate(module, t.shape)) continue;
        if (m.is_ignored(module, true)) continue;
        extra.push_back(module);
      }
    }
    std::sort(extra.begin(), extra.end(), natural_less);
    for (auto& e : extra) qc.ignore.push_back(std::move(e));
  }
  return plan;
}

void put_scale(uint8_t* dst, size_t i, float s, DType dt) {
  if (dt == DType::F32) {
    std::memcpy(dst + 4 * i, &s, 4);
  } else {
    const uint16_t h = dt == DType::BF16 ? kernels::f32_to_bf16(s) : kernels::f32_to_f16(s);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

// The data-dependent tensors of one quantized linear (everything but the constant weight_shape).
enum class Part : uint8_t { Weight, Scale, ZeroPoint, GIdx, InputScale, InputZeroPoint };

struct PartSpec {
  Part part;
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t nbytes;
};

// Tensor list from the metadata alone, in the order the eager writer has always added them.
std::vector<PartSpec> data_parts(const Prepared& p, const WriterOptions& opt) {
  const QuantizedLinear& l = *p.lin;
  const QuantArgs& w = *p.scheme.weights;
  const int64_t n = l.out_features, k = l.in_features;
  const std::string& m = l.name;
  std::vector<PartSpec> v;
  auto add = [&v](Part part, std::string name, DType dt, std::vector<int64_t> shape) {
    const uint64_t nb = dtype_size(dt) * static_cast<uint64_t>(product(shape));
    v.push_back(PartSpec{part, std::move(name), dt, std::move(shape), nb});
  };
  if (p.format == kFormatPackQuantized)
    add(Part::Weight, m + ".weight_packed", DType::I32, {n, packed_length(k, w.num_bits)});
  else
    add(Part::Weight, m + ".weight", w.type == QuantType::Int ? DType::I8 : DType::F8_E4M3, {n, k});
  const std::vector<int64_t> ss = weight_scale_shape(w, n, k);
  add(Part::Scale, m + ".weight_scale", opt.scale_dtype, ss);
  if (!w.symmetric) {
    if (zero_point_is_packed(w, p.format))
      add(Part::ZeroPoint, m + ".weight_zero_point", DType::I32, {packed_length(n, w.num_bits), ss[1]});
    else
      add(Part::ZeroPoint, m + ".weight_zero_point", DType::I8, ss);
  }
  if (w.actorder == ActOrder::Group) add(Part::GIdx, m + ".weight_g_idx", DType::I32, {k});
  if (has_input_scale(p.scheme)) add(Part::InputScale, m + ".input_scale", opt.scale_dtype, {1});
  if (has_input_zero_point(p.scheme)) add(Part::InputZeroPoint, m + ".input_zero_point", DType::I8, {1});
  return v;
}

// Writes one part's bytes (ps.nbytes) from a linear whose data passed check_data.
void serialize(const PartSpec& ps, const QuantizedLinear& l, const Prepared& p, const WriterOptions& opt, uint8_t* dst) {
  const QuantArgs& w = *p.scheme.weights;
  const int64_t n = l.out_features, k = l.in_features;
  const int bits = w.num_bits;
  switch (ps.part) {
    case Part::Weight:
      if (p.format == kFormatPackQuantized) {
        const int64_t pc = ps.shape[1];
        std::vector<int32_t> row(static_cast<size_t>(pc));
        for (int64_t r = 0; r < n; ++r) {
          pack_int32_dim1(l.codes.data() + r * k, 1, k, bits, row.data());
          std::memcpy(dst + 4 * r * pc, row.data(), 4 * pc);
        }
      } else if (w.type == QuantType::Int) {
        std::memcpy(dst, l.codes.data(), ps.nbytes);
      } else {
        std::memcpy(dst, l.fp8.data(), ps.nbytes);
      }
      break;
    case Part::Scale:
      for (size_t i = 0; i < l.weight_scale.size(); ++i) put_scale(dst, i, l.weight_scale[i], opt.scale_dtype);
      break;
    case Part::ZeroPoint:
      if (ps.dtype == DType::I32) {
        std::vector<int32_t> buf(static_cast<size_t>(ps.nbytes / 4));
        pack_int32_dim0(l.weight_zero_point.data(), n, ps.shape[1], bits, buf.data());
        std::memcpy(dst, buf.data(), ps.nbytes);
      } else {
        std::memcpy(dst, l.weight_zero_point.data(), ps.nbytes);
      }
      break;
    case Part::GIdx: std::memcpy(dst, l.g_idx.data(), ps.nbytes); break;
    case Part::InputScale: put_scale(dst, 0, *l.input_scale, opt.scale_dtype); break;
    case Part::InputZeroPoint: std::memcpy(dst, &*l.input_zero_point, 1); break;
  }
}

template <class T>
void free_vector(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

void release_data(QuantizedLinear& l) {
  free_vector(l.codes);
  free_vector(l.fp8);
  free_vector(l.weight_scale);
  free_vector(l.weight_zero_point);
  free_vector(l.g_idx);
}

// Produces the quantized tensors' bytes while the weight files are written. Eager linears are read
// directly; streaming linears are materialized one at a time (see QuantizedLinear in the header).
class LinearSource {
 public:
  LinearSource(const Plan& plan, const WriterOptions& opt, std::string spool_path)
      : opt_(opt), lins_(plan.linears.size()), spool_path_(std::move(spool_path)) {
    for (size_t i = 0; i < plan.linears.size(); ++i) {
      Lin& s = lins_[i];
      s.p = &plan.linears[i];
      s.parts = data_parts(*s.p, opt);
      s.written.assign(s.parts.size(), 0);
      s.remaining = s.parts.size();
      const QuantizedLinear& src = *s.p->lin;
      if (!src.materialize) continue;
      s.work.name = src.name;
      s.work.scheme = src.scheme;
      s.work.out_features = src.out_features;
      s.work.in_features = src.in_features;
      s.work.input_scale = src.input_scale;
      s.work.input_zero_point = src.input_zero_point;
    }
  }
  LinearSource(const LinearSource&) = delete;
  LinearSource& operator=(const LinearSource&) = delete;

  const std::vector<PartSpec>& parts(size_t li) const { return lins_[li].parts; }

  void fill(size_t li, size_t pi, uint8_t* dst, uint64_t nb) {
    Lin& s = lins_[li];
    const PartSpec& ps = s.parts[pi];
    check(nb == ps.nbytes, "compressed-tensors export: tensor " + qt(ps.name) + ": internal size mismatch");
    const QuantizedLinear& src = *s.p->lin;
    if (!src.materialize) {
      serialize(ps, src, *s.p, opt_, dst);
      return;
    }
    check(!s.written[pi], "compressed-tensors export: tensor " + qt(ps.name) + " produced twice");
    switch (s.phase) {
      case Phase::Pending:
        if (live_ != kNone) park(lins_[live_]);
        materialize(li);
        [[fallthrough]];
      case Phase::Live: serialize(ps, s.work, *s.p, opt_, dst); break;
      case Phase::Parked: {
        Held& h = s.held[pi];
        if (h.in_spool) {
          read_spool(h.offset, dst, nb);
        } else {
          std::memcpy(dst, h.bytes.data(), nb);
          free_vector(h.bytes);
        }
        break;
      }
      case Phase::Done: throw Error("compressed-tensors export: tensor " + qt(ps.name) + " produced after its linear");
    }
    s.written[pi] = 1;
    if (--s.remaining == 0) {
      release_data(s.work);
      s.held.clear();
      s.held.shrink_to_fit();
      if (live_ == li) live_ = kNone;
      s.phase = Phase::Done;
    }
  }

  // After all weight files were written: every streaming linear was materialized once and drained.
  void finish() {
    for (const Lin& s : lins_)
      if (s.p->lin->materialize)
        check(s.phase == Phase::Done && s.materialized == 1,
              who_of(*s.p->lin) + ": internal error: not all tensors were produced");
    close_spool();
  }

  void close_spool() {
    if (spool_.is_open()) spool_.close();
    std::error_code ec;
    if (spool_used_) fs::remove(spool_path_, ec);
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  enum class Phase : uint8_t { Pending, Live, Parked, Done };
  struct Held {
    std::vector<uint8_t> bytes;
    uint64_t offset = 0;
    bool in_spool = false;
  };
  struct Lin {
    const Prepared* p = nullptr;
    std::vector<PartSpec> parts;
    std::vector<uint8_t> written;
    size_t remaining = 0;
    Phase phase = Phase::Pending;
    int materialized = 0;
    QuantizedLinear work;    // streaming: metadata copy, then the materialized data
    std::vector<Held> held;  // parked: the unwritten parts' bytes, by part index
  };

  void materialize(size_t li) {
    Lin& s = lins_[li];
    const QuantizedLinear& src = *s.p->lin;
    const std::string who = who_of(src);
    ++s.materialized;
    try {
      src.materialize(s.work);
    } catch (const std::exception& e) {
      release_data(s.work);
      throw Error(who + ": materialize failed: " + e.what());
    }
    check(s.work.name == src.name && s.work.out_features == src.out_features &&
              s.work.in_features == src.in_features && s.work.scheme.to_json() == src.scheme.to_json(),
          who + ": materialize changed the metadata (name / scheme / out_features / in_features)");
    check_data(s.work, *s.p, opt_);
    s.phase = Phase::Live;
    live_ = li;
  }

  // Serializes the live linear's unwritten parts (large ones to the spool) and frees its data.
  void park(Lin& s) {
    s.held.resize(s.parts.size());
    const QuantizedLinear& l = s.work;
    for (size_t pi = 0; pi < s.parts.size(); ++pi) {
      if (s.written[pi]) continue;
      const PartSpec& ps = s.parts[pi];
      Held& h = s.held[pi];
      if (ps.nbytes >= opt_.spool_min_bytes) {
        h.in_spool = true;
        h.offset = spool_size_;
        if (ps.part == Part::Weight && s.p->format != kFormatPackQuantized) {
          // the stored bytes are the vector itself: no staging copy
          write_spool(l.codes.empty() ? static_cast<const void*>(l.fp8.data()) : l.codes.data(), ps.nbytes);
        } else {
          std::vector<uint8_t> buf(ps.nbytes);
          serialize(ps, l, *s.p, opt_, buf.data());
          write_spool(buf.data(), ps.nbytes);
        }
      } else {
        h.bytes.resize(ps.nbytes);
        serialize(ps, l, *s.p, opt_, h.bytes.data());
      }
    }
    release_data(s.work);
    s.phase = Phase::Parked;
    live_ = kNone;
  }

  void write_spool(const void* data, uint64_t n) {
    if (!spool_.is_open()) {
      spool_used_ = true;
      spool_.open(spool_path_, std::ios::in | std::ios::out | std::ios::binary | std::ios::trunc);
      check(spool_.is_open(), spool_path_ + ": cannot create the export spool file");
    }
    spool_.seekp(static_cast<std::streamoff>(spool_size_));
    spool_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    check(spool_.good(), spool_path_ + ": write to the export spool file failed");
    spool_size_ += n;
  }

  void read_spool(uint64_t offset, uint8_t* dst, uint64_t n) {
    spool_.seekg(static_cast<std::streamoff>(offset));
    spool_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    check(spool_.good() && static_cast<uint64_t>(spool_.gcount()) == n,
          spool_path_ + ": read from the export spool file failed");
  }

  const WriterOptions& opt_;
  std::vector<Lin> lins_;  // never resized: materialize sees stable QuantizedLinear addresses
  size_t live_ = kNone;
  std::string spool_path_;
  std::fstream spool_;
  bool spool_used_ = false;
  uint64_t spool_size_ = 0;
};

// A hidden folder inside the output directory that receives the weight files (and the spool);
// removed with its contents when it goes out of scope.
class StagingDir {
 public:
  explicit StagingDir(const std::string& dir) {
    std::random_device rd;
    for (int attempt = 0;; ++attempt) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ".ct-export-%08x%08x", rd(), rd());
      path_ = (fs::path(dir) / buf).string();
      std::error_code ec;
      if (fs::create_directory(path_, ec)) return;
      check(attempt < 16, path_ + ": cannot create the staging folder" + (ec ? ": " + ec.message() : ""));
    }
  }
  ~StagingDir() { remove(); }
  void remove() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool is_weight_file_name(const std::string& f) {
  static const std::regex shard(R"(model-\d{5}-of-\d{5}\.safetensors)");
  return f == "model.safetensors" || std::regex_match(f, shard);
}

}  // namespace

float round_scale(float s, DType dtype) {
  if (dtype == DType::BF16) return kernels::bf16_to_f32(kernels::f32_to_bf16(s));
  if (dtype == DType::F16) return kernels::f16_to_f32(kernels::f32_to_f16(s));
  return s;
}

QuantizationConfig build_quantization_config(const ExportModel& model, const WriterOptions& opt) {
  return prepare(model, opt).config;
}

WriteResult write_compressed_tensors(const std::string& dir, const ExportModel& model, const WriterOptions& opt) {
  check(model.config.is_object(), "compressed-tensors export: model config must be a JSON object");
  Plan plan = prepare(model, opt);

  // Extra files: check up front so a bad list writes nothing.
  std::vector<std::pair<std::string, std::string>> copies;  // source, file name
  for (const std::string& src : model.extra_files) {
    const std::string name = fs::path(src).filename().string();
    check(file_exists(src) && !is_directory(src), "compressed-tensors export: extra file " + qt(src) + " not found");
    check(name != "config.json" && name != "model.safetensors.index.json" && !is_weight_file_name(name) &&
              fs::path(name).extension() != ".safetensors",
          "compressed-tensors export: extra file " + qt(src) + " would overwrite a generated file");
    for (const auto& c : copies)
      check(c.second != name, "compressed-tensors export: two extra files are named " + qt(name));
    copies.emplace_back(src, name);
  }

  std::error_code ec;
  fs::create_directories(dir, ec);
  check(is_directory(dir), dir + ": cannot create output directory" + (ec ? ": " + ec.message() : ""));
  StagingDir staging(dir);
  {
    LinearSource source(plan, opt, (fs::path(staging.path()) / "spool.bin").string());
    // Tensors, laid out in natural (model) order so shards hold whole layers.
    std::vector<std::pair<std::string, std::function<void(SafetensorsWriter&)>>> items;
    for (const PlainTensor& t : model.tensors) {
      items.emplace_back(t.name, [&t](SafetensorsWriter& sw) {
        if (t.fill) {
          check(t.bytes.empty(), "compressed-tensors export: tensor " + qt(t.name) + " has both bytes and a fill callback");
          sw.add_lazy(t.name, t.dtype, t.shape, t.fill);
        } else {
          uint64_t nb = dtype_size(t.dtype);
          for (int64_t d : t.shape) nb *= static_cast<uint64_t>(std::max<int64_t>(d, 0));
          check(t.bytes.size() == nb, "compressed-tensors export: tensor " + qt(t.name) + " has " +
                                          std::to_string(t.bytes.size()) + " bytes, its shape needs " + std::to_string(nb));
          sw.add_lazy(t.name, t.dtype, t.shape, [&t](uint8_t* dst, uint64_t n) { std::memcpy(dst, t.bytes.data(), n); });
        }
      });
    }
    for (size_t li = 0; li < plan.linears.size(); ++li) {
      const Prepared& p = plan.linears[li];
      const std::vector<PartSpec>& parts = source.parts(li);
      for (size_t pi = 0; pi < parts.size(); ++pi) {
        const PartSpec& ps = parts[pi];
        items.emplace_back(ps.name, [&source, &ps, li, pi](SafetensorsWriter& sw) {
          sw.add_lazy(ps.name, ps.dtype, ps.shape,
                      [&source, li, pi](uint8_t* dst, uint64_t nb) { source.fill(li, pi, dst, nb); });
        });
        if (pi == 0 && p.format == kFormatPackQuantized) {
          const int64_t n = p.lin->out_features, k = p.lin->in_features;
          const std::string name = p.lin->name + ".weight_shape";
          items.emplace_back(name, [name, n, k](SafetensorsWriter& sw) {
            const int64_t v[2] = {n, k};
            sw.add(name, DType::I64, {2}, v);
          });
        }
      }
    }
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
    SafetensorsWriter sw;
    for (auto& [name, add] : items) add(sw);
    write_sharded(staging.path(), sw, opt.max_shard_bytes);
    source.finish();
  }

  // Every weight file exists: move them into place (index last), then drop a stale index.
  {
    std::vector<std::string> staged;
    bool staged_index = false;
    for (const auto& e : fs::directory_iterator(staging.path(), ec)) {
      const std::string f = e.path().filename().string();
      if (f == "model.safetensors.index.json") staged_index = true;
      else if (e.is_regular_file() && is_weight_file_name(f)) staged.push_back(f);
    }
    check(!ec, staging.path() + ": cannot list the staging folder: " + ec.message());
    std::sort(staged.begin(), staged.end());
    if (staged_index) staged.push_back("model.safetensors.index.json");
    for (const std::string& f : staged) {
      fs::rename(fs::path(staging.path()) / f, fs::path(dir) / f, ec);
      check(!ec, (fs::path(dir) / f).string() + ": cannot move the written file into place: " + ec.message());
    }
    if (!staged_index) fs::remove(fs::path(dir) / "model.safetensors.index.json", ec);
    staging.remove();
  }

  // Which weight files now make up the checkpoint; remove stale ones from earlier exports.
  WriteResult res;
  std::set<std::string> weight_files;
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  if (file_exists(index_path)) {
    const json idx = json::parse(read_file(index_path));
    for (const auto& [tensor, file] : idx["weight_map"].items()) weight_files.insert(file.get<std::string>());
    res.files.push_back("model.safetensors.index.json");
  } else {
    weight_files.insert("model.safetensors");
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (e.is_regular_file() && is_weight_file_name(f) && !weight_files.count(f)) fs::remove(e.path(), ec);
  }
  res.files.insert(res.files.end(), weight_files.begin(), weight_files.end());

  for (const auto& [src, name] : copies) {
    write_file_atomic((fs::path(dir) / name).string(), read_file(src));
    res.files.push_back(name);
  }

  json cfg = model.config;
  cfg["quantization_config"] = plan.config.to_json();
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
  res.files.push_back("config.json");
  res.config = plan.config;

  if (opt.validate) {
    res.report = validate_compressed_tensors(dir, opt.validate_options);
    if (!res.report.ok)
      throw Error("compressed-tensors export: " + dir + " failed validation (" +
                  std::to_string(res.report.violations.size()) + " violations): " + res.report.summary(5));
  }
  return res;
}

}  // namespace as::ct
