#include "io/tensor_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "kernels/fp8.h"
#include "kernels/half.h"

namespace {

using as::DType;

template <typename T>
as::TensorView view(const std::vector<T>& v, DType dt, const std::string& name = "t") {
  as::TensorView t;
  t.name = name;
  t.dtype = dt;
  t.shape = {static_cast<int64_t>(v.size())};
  t.data = reinterpret_cast<const uint8_t*>(v.data());
  t.nbytes = v.size() * sizeof(T);
  return t;
}

TEST(TensorConvert, Floats) {
  std::vector<float> f = {1.5f, -2.25f, 0.0f, 65504.0f};
  EXPECT_EQ(as::to_float(view(f, DType::F32)), f);

  std::vector<uint16_t> h, b;
  for (float x : f) {
    h.push_back(as::kernels::f32_to_f16(x));
    b.push_back(as::kernels::f32_to_bf16(x));
  }
  EXPECT_EQ(as::to_float(view(h, DType::F16)), f);
  auto bf = as::to_float(view(b, DType::BF16));
  EXPECT_EQ(bf[0], 1.5f);
  EXPECT_EQ(bf[1], -2.25f);

  std::vector<uint8_t> e4 = {0x38, 0x7e, 0xb8, 0x00};  // 1, 448, -1, 0
  EXPECT_EQ(as::to_float(view(e4, DType::F8_E4M3)), (std::vector<float>{1, 448, -1, 0}));
  std::vector<uint8_t> e5 = {0x3c, 0x7b, 0xbc};  // 1, 57344, -1
  EXPECT_EQ(as::to_float(view(e5, DType::F8_E5M2)), (std::vector<float>{1, 57344, -1}));
  std::vector<double> d = {0.5, -3.0};
  EXPECT_EQ(as::to_float(view(d, DType::F64)), (std::vector<float>{0.5f, -3.0f}));
}

TEST(TensorConvert, Integers) {
  std::vector<int8_t> i8 = {-128, 0, 127};
  EXPECT_EQ(as::to_float(view(i8, DType::I8)), (std::vector<float>{-128, 0, 127}));
  std::vector<uint8_t> u8 = {0, 255};
  EXPECT_EQ(as::to_float(view(u8, DType::U8)), (std::vector<float>{0, 255}));
  std::vector<int16_t> i16 = {-300, 300};
  EXPECT_EQ(as::to_float(view(i16, DType::I16)), (std::vector<float>{-300, 300}));
  std::vector<uint16_t> u16 = {65535};
  EXPECT_EQ(as::to_float(view(u16, DType::U16)), (std::vector<float>{65535}));
  std::vector<int32_t> i32 = {-7, 1 << 20};
  EXPECT_EQ(as::to_float(view(i32, DType::I32)), (std::vector<float>{-7, float(1 << 20)}));
  std::vector<uint32_t> u32 = {4000000000u};
  EXPECT_EQ(as::to_float(view(u32, DType::U32)), (std::vector<float>{4000000000.0f}));
  std::vector<int64_t> i64 = {-5};
  EXPECT_EQ(as::to_float(view(i64, DType::I64)), (std::vector<float>{-5}));
  std::vector<uint64_t> u64 = {1ull << 40};
  EXPECT_EQ(as::to_float(view(u64, DType::U64)), (std::vector<float>{float(1ull << 40)}));
  std::vector<uint8_t> bo = {0, 1, 1};
  EXPECT_EQ(as::to_float(view(bo, DType::BOOL)), (std::vector<float>{0, 1, 1}));
}

TEST(TensorConvert, UnalignedSourceAndBuffer) {
  std::vector<uint8_t> raw(1 + 3 * 4);
  const float v[3] = {1, 2, 3};
  std::memcpy(raw.data() + 1, v, 12);
  as::TensorView t;
  t.name = "odd";
  t.dtype = DType::F32;
  t.shape = {3};
  t.data = raw.data() + 1;
  t.nbytes = 12;
  float out[3];
  as::to_float(t, out);
  EXPECT_EQ(out[2], 3.0f);
}

TEST(TensorConvert, InconsistentViewNamesTensor) {
  std::vector<float> f = {1, 2};
  auto t = view(f, DType::F32, "layer.w");
  t.shape = {3};
  try {
    as::to_float(t);
    FAIL();
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer.w"), std::string::npos);
  }
  auto bad = view(f, DType::F32, "bad.dtype");
  bad.dtype = static_cast<DType>(200);
  EXPECT_THROW(as::to_float(bad), as::Error);
}

TEST(TensorConvert, FromFloat) {
  std::vector<float> f = {1.0f, -0.5f, 3.0f};
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2, DType::F64}) {
    auto bytes = as::from_float(f.data(), f.size(), dt, "x");
    as::TensorView t;
    t.name = "x";
    t.dtype = dt;
    t.shape = {3};
    t.data = bytes.data();
    t.nbytes = bytes.size();
    EXPECT_EQ(as::to_float(t), f) << as::dtype_name(dt);
  }
  try {
    as::from_float(f.data(), f.size(), DType::I32, "the.tensor");
    FAIL();
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the.tensor"), std::string::npos);
  }
}

TEST(TensorConvert, NonFinite) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<float> f = {1, inf, -inf, nan, 0, 3.4e38f};
  EXPECT_EQ(as::count_nonfinite(f.data(), f.size()), 3u);
  EXPECT_EQ(as::count_nonfinite(view(f, DType::F32)), 3u);
  std::vector<uint16_t> h = {0x3c00, 0x7c00, 0xfc00, 0x7e00, 0x7bff};
  EXPECT_EQ(as::count_nonfinite(view(h, DType::F16)), 3u);
  std::vector<uint16_t> b = {0x3f80, 0x7f80, 0xff80, 0x7fc0, 0x7f7f};
  EXPECT_EQ(as::count_nonfinite(view(b, DType::BF16)), 3u);
  std::vector<uint8_t> e4 = {0x7f, 0xff, 0x7e, 0x00};
  EXPECT_EQ(as::count_nonfinite(view(e4, DType::F8_E4M3)), 2u);
  std::vector<uint8_t> e5 = {0x7c, 0xfc, 0x7d, 0x7b};
  EXPECT_EQ(as::count_nonfinite(view(e5, DType::F8_E5M2)), 3u);
  std::vector<double> d = {1.0, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_EQ(as::count_nonfinite(view(d, DType::F64)), 1u);
  std::vector<int32_t> i = {-1, 0x7f800000};
  EXPECT_EQ(as::count_nonfinite(view(i, DType::I32)), 0u);
}

TEST(DTypeNames, RoundTripAndErrors) {
  for (int i = 0; i <= static_cast<int>(DType::BOOL); ++i) {
    const DType t = static_cast<DType>(i);
    EXPECT_EQ(as::dtype_from_name(as::dtype_name(t), "ctx"), t);
  }
  EXPECT_EQ(as::dtype_size(DType::BF16), 2u);
  EXPECT_EQ(as::dtype_size(DType::U64), 8u);
  EXPECT_TRUE(as::dtype_is_float(DType::F8_E5M2));
  EXPECT_FALSE(as::dtype_is_float(DType::I8));
  try {
    as::dtype_from_name("float32", "file.st: tensor \"w\"");
    FAIL();
  } catch (const as::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("file.st"), std::string::npos);
    EXPECT_NE(m.find("float32"), std::string::npos);
    EXPECT_NE(m.find("F8_E4M3"), std::string::npos);
  }
}

}  // namespace
