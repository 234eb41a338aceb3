// GGUF container: byte-exact layout, writer/reader round trips, and rejection of malformed files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file.h"
#include "io/gguf/gguf.h"
#include "test_util.h"

namespace {

using namespace as::gguf;
using as::test::TempDir;
namespace fs = std::filesystem;

// Little-endian byte builder for hand-made files.
struct Raw {
  std::string b;
  Raw& u8(uint8_t v) { return put(&v, 1); }
  Raw& u32(uint32_t v) { return put(&v, 4); }
  Raw& u64(uint64_t v) { return put(&v, 8); }
  Raw& i64(int64_t v) { return put(&v, 8); }
  Raw& f32(float v) { return put(&v, 4); }
  Raw& str(const std::string& s) {
    u64(s.size());
    b += s;
    return *this;
  }
  Raw& raw(const std::string& s) {
    b += s;
    return *this;
  }
  Raw& pad(size_t a) {
    while (b.size() % a) b += '\0';
    return *this;
  }
  Raw& put(const void* p, size_t n) {
    b.append(static_cast<const char*>(p), n);
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    raw("GGUF");
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  // A tensor info record.
  Raw& tensor(const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) i64(d);
    u32(type);
    return u64(offset);
  }
};

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected as::Error";
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& frag : fragments)
      EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

// Opens `bytes` as a GGUF file, expecting an error with the fragments (and the file name).
void expect_bad(const std::string& bytes, std::initializer_list<std::string> fragments) {
  TempDir d;
  const std::string p = d / "bad.gguf";
  write_raw(p, bytes);
  std::vector<std::string> all(fragments);
  all.push_back("bad.gguf");
  try {
    GGUFFile f(p);
    ADD_FAILURE() << "expected as::Error";
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    for (const auto& frag : all) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

std::vector<float> ramp(size_t n, float scale = 0.01f) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = scale * static_cast<float>(static_cast<int>(i * 7919 % 201) - 100);
  return x;
}

// ---------------------------------------------------------------------------------------------

TEST(GGUF, ByteExactSmallFile) {
  TempDir d;
  GGUFWriter w;
  w.add_kv("general.architecture", "llama");
  const float v[2] = {1.0f, 2.0f};
  w.add_tensor("w", GGMLType::F32, {2}, v);
  w.write(d / "s.gguf");

  Raw r;
  r.header(1, 1).str("general.architecture").u32(8).str("llama");
  r.tensor("w", {2}, 0, 0).pad(32);
  EXPECT_EQ(r.b.size(), 128u);
  r.f32(1.0f).f32(2.0f).pad(32);
  EXPECT_EQ(as::read_file(d / "s.gguf"), r.b);

  GGUFFile f(d / "s.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), 128u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.to_float("w"), (std::vector<float>{1, 2}));
}

TEST(GGUF, MetadataEveryType) {
  TempDir d;
  GGUFWriter w;
  w.add_kv("u8", uint8_t{200});
  w.add_kv("i8", int8_t{-100});
  w.add_kv("u16", uint16_t{60000});
  w.add_kv("i16", int16_t{-30000});
  w.add_kv("u32", uint32_t{4000000000u});
  w.add_kv("i32", int32_t{-2000000000});
  w.add_kv("f32", 1.5f);
  w.add_kv("bool", true);
  w.add_kv("str", std::string("héllo"));
  w.add_kv("u64", uint64_t{1} << 60);
  w.add_kv("i64", -(int64_t{1} << 60));
  w.add_kv("f64", 2.25);
  w.add_kv("a.u8", std::vector<uint8_t>{1, 2, 255});
  w.add_kv("a.i8", std::vector<int8_t>{-1, 2});
  w.add_kv("a.u16", std::vector<uint16_t>{7});
  w.add_kv("a.i16", std::vector<int16_t>{-7, 8});
  w.add_kv("a.u32", std::vector<uint32_t>{1, 2, 3});
  w.add_kv("a.i32", std::vector<int32_t>{1, -2, 3, 6});
  w.add_kv("a.f32", std::vector<float>{0.5f, -1.0f});
  w.add_kv("a.bool", std::vector<bool>{true, false, true});
  w.add_kv("a.str", std::vector<std::string>{"a", "", "Ġthe"});
  w.add_kv("a.u64", std::vector<uint64_t>{~uint64_t{0}});
  w.add_kv("a.i64", std::vector<int64_t>{-5});
  w.add_kv("a.f64", std::vector<double>{1e300});
  w.add_kv("a.empty", std::vector<int32_t>{});
  w.add_kv("u32", uint32_t{7});  // replaces in place
  EXPECT_EQ(w.n_kv(), 25u);
  w.write(d / "m.gguf");

  GGUFFile f(d / "m.gguf");
  EXPECT_TRUE(f.tensors().empty());
  ASSERT_EQ(f.keys().size(), 25u);
  EXPECT_EQ(f.keys()[0], "u8");
  EXPECT_EQ(f.keys()[4], "u32");
  EXPECT_EQ(f.get<uint8_t>("u8"), 200);
  EXPECT_EQ(f.get<int8_t>("i8"), -100);
  EXPECT_EQ(f.get<uint16_t>("u16"), 60000);
  EXPECT_EQ(f.get<int16_t>("i16"), -30000);
  EXPECT_EQ(f.get<uint32_t>("u32"), 7u);
  EXPECT_EQ(f.get<int32_t>("i32"), -2000000000);
  EXPECT_EQ(f.get<float>("f32"), 1.5f);
  EXPECT_EQ(f.get<bool>("bool"), true);
  EXPECT_EQ(f.get_string("str"), "héllo");
  EXPECT_EQ(f.get<uint64_t>("u64"), uint64_t{1} << 60);
  EXPECT_EQ(f.get<int64_t>("i64"), -(int64_t{1} << 60));
  EXPECT_EQ(f.get<double>("f64"), 2.25);
  EXPECT_EQ(f.get_array<uint8_t>("a.u8"), (std::vector<uint8_t>{1, 2, 255}));
  EXPECT_EQ(f.get_array<int8_t>("a.i8"), (std::vector<int8_t>{-1, 2}));
  EXPECT_EQ(f.get_array<uint16_t>("a.u16"), (std::vector<uint16_t>{7}));
  EXPECT_EQ(f.get_array<int16_t>("a.i16"), (std::vector<int16_t>{-7, 8}));
  EXPECT_EQ(f.get_array<uint32_t>("a.u32"), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(f.get_array<int32_t>("a.i32"), (std::vector<int32_t>{1, -2, 3, 6}));
  EXPECT_EQ(f.get_array<float>("a.f32"), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(f.get_array<bool>("a.bool"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.value("a.str").get_strings(), (std::vector<std::string>{"a", "", "Ġthe"}));
  EXPECT_EQ(f.get_array<std::string>("a.str").size(), 3u);
  EXPECT_EQ(f.get_array<uint64_t>("a.u64"), (std::vector<uint64_t>{~uint64_t{0}}));
  EXPECT_EQ(f.get_array<int64_t>("a.i64"), (std::vector<int64_t>{-5}));
  EXPECT_EQ(f.get_array<double>("a.f64"), (std::vector<double>{1e300}));
  EXPECT_TRUE(f.get_array<int32_t>("a.empty").empty());
  EXPECT_EQ(f.value("a.str").type_str(), "arr[str,3]");
  EXPECT_EQ(f.value("a.empty").elem_type(), ValueType::INT32);

  // Every value survives a second write/read unchanged.
  GGUFWriter w2;
  for (const auto& k : f.keys()) w2.add_kv(k, f.value(k));
  w2.write(d / "m2.gguf");
  EXPECT_EQ(as::read_file(d / "m.gguf"), as::read_file(d / "m2.gguf"));

  // Lenient access and errors naming key and file.
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i8"), -100);
  EXPECT_EQ(f.get_int("bool"), 1);
  EXPECT_EQ(f.get_double("f32"), 1.5);
  EXPECT_EQ(f.get_double("u32"), 7.0);
  EXPECT_EQ(f.get_or<uint32_t>("absent", 42u), 42u);
  EXPECT_EQ(f.get_or<uint32_t>("u32", 42u), 7u);
  expect_error([&] { f.get<float>("u32"); }, {"m.gguf", "'u32'", "u32", "f32"});
  expect_error([&] { f.get<uint32_t>("a.u32"); }, {"'a.u32'", "arr[u32,3]"});
  expect_error([&] { f.get_array<float>("a.u32"); }, {"'a.u32'"});
  expect_error([&] { f.get_string("missing.key"); }, {"m.gguf", "missing.key"});
  expect_error([&] { f.get_int("str"); }, {"'str'", "integer"});
}

TEST(GGUF, TensorsOfEveryCodecType) {
  TempDir d;
  const GGMLType types[] = {GGMLType::F32,  GGMLType::F16,  GGMLType::BF16,  GGMLType::Q8_0,  GGMLType::Q4_0,
                            GGMLType::Q2_K, GGMLType::Q4_K, GGMLType::Q6_K, GGMLType::TQ1_0, GGMLType::TQ2_0};
  const auto x = ramp(512 * 3);
  for (uint32_t alignment : {32u, 64u, 1u}) {
    GGUFWriter w;
    if (alignment != 32) w.set_alignment(alignment);
    w.add_kv("general.architecture", "test");
    w.add_kv("general.quantization_version", uint32_t{2});
    for (GGMLType t : types) w.add_tensor_from_f32(std::string("t.") + type_name(t), t, {512, 3}, x.data());
    std::vector<int32_t> ints = {1, -2, 3};
    w.add_tensor("ints", GGMLType::I32, {3}, ints.data());
    w.add_tensor("empty", GGMLType::F32, {0}, std::vector<uint8_t>{});
    w.add_tensor("4d", GGMLType::F16, {2, 1, 1, 3}, std::vector<uint8_t>(12, 0x3c));
    const std::string path = d / ("t" + std::to_string(alignment) + ".gguf");
    w.write(path);

    GGUFFile f(path);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    ASSERT_EQ(f.tensors().size(), 13u);
    EXPECT_EQ(f.tensors()[0].name, "t.f32");  // file order = insertion order
    for (GGMLType t : types) {
      const std::string name = std::string("t.") + type_name(t);
      const GGUFTensor& g = f.tensor(name);
      EXPECT_EQ(g.type, t);
      EXPECT_EQ(g.ne, (std::vector<int64_t>{512, 3}));
      EXPECT_EQ(g.shape(), (std::vector<int64_t>{3, 512}));
      EXPECT_EQ(g.numel(), 1536);
      EXPECT_EQ(g.nbytes, row_size(t, 1536));
      EXPECT_EQ(g.offset % alignment, 0u);
      std::vector<float> want(1536);
      dequantize(t, quantize(t, x.data(), 1536).data(), want.data(), 1536);
      EXPECT_EQ(f.to_float(name), want) << name;
      f.release(name);
    }
    EXPECT_EQ(f.to_float("ints"), (std::vector<float>{1, -2, 3}));
    EXPECT_EQ(f.tensor("empty").nbytes, 0u);
    EXPECT_EQ(f.tensor("4d").ne.size(), 4u);
    EXPECT_EQ(f.get<uint32_t>("general.quantization_version"), 2u);
    expect_error([&] { f.tensor("nope"); }, {"'nope'", path});
    // file ends with the padded last tensor
    EXPECT_EQ(fs::file_size(path) % alignment, 0u);
  }
}

TEST(GGUF, LazyFillAndFailedWrite) {
  TempDir d;
  GGUFWriter w;
  int calls = 0;
  w.add_tensor_lazy("lazy", GGMLType::F32, {256, 4}, [&](uint8_t* dst, uint64_t n) {
    ++calls;
    ASSERT_EQ(n, 4096u);
    float* f = reinterpret_cast<float*>(dst);
    for (int i = 0; i < 1024; ++i) f[i] = static_cast<float>(i);
  });
  EXPECT_EQ(calls, 0);
  w.write(d / "l.gguf");
  EXPECT_EQ(calls, 1);
  GGUFFile f(d / "l.gguf");
  EXPECT_EQ(f.to_float("lazy")[1023], 1023.0f);

  GGUFWriter bad;
  bad.add_tensor_lazy("boom", GGMLType::Q8_0, {32}, [](uint8_t*, uint64_t) { throw as::Error("fill failed"); });
  EXPECT_THROW(bad.write(d / "new.gguf"), as::Error);
  EXPECT_FALSE(fs::exists(d / "new.gguf"));
  const std::string before = as::read_file(d / "l.gguf");
  EXPECT_THROW(bad.write(d / "l.gguf"), as::Error);
  EXPECT_EQ(as::read_file(d / "l.gguf"), before);
  size_t files = 0;
  for (auto& e : fs::directory_iterator(d.path)) (void)e, ++files;
  EXPECT_EQ(files, 1u) << "no temporary files left behind";
}

TEST(GGUF, WriterRejectsBadInput) {
  GGUFWriter w;
  expect_error([&] { w.add_kv("", uint32_t{1}); }, {"empty"});
  expect_error([&] { w.add_kv("general.alignment", uint64_t{32}); }, {"general.alignment", "u32"});
  expect_error([&] { w.set_alignment(24); }, {"general.alignment", "24", "power of two"});
  expect_error([&] { w.add_tensor("t", GGMLType::Q8_0, {33}, std::vector<uint8_t>(36)); }, {"'t'", "33", "32"});
  expect_error([&] { w.add_tensor("t", GGMLType::F32, {2}, std::vector<uint8_t>(7)); }, {"'t'", "8", "7"});
  expect_error([&] { w.add_tensor("t", GGMLType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)); },
               {"'t'", "5 dimensions"});
  expect_error([&] { w.add_tensor("t", GGMLType::F32, {}, std::vector<uint8_t>(4)); }, {"'t'", "0 dimensions"});
  expect_error([&] { w.add_tensor("t", static_cast<GGMLType>(4), {1}, std::vector<uint8_t>(4)); },
               {"'t'", "unknown ggml type id 4"});
  expect_error([&] { w.add_tensor(std::string(64, 'n'), GGMLType::F32, {1}, std::vector<uint8_t>(4)); },
               {"longer than 63"});
  expect_error([&] { w.add_tensor("t", GGMLType::F32, {-1}, std::vector<uint8_t>{}); }, {"'t'", "negative"});
  w.add_tensor(std::string(63, 'n'), GGMLType::F32, {1}, std::vector<uint8_t>(4));
  w.add_tensor("t", GGMLType::F32, {1}, std::vector<uint8_t>(4));
  expect_error([&] { w.add_tensor("t", GGMLType::F32, {1}, std::vector<uint8_t>(4)); }, {"'t'", "twice"});
  std::vector<float> x(32);
  expect_error([&] { w.add_tensor_from_f32("q", GGMLType::Q5_K, {256}, x.data()); }, {"'q'", "q5_K"});
}

// ---------------------------------------------------------------------------------------------
// Malformed files

std::string valid_two_tensor_file() {
  Raw r;
  r.header(2, 1).str("general.architecture").u32(8).str("llama");
  r.tensor("a", {32}, 8, 0);   // Q8_0, 34 bytes -> padded to 64
  r.tensor("b", {4}, 0, 64);   // F32, 16 bytes
  r.pad(32);
  r.raw(std::string(34, '\x01')).pad(32);
  r.raw(std::string(16, '\0')).pad(32);
  return r.b;
}

TEST(GGUFBad, ValidBaseline) {
  TempDir d;
  write_raw(d / "ok.gguf", valid_two_tensor_file());
  GGUFFile f(d / "ok.gguf");
  EXPECT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensor("b").offset, 64u);
}

TEST(GGUFBad, MagicAndVersion) {
  expect_bad("", {"not a GGUF file"});
  expect_bad("GGU", {"not a GGUF file"});
  expect_bad(Raw().raw("GGUX").u32(3).u64(0).u64(0).b, {"bad magic", "47 47 55 58"});
  expect_bad(Raw().raw("GGUF").b, {"truncated", "version"});
  expect_bad(Raw().header(0, 0, 1).b, {"version 1"});
  expect_bad(Raw().header(0, 0, 4).b, {"version 4"});
  expect_bad(Raw().header(0, 0, 0).b, {"bad GGUF version 0"});
  expect_bad(Raw().header(0, 0, 0x03000000).b, {"big-endian"});
  expect_bad(Raw().raw("GGUF").u32(3).u64(0).b, {"truncated", "metadata count"});
  TempDir d;
  write_raw(d / "v2.gguf", Raw().header(0, 0, 2).b);
  EXPECT_EQ(GGUFFile(d / "v2.gguf").version(), 2u);
}

TEST(GGUFBad, Counts) {
  expect_bad(Raw().header(0, 1000000).b, {"metadata count 1000000"});
  expect_bad(Raw().header(~uint64_t(0), 0).b, {"tensor count"});
  expect_bad(Raw().header(0, 1).u64(uint64_t(1) << 40).raw(std::string(20, 'k')).b, {"length", "1 GiB"});
  expect_bad(Raw().header(0, 1).u64(100).raw("short").u32(0).b, {"truncated", "key #0"});
}

TEST(GGUFBad, MetadataValues) {
  expect_bad(Raw().header(0, 1).str("").u32(4).u32(1).b, {"key #0 is empty"});
  expect_bad(Raw().header(0, 1).str("k").u32(13).u32(1).b, {"'k'", "unknown value type 13"});
  expect_bad(Raw().header(0, 1).str("k").u32(9).u32(9).u64(0).b, {"'k'", "nested array"});
  expect_bad(Raw().header(0, 1).str("k").u32(9).u32(77).u64(0).b, {"'k'", "unknown value type 77"});
  expect_bad(Raw().header(0, 1).str("k").u32(9).u32(4).u64(uint64_t(1) << 31).b, {"'k'", "array length"});
  expect_bad(Raw().header(0, 1).str("k").u32(9).u32(4).u64(1000).u32(1).b, {"'k'", "truncated"});
  expect_bad(Raw().header(0, 1).str("k").u32(9).u32(8).u64(2).str("a").u64(50).raw("b").b, {"'k'", "truncated"});
  expect_bad(Raw().header(0, 1).str("k").u32(4).u8(1).b, {"'k'", "truncated"});
  expect_bad(Raw().header(0, 1).str("k").u32(8).u64(9).raw("abc").b, {"'k'", "truncated"});
  expect_bad(Raw().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).b, {"duplicate key 'k'"});
  expect_bad(Raw().header(0, 1).str("general.alignment").u32(10).u64(32).b, {"general.alignment", "u32", "u64"});
  expect_bad(Raw().header(0, 1).str("general.alignment").u32(4).u32(48).b, {"general.alignment", "48", "power"});
  expect_bad(Raw().header(0, 1).str("general.alignment").u32(4).u32(0).b, {"general.alignment", "power"});

  // ggml reads any non-zero bool byte as true
  TempDir d;
  write_raw(d / "b.gguf", Raw().header(0, 1).str("flag").u32(7).u8(2).b);
  EXPECT_TRUE(GGUFFile(d / "b.gguf").get<bool>("flag"));
}

TEST(GGUFBad, TensorInfos) {
  auto one = [](const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t off, size_t data) {
    Raw r;
    r.header(1, 0).tensor(name, std::move(ne), type, off).pad(32).raw(std::string(data, '\0')).pad(32);
    return r.b;
  };
  expect_bad(one("w", {32}, 4, 0, 64), {"'w'", "unknown ggml type id 4"});
  expect_bad(one("w", {32}, 99, 0, 64), {"'w'", "unknown ggml type id 99"});
  expect_bad(one("w", {33}, 8, 0, 64), {"'w'", "row length 33", "q8_0", "32"});
  expect_bad(one("w", {1, 1, 1, 1, 1}, 0, 0, 64), {"'w'", "5 dimensions"});
  expect_bad(one("w", {-4}, 0, 0, 64), {"'w'", "negative"});
  expect_bad(one("w", {int64_t(1) << 40, int64_t(1) << 40}, 0, 0, 64), {"'w'", "overflow"});
  expect_bad(one("w", {4}, 0, 32, 64), {"'w'", "offset 32, expected 0"});
  expect_bad(one(std::string(64, 'x'), {4}, 0, 0, 64), {"longer than ggml's limit"});
  expect_bad(one("w", {64}, 0, 0, 200), {"'w'", "beyond the end of the file"});  // 256 bytes needed
  // duplicate tensor names
  Raw r;
  r.header(2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad(32).raw(std::string(64, '\0'));
  expect_bad(r.b, {"'w'", "duplicate tensor name"});
  // second tensor not at the padded end of the first
  Raw r2;
  r2.header(2, 0).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 16).pad(32).raw(std::string(64, '\0'));
  expect_bad(r2.b, {"'b'", "offset 16, expected 32"});
  // data section missing entirely
  Raw r3;
  r3.header(1, 0).tensor("w", {4}, 0, 0);
  expect_bad(r3.b, {"truncated", "data section"});
}

TEST(GGUFBad, TruncationAtEveryLength) {
  const std::string good = valid_two_tensor_file();
  TempDir d;
  const std::string p = d / "t.gguf";
  write_raw(p, good);
  // The file may end right after the last tensor's bytes (its padding missing, as ggml's mmap loader
  // tolerates); anything shorter is an error.
  size_t needed = 0;
  {
    GGUFFile f(p);
    needed = f.data_offset() + f.tensor("b").offset + f.tensor("b").nbytes;
  }
  EXPECT_EQ(needed, 160u + 64u + 16u);
  for (size_t len = 0; len <= good.size(); ++len) {
    write_raw(p, good.substr(0, len));
    if (len < needed) {
      EXPECT_THROW(GGUFFile f(p), as::Error) << "len " << len;
    } else {
      EXPECT_NO_THROW(GGUFFile f(p)) << "len " << len;
    }
  }
}

TEST(GGUFBad, RandomCorruptionNeverCrashes) {
  const std::string good = valid_two_tensor_file();
  TempDir d;
  const std::string p = d / "c.gguf";
  write_raw(p, good);
  uint64_t s = 42;
  int rejected = 0;
  for (int it = 0; it < 2000; ++it) {
    std::string bad = good;
    for (int k = 0; k < 1 + it % 3; ++k) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      const size_t pos = (s >> 33) % 128;  // header + infos
      bad[pos] = static_cast<char>(s >> 13);
    }
    {
      // Same length: overwrite in place (no truncation, which makes some file systems flush).
      std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
      f.write(bad.data(), static_cast<std::streamsize>(bad.size()));
    }
    try {
      GGUFFile f(p);
      for (const auto& t : f.tensors())
        if (can_dequantize(t.type)) (void)f.to_float(t.name);
    } catch (const as::Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
