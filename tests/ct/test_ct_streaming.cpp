// Streaming export: linears that carry only metadata and get their data from `materialize` while
// the weight files are written. The output must be byte-identical to the eager export.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "ct_test_model.h"
#include "io/compressed_tensors/ct_layout.h"
#include "io/compressed_tensors/ct_writer.h"
#include "test_util.h"

using namespace as::ct;
using namespace as::ct::test;
namespace fs = std::filesystem;

namespace {

bool holds_data(const QuantizedLinear& l) {
  return l.codes.capacity() || l.fp8.capacity() || l.weight_scale.capacity() || l.weight_zero_point.capacity() ||
         l.g_idx.capacity();
}

// What the materialize callbacks observed.
struct Tracker {
  std::map<std::string, int> calls;
  std::vector<const QuantizedLinear*> seen;  // writer-owned linears handed to materialize
  int max_live = 0;                          // most linears holding data at once (incl. the new one)
  std::string fail_on;                       // materialize of this module throws
  std::string bad_code_on;                   // materialize of this module yields an out-of-range code
};

// A streaming copy of `eager`: metadata only, data copied from `eager` on materialize. When
// `only_odd` is set, the even-indexed linears stay eager.
ExportModel streaming(const std::shared_ptr<const ExportModel>& eager, const std::shared_ptr<Tracker>& t,
                      bool only_odd = false) {
  ExportModel m;
  m.config = eager->config;
  m.tensors = eager->tensors;
  m.ignore = eager->ignore;
  m.extra_files = eager->extra_files;
  for (size_t i = 0; i < eager->linears.size(); ++i) {
    const QuantizedLinear& src = eager->linears[i];
    if (only_odd && i % 2 == 0) {
      m.linears.push_back(src);
      continue;
    }
    QuantizedLinear l;
    l.name = src.name;
    l.scheme = src.scheme;
    l.out_features = src.out_features;
    l.in_features = src.in_features;
    l.materialize = [eager, t, i](QuantizedLinear& q) {
      const QuantizedLinear& s = eager->linears[i];
      EXPECT_EQ(q.name, s.name);
      EXPECT_EQ(q.out_features, s.out_features);
      EXPECT_EQ(q.in_features, s.in_features);
      EXPECT_FALSE(holds_data(q)) << q.name;
      EXPECT_FALSE(q.materialize) << "the callback is not copied into the writer's linear";
      ++t->calls[q.name];
      int live = 1;
      for (const QuantizedLinear* o : t->seen)
        if (o != &q && holds_data(*o)) ++live;
      t->max_live = std::max(t->max_live, live);
      t->seen.push_back(&q);
      if (q.name == t->fail_on) throw std::runtime_error("boom from the quantizer");
      q.codes = s.codes;
      q.fp8 = s.fp8;
      q.weight_scale = s.weight_scale;
      q.weight_zero_point = s.weight_zero_point;
      q.g_idx = s.g_idx;
      q.input_scale = s.input_scale;
      q.input_zero_point = s.input_zero_point;
      if (q.name == t->bad_code_on) q.codes[3] = 100;
    };
    m.linears.push_back(std::move(l));
  }
  return m;
}

// Every regular file under `dir` (relative path -> bytes), and every entry name.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    files[rel] = e.is_regular_file() ? as::read_file(e.path().string()) : std::string("<dir>");
  }
  return files;
}

void expect_same_dirs(const std::string& a, const std::string& b) {
  const auto sa = snapshot(a), sb = snapshot(b);
  std::vector<std::string> na, nb;
  for (const auto& [k, v] : sa) na.push_back(k);
  for (const auto& [k, v] : sb) nb.push_back(k);
  ASSERT_EQ(na, nb);
  for (const auto& [k, v] : sa) EXPECT_TRUE(v == sb.at(k)) << k << " differs";
}

struct Case {
  std::string what;
  std::function<ExportModel()> make;
  WriterOptions opt;
  bool only_odd = false;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  WriterOptions def;
  WriterOptions sharded;
  sharded.max_shard_bytes = 3000;  // many shards; linears straddle shard boundaries
  WriterOptions spool_all;
  spool_all.spool_min_bytes = 0;  // every parked tensor goes through the spool file
  WriterOptions sharded_spool = sharded;
  sharded_spool.spool_min_bytes = 0;
  WriterOptions f32;
  f32.scale_dtype = as::DType::F32;
  f32.spool_min_bytes = 0;

  const std::vector<std::pair<std::string, std::function<ExportModel()>>> models = {
      {"fp8_static", [] { return make_model(presets::fp8_static()); }},
      {"fp8_dynamic", [] { return make_model(presets::fp8_dynamic()); }},
      {"fp8_block_partial", [] { return make_model(presets::fp8_block(32), 48, 96); }},
      {"int8_dynamic", [] { return make_model(presets::int8_w8a8_dynamic()); }},
      {"int8_static_asym", [] { return make_model(presets::int8_w8a8_static(false)); }},
      {"w4a16_asym", [] { return make_model(presets::wna16(4, 32, false)); }},
      {"w4a16_actorder", [] { return make_model(presets::wna16(4, 32, true, ActOrder::Group)); }},
      {"w8a16_channel_asym", [] { return make_model(presets::wna16(8, -1, false)); }},
      {"w4a8_fp8_static", [] { return make_model(presets::w4a8_fp8()); }},
      {"mixed_formats",
       [] {
         return make_model([](const std::string& name, int64_t) {
           return name.find("self_attn") != std::string::npos ? presets::fp8_static() : presets::wna16(4, 32, false);
         });
       }},
  };
  for (const auto& [name, make] : models) {
    v.push_back({name + "/default", make, def});
    v.push_back({name + "/sharded", make, sharded});
    v.push_back({name + "/spool_all", make, spool_all});
    v.push_back({name + "/sharded_spool", make, sharded_spool});
  }
  v.push_back({"w4a16_asym/f32_scales",
               [] {
                 return make_model([](const std::string&, int64_t) { return presets::wna16(4, 32, false); }, kHidden,
                                   kInter, as::DType::F32);
               },
               f32});
  v.push_back({"int8_static_asym/half_eager", [] { return make_model(presets::int8_w8a8_static(false)); }, sharded_spool,
               true});
  v.push_back({"mixed/half_eager",
               [] {
                 return make_model([](const std::string& name, int64_t) {
                   return name.find("mlp") != std::string::npos ? presets::fp8_block(32) : presets::wna16(4, 32, true);
                 });
               },
               spool_all, true});
  return v;
}

}  // namespace

TEST(CtStreaming, ByteIdenticalToEagerAndMaterializesEachLinearOnce) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.what);
    auto eager = std::make_shared<const ExportModel>(c.make());
    auto t = std::make_shared<Tracker>();
    const ExportModel stream = streaming(eager, t, c.only_odd);
    as::test::TempDir tmp;
    const WriteResult re = write_compressed_tensors(tmp / "eager", *eager, c.opt);
    const WriteResult rs = write_compressed_tensors(tmp / "stream", stream, c.opt);
    EXPECT_TRUE(rs.report.ok) << rs.report.summary();
    EXPECT_EQ(re.files, rs.files);
    EXPECT_EQ(re.config.to_json(), rs.config.to_json());
    expect_same_dirs(tmp / "eager", tmp / "stream");

    size_t expected_calls = 0;
    for (size_t i = 0; i < eager->linears.size(); ++i) {
      if (c.only_odd && i % 2 == 0) continue;
      ++expected_calls;
      EXPECT_EQ(t->calls[eager->linears[i].name], 1) << eager->linears[i].name;
    }
    EXPECT_EQ(t->calls.size(), expected_calls);
    EXPECT_EQ(t->max_live, 1) << "at most one linear is materialized at a time";
  }
}

TEST(CtStreaming, BuildQuantizationConfigDoesNotMaterialize) {
  auto eager = std::make_shared<const ExportModel>(make_model(presets::int8_w8a8_static(false)));
  auto t = std::make_shared<Tracker>();
  const ExportModel stream = streaming(eager, t);
  EXPECT_EQ(build_quantization_config(stream).to_json(), build_quantization_config(*eager).to_json());
  EXPECT_TRUE(t->calls.empty());
}

TEST(CtStreaming, ThrowingMaterializeClobbersNothing) {
  as::test::TempDir tmp;
  WriterOptions opt;
  opt.max_shard_bytes = 3000;
  // A different earlier export in the same directory: every file must survive the failed write.
  const std::string dir = tmp / "out";
  write_compressed_tensors(dir, make_model(presets::wna16(4, 32, false)), opt);
  const auto before = snapshot(dir);
  ASSERT_TRUE(before.count("config.json"));

  auto eager = std::make_shared<const ExportModel>(make_model(presets::fp8_static()));
  // Tensors are written in natural name order: fail on the first linear written, and on the last
  // one (by then earlier shards have been produced).
  std::vector<std::string> order;
  for (const QuantizedLinear& l : eager->linears) order.push_back(l.name);
  std::sort(order.begin(), order.end(), natural_less);
  int round = 0;
  for (const std::string& failing : {order.front(), order.back()}) {
    SCOPED_TRACE(failing);
    ++round;
    auto t = std::make_shared<Tracker>();
    t->fail_on = failing;
    const ExportModel stream = streaming(eager, t);
    try {
      write_compressed_tensors(dir, stream, opt);
      ADD_FAILURE() << "no error";
    } catch (const as::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(failing), std::string::npos) << msg;
      EXPECT_NE(msg.find("boom from the quantizer"), std::string::npos) << msg;
    }
    EXPECT_EQ(t->calls[failing], 1);
    EXPECT_TRUE(snapshot(dir) == before) << "the earlier export was modified";

    // into a fresh directory: nothing but the (empty) directory remains
    const std::string fresh = tmp / ("fresh_" + std::to_string(round));
    EXPECT_THROW(write_compressed_tensors(fresh, streaming(eager, t), opt), as::Error);
    EXPECT_FALSE(as::file_exists(fresh + "/config.json"));
    EXPECT_TRUE(snapshot(fresh).empty());
  }
}

TEST(CtStreaming, DataIsValidatedAtMaterialization) {
  as::test::TempDir tmp;
  auto eager = std::make_shared<const ExportModel>(make_model(presets::wna16(4, 32, true)));
  const std::string bad = eager->linears[4].name;
  auto t = std::make_shared<Tracker>();
  t->bad_code_on = bad;
  const ExportModel stream = streaming(eager, t);
  EXPECT_NO_THROW(build_quantization_config(stream));  // metadata alone is fine
  try {
    write_compressed_tensors(tmp / "o", stream);
    ADD_FAILURE() << "no error";
  } catch (const as::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
    EXPECT_NE(msg.find("outside the 4-bit range"), std::string::npos) << msg;
  }
  EXPECT_FALSE(as::file_exists(tmp / "o/config.json"));
  EXPECT_TRUE(snapshot(tmp / "o").empty());
}

TEST(CtStreaming, RejectsDataUpFrontAndMetadataChanges) {
  as::test::TempDir tmp;
  auto eager = std::make_shared<const ExportModel>(make_model(presets::fp8_dynamic()));
  {
    auto t = std::make_shared<Tracker>();
    ExportModel m = streaming(eager, t);
    m.linears[2].fp8 = eager->linears[2].fp8;  // data up front next to a materialize callback
    EXPECT_THROW(build_quantization_config(m), as::Error);
    EXPECT_THROW(write_compressed_tensors(tmp / "a", m), as::Error);
    EXPECT_TRUE(t->calls.empty());
  }
  {
    auto t = std::make_shared<Tracker>();
    ExportModel m = streaming(eager, t);
    const auto inner = m.linears[1].materialize;
    m.linears[1].materialize = [inner](QuantizedLinear& q) {
      inner(q);
      q.out_features += 1;
    };
    try {
      write_compressed_tensors(tmp / "b", m);
      ADD_FAILURE() << "no error";
    } catch (const as::Error& e) {
      EXPECT_NE(std::string(e.what()).find(m.linears[1].name), std::string::npos) << e.what();
    }
    EXPECT_FALSE(as::file_exists(tmp / "b/config.json"));
  }
  {
    // missing input_scale for a static scheme is reported at materialization, naming the module
    auto e2 = std::make_shared<const ExportModel>(make_model(presets::fp8_static()));
    auto t = std::make_shared<Tracker>();
    ExportModel m = streaming(e2, t);
    const auto inner = m.linears[3].materialize;
    m.linears[3].materialize = [inner](QuantizedLinear& q) {
      inner(q);
      q.input_scale.reset();
    };
    EXPECT_NO_THROW(build_quantization_config(m));
    try {
      write_compressed_tensors(tmp / "c", m);
      ADD_FAILURE() << "no error";
    } catch (const as::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(m.linears[3].name), std::string::npos) << msg;
      EXPECT_NE(msg.find("input_scale"), std::string::npos) << msg;
    }
  }
}
