#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "common/file.h"
#include "test_util.h"

namespace {

using as::DType;
using as::test::TempDir;
namespace fs = std::filesystem;

std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a header string and data buffer (header taken verbatim).
std::string make_file(const std::string& header, const std::string& data) {
  return u64le(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  size_t i = 0;
  for (float f : v) std::memcpy(&s[4 * i++], &f, 4);
  return s;
}

std::vector<float> iota_f(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

std::string slurp(const std::string& path) { return as::read_file(path); }

// Expects as::Error whose message contains every fragment.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected as::Error";
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

// Opens a file built from header+data, expecting an error mentioning the fragments.
void expect_bad(const std::string& header, const std::string& data, std::initializer_list<std::string> fragments) {
  TempDir d;
  const std::string p = d / "bad.safetensors";
  write_raw(p, make_file(header, data));
  std::vector<std::string> all(fragments);
  all.push_back("bad.safetensors");
  try {
    as::SafetensorsFile f(p);
    ADD_FAILURE() << "expected as::Error for header " << header;
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    for (const auto& frag : all) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

// ---------------------------------------------------------------------------------------------
// Byte-exact reference examples

TEST(Safetensors, Reference64ByteHeader) {
  TempDir d;
  as::SafetensorsWriter w;
  auto v = iota_f(6);
  w.add("attn.0", DType::F32, {1, 2, 3}, v.data());
  w.write(d / "a.safetensors");
  const std::string json = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(json.size(), 64u);
  const std::string expect = make_file(json, floats({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(slurp(d / "a.safetensors"), expect);
  EXPECT_EQ(expect.substr(0, 8), std::string("\x40\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(expect.substr(72, 8), std::string("\0\0\0\0\0\0\x80\x3f", 8));

  as::SafetensorsFile f(d / "a.safetensors");
  const auto& t = f.get("attn.0");
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(t.numel(), 6);
  ASSERT_EQ(t.nbytes, 24u);
  EXPECT_EQ(std::memcmp(t.data, v.data(), 24), 0);
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, ReferencePaddedTo72) {
  TempDir d;
  as::SafetensorsWriter w;
  auto v = iota_f(6);
  w.add("attn0", DType::F32, {1, 1, 2, 3}, v.data());
  w.write(d / "a.safetensors");
  const std::string json = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(json.size(), 65u);
  EXPECT_EQ(slurp(d / "a.safetensors"), make_file(json + std::string(7, ' '), floats({0, 1, 2, 3, 4, 5})));
  as::SafetensorsFile f(d / "a.safetensors");
  EXPECT_EQ(f.get("attn0").shape, (std::vector<int64_t>{1, 1, 2, 3}));
}

TEST(Safetensors, ReferenceEmpty) {
  TempDir d;
  as::SafetensorsWriter w;
  w.write(d / "e.safetensors");
  EXPECT_EQ(slurp(d / "e.safetensors"), u64le(8) + "{}      ");
  as::SafetensorsFile f(d / "e.safetensors");
  EXPECT_TRUE(f.names().empty());

  as::SafetensorsWriter m;
  m.set_metadata("framework", "pt");
  m.write(d / "m.safetensors");
  EXPECT_EQ(slurp(d / "m.safetensors"), u64le(40) + R"({"__metadata__":{"framework":"pt"}})" + "     ");
  as::SafetensorsFile g(d / "m.safetensors");
  EXPECT_EQ(g.metadata().at("framework"), "pt");
}

TEST(Safetensors, ReadsForeignLayout) {
  // Non-compact JSON, keys in another order, metadata last, tensors listed out of offset order.
  TempDir d;
  const std::string h =
      R"({ "b" : {"data_offsets":[8,12], "shape":[1], "dtype":"F32"},
           "a" : {"shape":[2], "dtype":"F32", "data_offsets":[0,8]},
           "__metadata__": {"format":"pt"} })";
  write_raw(d / "x.safetensors", make_file(h, floats({1, 2, 3})));
  as::SafetensorsFile f(d / "x.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));
  float b;
  std::memcpy(&b, f.get("b").data, 4);
  EXPECT_EQ(b, 3.0f);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_TRUE(f.contains("a"));
  EXPECT_FALSE(f.contains("c"));
  expect_error([&] { f.get("c"); }, {"x.safetensors", "\"c\""});
  f.release("a");  // must not crash
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(Safetensors, RoundTripEveryDtype) {
  const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2,
                       DType::I8,  DType::U8,  DType::I16,  DType::U16,     DType::I32,
                       DType::U32, DType::I64, DType::U64,  DType::F64,     DType::BOOL};
  TempDir d;
  std::mt19937 rng(7);
  as::SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("note", "ünïcode \"quoted\"\n");
  std::map<std::string, std::vector<uint8_t>> want;
  for (DType t : all) {
    const std::string name = std::string("t.") + as::dtype_name(t);
    std::vector<uint8_t> bytes(3 * 5 * as::dtype_size(t));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    if (t == DType::BOOL)
      for (auto& b : bytes) b &= 1;
    want[name] = bytes;
    w.add(name, t, {3, 5}, bytes);
  }
  w.add("scalar", DType::F64, {}, std::vector<uint8_t>(8, 0x11));
  w.add("empty", DType::BF16, {0, 4}, std::vector<uint8_t>{});
  EXPECT_EQ(w.size(), 17u);
  EXPECT_EQ(w.payload_bytes(), 49u * 15u + 8u);
  w.write(d / "all.safetensors");

  as::SafetensorsFile f(d / "all.safetensors");
  EXPECT_EQ(f.metadata().at("note"), "ünïcode \"quoted\"\n");
  for (DType t : all) {
    const std::string name = std::string("t.") + as::dtype_name(t);
    const auto& v = f.get(name);
    EXPECT_EQ(v.dtype, t) << name;
    EXPECT_EQ(v.shape, (std::vector<int64_t>{3, 5}));
    ASSERT_EQ(v.nbytes, want[name].size());
    EXPECT_EQ(std::memcmp(v.data, want[name].data(), v.nbytes), 0) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % as::dtype_size(t), 0u) << name << " naturally aligned";
  }
  EXPECT_EQ(f.get("scalar").numel(), 1);
  EXPECT_EQ(f.get("scalar").shape.size(), 0u);
  EXPECT_EQ(f.get("empty").nbytes, 0u);
  EXPECT_EQ(f.get("empty").numel(), 0);

  // Ordering: descending dtype size, then name; offsets follow the header order.
  const std::string raw = slurp(d / "all.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw[8], '{');
  EXPECT_EQ(raw.substr(8, 16), "{\"__metadata__\":");
  std::vector<std::pair<uintptr_t, std::string>> by_off;
  for (const auto& name : f.names()) by_off.push_back({reinterpret_cast<uintptr_t>(f.get(name).data), name});
  std::sort(by_off.begin(), by_off.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;
  });
  for (size_t i = 1; i < by_off.size(); ++i) {
    const auto& a = f.get(by_off[i - 1].second);
    const auto& b = f.get(by_off[i].second);
    if (a.nbytes == 0 || b.nbytes == 0) continue;
    EXPECT_GE(as::dtype_size(a.dtype), as::dtype_size(b.dtype)) << a.name << " before " << b.name;
    if (as::dtype_size(a.dtype) == as::dtype_size(b.dtype)) {
      EXPECT_LT(a.name, b.name);
    }
  }
}

TEST(Safetensors, LazyFill) {
  TempDir d;
  as::SafetensorsWriter w;
  int calls = 0;
  const int64_t rows = 1024, cols = 1024;  // 4 MiB
  w.add_lazy("big", DType::F32, {rows, cols}, [&](uint8_t* dst, uint64_t nbytes) {
    ++calls;
    ASSERT_EQ(nbytes, uint64_t(rows * cols * 4));
    float* f = reinterpret_cast<float*>(dst);
    for (int64_t i = 0; i < rows * cols; ++i) f[i] = static_cast<float>(i % 977);
  });
  w.add_lazy("small", DType::U8, {3}, [&](uint8_t* dst, uint64_t n) {
    ++calls;
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(10 + i);
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(w.payload_bytes(), uint64_t(rows * cols * 4 + 3));
  w.write(d / "lazy.safetensors");
  EXPECT_EQ(calls, 2);
  as::SafetensorsFile f(d / "lazy.safetensors");
  const auto& t = f.get("big");
  float x;
  std::memcpy(&x, t.data + 4 * 1000, 4);
  EXPECT_EQ(x, 23.0f);
  std::memcpy(&x, t.data + 4 * (rows * cols - 1), 4);
  EXPECT_EQ(x, float((rows * cols - 1) % 977));
  EXPECT_EQ(f.get("small").data[2], 12);
  f.release("big");
}

TEST(Safetensors, FailedWriteLeavesNothing) {
  TempDir d;
  as::SafetensorsWriter bad;
  bad.add("ok", DType::F32, {2}, std::vector<uint8_t>(8, 0));
  bad.add_lazy("boom", DType::F32, {4}, [](uint8_t*, uint64_t) { throw std::runtime_error("fill failed"); });

  EXPECT_THROW(bad.write(d / "new.safetensors"), std::runtime_error);
  EXPECT_FALSE(fs::exists(d / "new.safetensors"));
  EXPECT_TRUE(fs::is_empty(d.path)) << "no temp files left";

  as::SafetensorsWriter good;
  good.add("x", DType::F32, {1}, floats({42}).data());
  good.write(d / "keep.safetensors");
  const std::string before = slurp(d / "keep.safetensors");
  EXPECT_THROW(bad.write(d / "keep.safetensors"), std::runtime_error);
  EXPECT_EQ(slurp(d / "keep.safetensors"), before);
  size_t files = 0;
  for (auto& e : fs::directory_iterator(d.path)) (void)e, ++files;
  EXPECT_EQ(files, 1u);

  // Sharded write that fails also leaves no index and no partial shard.
  TempDir s;
  EXPECT_THROW(as::write_sharded(s.str(), bad, 8), std::runtime_error);
  EXPECT_FALSE(fs::exists(s / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(s / "model-00002-of-00002.safetensors"));
}

TEST(Safetensors, WriterRejectsBadInput) {
  as::SafetensorsWriter w;
  expect_error([&] { w.add("a", DType::F32, {2, 2}, std::vector<uint8_t>(15)); }, {"\"a\"", "16", "15"});
  expect_error([&] { w.add("b", DType::F32, {-1}, std::vector<uint8_t>{}); }, {"\"b\"", "negative"});
  expect_error([&] { w.add("", DType::F32, {0}, std::vector<uint8_t>{}); }, {"empty"});
  expect_error([&] { w.add("__metadata__", DType::F32, {0}, std::vector<uint8_t>{}); }, {"reserved"});
  expect_error([&] { w.add_lazy("c", DType::F32, {int64_t(1) << 62, 16}, [](uint8_t*, uint64_t) {}); },
               {"\"c\"", "overflow"});
  w.add("d", DType::F32, {1}, std::vector<uint8_t>(4));
  expect_error([&] { w.add("d", DType::F32, {1}, std::vector<uint8_t>(4)); }, {"\"d\"", "twice"});
  expect_error([&] { w.add("bad\xff", DType::F32, {1}, std::vector<uint8_t>(4)); }, {"UTF-8"});
}

// ---------------------------------------------------------------------------------------------
// Sharding and Checkpoint

as::SafetensorsWriter five_tensors() {
  as::SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> b(1000, static_cast<uint8_t>(i + 1));
    w.add("layer." + std::to_string(i) + ".weight", DType::U8, {10, 100}, b);
  }
  return w;
}

TEST(Safetensors, ShardedRoundTrip) {
  TempDir d;
  const std::string dir = d / "out";
  as::write_sharded(dir, five_tensors(), 2500);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
  for (const char* n : {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                        "model-00003-of-00003.safetensors", "model.safetensors.index.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + n)) << n;
  const auto idx = nlohmann::json::parse(slurp(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(idx["metadata"]["total_size"].get<uint64_t>(), 5000u);
  EXPECT_EQ(idx["weight_map"].size(), 5u);
  EXPECT_EQ(idx["weight_map"]["layer.0.weight"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(idx["weight_map"]["layer.2.weight"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(idx["weight_map"]["layer.4.weight"], "model-00003-of-00003.safetensors");
  as::SafetensorsFile shard(dir + "/model-00002-of-00003.safetensors");
  EXPECT_EQ(shard.metadata().at("format"), "pt");

  as::Checkpoint c(dir);
  EXPECT_EQ(c.location(), dir);
  EXPECT_EQ(c.names().size(), 5u);
  EXPECT_EQ(c.total_bytes(), 5000u);
  for (int i = 0; i < 5; ++i) {
    const auto& t = c.get("layer." + std::to_string(i) + ".weight");
    EXPECT_EQ(t.nbytes, 1000u);
    EXPECT_EQ(t.data[999], i + 1);
  }
  c.release("layer.3.weight");
  expect_error([&] { c.get("nope"); }, {"\"nope\"", dir});

  // Rewriting as a single file replaces the index.
  as::write_sharded(dir, five_tensors(), 0);
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  as::Checkpoint c2(dir);
  EXPECT_EQ(c2.total_bytes(), 5000u);
  EXPECT_TRUE(c2.contains("layer.4.weight"));
}

TEST(Safetensors, ShardOversizedTensorAlone) {
  TempDir d;
  as::write_sharded(d.str(), five_tensors(), 500);  // every tensor exceeds the limit
  EXPECT_TRUE(fs::exists(d / "model-00005-of-00005.safetensors"));
  as::Checkpoint c(d.str());
  EXPECT_EQ(c.names().size(), 5u);
}

TEST(Safetensors, SingleFileCheckpoint) {
  TempDir d;
  as::write_sharded(d.str(), five_tensors(), 1u << 20);
  EXPECT_TRUE(fs::exists(d / "model.safetensors"));
  as::Checkpoint dir(d.str());
  as::Checkpoint file(d / "model.safetensors");
  EXPECT_EQ(dir.names(), file.names());
  EXPECT_EQ(file.total_bytes(), 5000u);
}

TEST(Safetensors, CheckpointErrors) {
  TempDir d;
  expect_error([&] { as::Checkpoint c(d / "missing"); }, {"missing"});
  expect_error([&] { as::Checkpoint c(d.str()); }, {d.str(), "model.safetensors"});

  const std::string dir = d / "m";
  as::write_sharded(dir, five_tensors(), 2500);
  const std::string idx = dir + "/model.safetensors.index.json";
  const std::string good_idx = slurp(idx);

  fs::rename(dir + "/model-00002-of-00003.safetensors", dir + "/moved");
  expect_error([&] { as::Checkpoint c(dir); }, {"model-00002-of-00003.safetensors", "missing"});
  fs::rename(dir + "/moved", dir + "/model-00002-of-00003.safetensors");

  auto j = nlohmann::json::parse(good_idx);
  j["weight_map"]["ghost.weight"] = "model-00001-of-00003.safetensors";
  as::write_file_atomic(idx, j.dump());
  expect_error([&] { as::Checkpoint c(dir); }, {"ghost.weight", "model-00001-of-00003.safetensors", "absent"});

  as::write_file_atomic(idx, "{\"weight_map\": [");
  expect_error([&] { as::Checkpoint c(dir); }, {"model.safetensors.index.json", "JSON"});
  as::write_file_atomic(idx, "{\"metadata\": {}}");
  expect_error([&] { as::Checkpoint c(dir); }, {"weight_map"});
  as::write_file_atomic(idx, R"({"weight_map": {"a": 3}})");
  expect_error([&] { as::Checkpoint c(dir); }, {"\"a\"", "not a string"});
  as::write_file_atomic(idx, R"({"weight_map": {"a": "../x.safetensors"}})");
  expect_error([&] { as::Checkpoint c(dir); }, {"\"a\"", "invalid shard"});
  as::write_file_atomic(idx, R"({"weight_map": {"a": "x", "a": "y"}})");
  expect_error([&] { as::Checkpoint c(dir); }, {"duplicate", "\"a\""});

  // Directory of loose *.safetensors files with a clash.
  TempDir loose;
  as::SafetensorsWriter w;
  w.add("t", DType::U8, {1}, std::vector<uint8_t>{1});
  w.write(loose / "a.safetensors");
  w.write(loose / "b.safetensors");
  expect_error([&] { as::Checkpoint c(loose.str()); }, {"\"t\"", "a.safetensors", "b.safetensors"});
  fs::remove(loose / "b.safetensors");
  as::Checkpoint ok(loose.str());
  EXPECT_TRUE(ok.contains("t"));
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: every defect is an as::Error naming file (and tensor), never a crash.

TEST(SafetensorsBad, ShortFile) {
  TempDir d;
  write_raw(d / "zero.safetensors", "");
  expect_error([&] { as::SafetensorsFile f(d / "zero.safetensors"); }, {"zero.safetensors", "8"});
  write_raw(d / "seven.safetensors", std::string(7, '\0'));
  expect_error([&] { as::SafetensorsFile f(d / "seven.safetensors"); }, {"seven.safetensors", "7 bytes"});
  expect_error([&] { as::SafetensorsFile f(d / "absent.safetensors"); }, {"absent.safetensors"});
  expect_error([&] { as::SafetensorsFile f(d.str()); }, {"directory"});
}

TEST(SafetensorsBad, HeaderLength) {
  TempDir d;
  write_raw(d / "h.safetensors", u64le(100) + "{}");
  expect_error([&] { as::SafetensorsFile f(d / "h.safetensors"); }, {"h.safetensors", "100", "file size"});
  write_raw(d / "huge.safetensors", u64le(200'000'000) + "{}");
  expect_error([&] { as::SafetensorsFile f(d / "huge.safetensors"); }, {"huge.safetensors", "100000000"});
  write_raw(d / "max.safetensors", u64le(~uint64_t(0)) + "{}");
  expect_error([&] { as::SafetensorsFile f(d / "max.safetensors"); }, {"max.safetensors"});
}

TEST(SafetensorsBad, HeaderJson) {
  expect_bad("{\"a\":", "", {"not valid JSON"});
  expect_bad("[1,2]   ", "", {"not a JSON object"});
  expect_bad("\"str\"", "", {"not a JSON object"});
  expect_bad(std::string("{}\0\0\0\0\0\0", 8), "", {"not valid JSON"});
  expect_bad("        ", "", {"not valid JSON"});
}

const std::string kT = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";

TEST(SafetensorsBad, TensorEntries) {
  const std::string d8(8, '\0');
  expect_bad(R"({"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", d8,
             {"\"w\"", "F31", "F32", "BF16", "F8_E4M3", "BOOL"});
  expect_bad(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", d8, {"\"w\"", "dtype"});
  expect_bad(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", d8, {"\"w\"", "missing key \"dtype\""});
  expect_bad(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", d8, {"\"w\"", "missing key \"shape\""});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2]}})", d8, {"\"w\"", "missing key \"data_offsets\""});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"offsets":[0,8]}})", d8,
             {"\"w\"", "unexpected key \"offsets\""});
  expect_bad(R"({"w":[1,2]})", d8, {"\"w\"", "not a JSON object"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8, {"\"w\"", "non-negative"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d8, {"\"w\"", "non-negative"});
  expect_bad(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", d8, {"\"w\"", "non-negative"});
  expect_bad(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d8, {"\"w\"", "shape"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", d8,
             {"\"w\"", "non-negative"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8, {"\"w\"", "data_offsets"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", d8, {"\"w\"", "data_offsets"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", d8, {"\"w\"", "data_offsets"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8, {"\"w\"", "end before begin"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", d8, {"\"w\"", "out of range"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8, {"\"w\"", "12", "8"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", d8,
             {"\"w\"", "overflow"});
  expect_bad(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}})", d8,
             {"\"w\"", "overflow"});
  expect_bad(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8,
             {"\"w\"", "duplicate key \"dtype\""});
}

TEST(SafetensorsBad, Layout) {
  const std::string d16(16, '\0');
  // gap at start
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", d16, {"\"w\"", "gap"});
  // gap between
  expect_bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
             d16, {"\"b\"", "gap", "\"a\""});
  // overlap
  expect_bad(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
             d16, {"\"b\"", "overlap", "\"a\""});
  // same span twice
  expect_bad(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
             d16, {"overlap"});
  // trailing bytes
  expect_bad("{\"w\":{" + kT + "}}", d16, {"8 trailing bytes"});
  expect_bad("{}", "x", {"1 trailing bytes"});
  // duplicate tensor names
  expect_bad("{\"w\":{" + kT + "},\"w\":{" + kT + "}}", std::string(8, '\0'), {"duplicate name \"w\""});
  // truncated data
  expect_bad("{\"w\":{" + kT + "}}", std::string(5, '\0'), {"\"w\"", "out of range"});
}

TEST(SafetensorsBad, Metadata) {
  expect_bad(R"({"__metadata__":{"format":"pt","n":3}})", "", {"__metadata__", "\"n\"", "not a string"});
  expect_bad(R"({"__metadata__":{"x":{"a":"b"}}})", "", {"__metadata__", "\"x\"", "not a string"});
  expect_bad(R"({"__metadata__":["pt"]})", "", {"__metadata__", "not a JSON object"});
  expect_bad(R"({"__metadata__":{"a":"1","a":"2"}})", "", {"duplicate key \"a\""});
}

// Truncating or corrupting a valid file anywhere must give as::Error or a valid file, never a crash.
TEST(SafetensorsBad, FuzzTruncateAndFlip) {
  TempDir d;
  as::SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("a", DType::F32, {2, 3}, std::vector<uint8_t>(24, 1));
  w.add("b", DType::BF16, {5}, std::vector<uint8_t>(10, 2));
  w.add("c", DType::I64, {1}, std::vector<uint8_t>(8, 3));
  w.write(d / "ok.safetensors");
  const std::string good = slurp(d / "ok.safetensors");
  const std::string p = d / "f.safetensors";
  for (size_t len = 0; len < good.size(); ++len) {
    write_raw(p, good.substr(0, len));
    EXPECT_THROW(as::SafetensorsFile f(p), as::Error) << "len " << len;
  }
  write_raw(p, good);
  std::mt19937 rng(123);
  int accepted = 0;
  for (int it = 0; it < 2000; ++it) {
    std::string bad = good;
    const size_t pos = rng() % std::min<size_t>(bad.size(), 8 + 120);
    bad[pos] = static_cast<char>(rng());
    {
      // Same length: overwrite in place (no truncation, which makes some file systems flush).
      std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
      f.write(bad.data(), static_cast<std::streamsize>(bad.size()));
    }
    try {
      as::SafetensorsFile f(p);
      ++accepted;
      for (const auto& n : f.names()) (void)f.get(n).nbytes;
    } catch (const as::Error&) {
    }
  }
  EXPECT_LT(accepted, 2000);
}

}  // namespace
