#include "config/yaml_reader.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config_test_util.h"

namespace {

using as::YamlReader;
using as::test::expect_error;

YamlReader reader(const std::string& text, const std::string& path = "") {
  return YamlReader(as::parse_yaml(text, "t.yaml"), "t.yaml", path);
}

TEST(ParseSize, PlainAndUnits) {
  EXPECT_EQ(as::parse_size("0"), 0u);
  EXPECT_EQ(as::parse_size("123"), 123u);
  EXPECT_EQ(as::parse_size("123B"), 123u);
  EXPECT_EQ(as::parse_size("2GB"), 2000000000u);
  EXPECT_EQ(as::parse_size("2gb"), 2000000000u);
  EXPECT_EQ(as::parse_size("2G"), 2000000000u);
  EXPECT_EQ(as::parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(as::parse_size("1.5 GiB"), 3ull << 29);
  EXPECT_EQ(as::parse_size(" 4KiB "), 4096u);
  EXPECT_EQ(as::parse_size("1TB"), 1000000000000ull);
  EXPECT_EQ(as::parse_size("1TiB"), 1ull << 40);
}

TEST(ParseSize, Rejects) {
  for (const char* s : {"", "GB", "-1", "-2GB", "2XB", "1.2.3GB", ".5GB", "5.GB", "2 G B", "1e9", "two",
                        "99999999999999999999", "20000000TiB"})
    EXPECT_FALSE(as::parse_size(s).has_value()) << s;
}

TEST(ParseSize, FormatRoundTrips) {
  EXPECT_EQ(as::format_size(0), "0");
  EXPECT_EQ(as::format_size(2ull << 30), "2GiB");
  EXPECT_EQ(as::format_size(2000000000ull), "2GB");
  EXPECT_EQ(as::format_size(123), "123B");
  for (uint64_t v : {0ull, 1ull, 1000ull, 1024ull, 1536ull, 3ull << 29, 2000000000ull, 123456789ull})
    EXPECT_EQ(as::parse_size(as::format_size(v)), v) << v;
}

TEST(YamlReader, ReadsTypedScalars) {
  auto r = reader(
      "i: 42\nneg: -3\nd: 0.5\nb: yes\nb2: false\ns: hello\nsz: 2GiB\nsz2: 1024\n"
      "list: [a, b, c]\ne: beta\nnul:\n");
  EXPECT_EQ(r.req_int("i"), 42);
  EXPECT_EQ(r.get_int("neg", 0), -3);
  EXPECT_DOUBLE_EQ(r.req_double("d"), 0.5);
  EXPECT_DOUBLE_EQ(r.get_double("i", 0), 42.0);  // integers are numbers too
  EXPECT_TRUE(r.req_bool("b"));
  EXPECT_FALSE(r.get_bool("b2", true));
  EXPECT_EQ(r.req_string("s"), "hello");
  EXPECT_EQ(r.req_size("sz"), 2ull << 30);
  EXPECT_EQ(r.get_size("sz2", 0), 1024u);
  EXPECT_EQ(r.get_string_list("list"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.req_enum("e", {"alpha", "beta"}), "beta");
  EXPECT_EQ(r.get_int("nul", 7), 7);  // null reads as absent
  EXPECT_FALSE(r.opt_string("absent").has_value());
  EXPECT_EQ(r.get_string("absent", "dflt"), "dflt");
  EXPECT_NO_THROW(r.finish());
}

TEST(YamlReader, WrongTypesNameKeyAndExpectation) {
  auto r = reader("a:\n  n: two\n  f: fast\n  b: maybe\n  m: {x: 1}\n  l: [1, [2]]\n  s: [x]\n", "a");
  auto sec = r.section("a");
  expect_error([&] { sec.req_int("n"); }, {"t.yaml:2:6:", "a.n", "expected an integer", "'two'"});
  expect_error([&] { sec.get_double("f", 0); }, {"a.f", "expected a number", "'fast'"});
  expect_error([&] { sec.req_bool("b"); }, {"a.b", "expected true or false", "'maybe'"});
  expect_error([&] { sec.req_int("m"); }, {"a.m", "expected an integer, got a mapping"});
  expect_error([&] { sec.get_string_list("l"); }, {"a.l[1]", "expected a string, got a list"});
  expect_error([&] { sec.get_string("s", ""); }, {"a.s", "expected a string, got a list"});
  expect_error([&] { sec.get_string_list("n"); }, {"a.n", "expected a list of strings"});
  expect_error([&] { sec.section("m").req_int("x", as::IntRange{5}); }, {"a.m.x", "must be >= 5, got 1"});
}

TEST(YamlReader, IntegersAreStrict) {
  auto r = reader("a: 4.5\nb: 0x10\nc: 1e3\nd: 99999999999999999999\ne: +7\nf: 010\n");
  expect_error([&] { r.req_int("a"); }, {"a: expected an integer, got '4.5'"});
  expect_error([&] { r.req_int("b"); }, {"b: expected an integer"});
  expect_error([&] { r.req_int("c"); }, {"c: expected an integer"});
  expect_error([&] { r.req_int("d"); }, {"d: integer out of range"});
  EXPECT_EQ(r.req_int("e"), 7);
  EXPECT_EQ(r.req_int("f"), 10);  // decimal, never octal
}

TEST(YamlReader, Ranges) {
  auto r = reader("a: 0\nb: 11\nc: 1.5\n");
  expect_error([&] { r.req_int("a", as::IntRange{1, 10}); }, {"a: must be between 1 and 10, got 0"});
  expect_error([&] { r.req_int("b", as::IntRange{1, 10}); }, {"b: must be between 1 and 10, got 11"});
  expect_error([&] { r.req_int("b", as::IntRange{.max = 10}); }, {"b: must be <= 10, got 11"});
  expect_error([&] { r.req_double("c", as::DoubleRange{0, 1}); }, {"c: must be between 0 and 1, got 1.5"});
}

TEST(YamlReader, EnumListsAllowedValues) {
  auto r = reader("x:\n  mode: fp16\n  other: [a]\n", "");
  auto x = r.section("x");
  expect_error([&] { x.req_enum("mode", {"float32", "bfloat16"}); },
               {"t.yaml:2:9:", "x.mode", "invalid value 'fp16'", "allowed values: float32, bfloat16"});
  expect_error([&] { x.req_enum("other", {"a", "b"}); }, {"x.other", "expected one of a, b", "got a list"});
  enum class E { A, B };
  as::EnumValues<E> vals = {{"a", E::A}, {"b", E::B}};
  auto y = reader("k: b\n");
  EXPECT_EQ(y.req_enum("k", vals), E::B);
  EXPECT_EQ(y.get_enum("missing", vals, E::A), E::A);
}

TEST(YamlReader, MissingRequired) {
  auto r = reader("sec:\n  a: 1\n  empty:\n  blank: ''\n");
  auto s = r.section("sec");
  expect_error([&] { s.req_int("b"); }, {"t.yaml:2:3:", "missing required key 'sec.b'"});
  expect_error([&] { s.req_string("empty"); }, {"t.yaml:3:3:", "missing value for required key 'sec.empty'"});
  expect_error([&] { s.req_string("blank"); }, {"sec.blank: must not be empty"});
  expect_error([&] { r.section("nope"); }, {"t.yaml: missing required key 'nope'"});
  expect_error([&] { s.section("a"); }, {"sec.a", "expected a mapping, got '1'"});
}

TEST(YamlReader, SizeErrors) {
  auto r = reader("m: 2XB\nn: -5\n");
  expect_error([&] { r.req_size("m"); }, {"m: invalid size '2XB'", "e.g. 2GB or 512MiB", "GiB"});
  expect_error([&] { r.get_size("n", 0); }, {"n: invalid size '-5'"});
}

TEST(YamlReader, UnknownKeysListAllowed) {
  auto r = reader("top:\n  alpha: 1\n  betta: 2\n  gamma: 3\n");
  auto t = r.section("top");
  t.get_int("alpha", 0);
  t.get_int("beta", 0);
  t.allow("gamma");
  expect_error([&] { t.finish(); },
               {"t.yaml:3:3:", "unknown key 'top.betta'", "did you mean 'beta'",
                "allowed keys under 'top': alpha, beta, gamma"});
  auto root = reader("zzz: 1\n");
  root.allow("model");
  expect_error([&] { root.finish(); }, {"unknown key 'zzz'", "allowed top-level keys: model"});
  auto empty = reader("s:\n  x: 1\n");
  auto es = empty.section("s");
  expect_error([&] { es.finish(); }, {"unknown key 's.x'", "'s' takes no keys"});
}

TEST(YamlReader, SectionLists) {
  auto r = reader("items:\n  - {a: 1}\n  - {a: 2, b: 3}\nbad: [1]\nnotlist: {a: 1}\n");
  auto items = r.section_list("items");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].path(), "items[1]");
  EXPECT_EQ(items[1].req_int("a"), 2);
  expect_error([&] { items[1].finish(); }, {"unknown key 'items[1].b'", "allowed keys under 'items[1]': a"});
  expect_error([&] { r.section_list("bad"); }, {"bad[0]: expected a mapping, got '1'"});
  expect_error([&] { r.section_list("notlist"); }, {"notlist: expected a list of mappings, got a mapping"});
  EXPECT_TRUE(r.section_list("absent").empty());
}

TEST(YamlReader, NonMappingsAndDuplicates) {
  expect_error([&] { reader("- a\n- b\n"); }, {"expected a mapping of sections at the top level, got a list"});
  expect_error([&] { reader("a: 1\nb: 2\na: 3\n"); }, {"t.yaml:3:1:", "duplicate key 'a'", "line 1"});
  expect_error([&] { reader("s:\n  k: 1\n  k: 2\n").section("s"); }, {"duplicate key 's.k'"});
}

TEST(YamlReader, SyntaxErrorsNameFileAndLine) {
  expect_error([] { as::parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "job.yaml"); }, {"job.yaml:", "YAML syntax error"});
  expect_error([] { as::parse_yaml("a: 1\n  b: 2\n", "job.yaml"); }, {"job.yaml:2:", "YAML syntax error"});
  expect_error([] { as::parse_yaml("a: {b: 1\n", "job.yaml"); }, {"job.yaml:2:1:", "YAML syntax error"});
  expect_error([] { as::parse_yaml("a: [1, 2]]\n", "job.yaml"); }, {"job.yaml:1:10:", "YAML syntax error: illegal flow end"});
  expect_error([] { as::load_yaml_file("/nonexistent/dir/x.yaml"); }, {"/nonexistent/dir/x.yaml: no such file"});
}

}  // namespace
