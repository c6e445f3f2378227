// The order-preserving JSON parser and the Python-compatible writer (expected strings
// from Python 3.11: json.dumps(json.loads(x), ensure_ascii=False)).
#include <gtest/gtest.h>

#include "text/json_dump.h"
#include "text/json_value.h"

namespace dsv4::text {
namespace {

std::string roundtrip(const std::string& text) {
  Result<JsonValue> v = parse_json(text);
  EXPECT_TRUE(v.is_ok()) << text << ": " << v.status().to_string();
  return v.is_ok() ? to_python_json(*v) : std::string();
}

TEST(Json, NumbersArePrintedAsPythonDoes) {
  const std::pair<const char*, const char*> cases[] = {
      {"1.0", "1.0"}, {"0.1", "0.1"}, {"1e-05", "1e-05"}, {"0.0001", "0.0001"}, {"1e16", "1e+16"},
      {"1e15", "1000000000000000.0"}, {"123456789.123", "123456789.123"}, {"-0.0", "-0.0"}, {"5e-324", "5e-324"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"}, {"1e400", "Infinity"}, {"-1e400", "-Infinity"},
      {"2.5e-8", "2.5e-08"}, {"1E5", "100000.0"}, {"1.50", "1.5"}, {"100.0", "100.0"}, {"1e22", "1e+22"},
      {"3.141592653589793", "3.141592653589793"}, {"0.30000000000000004", "0.30000000000000004"}, {"1e-7", "1e-07"},
      {"9007199254740993.0", "9007199254740992.0"}, {"-123", "-123"}, {"-0", "0"},
      {"12345678901234567890123", "12345678901234567890123"}, {"NaN", "NaN"}, {"-Infinity", "-Infinity"}};
  for (const auto& [in, want] : cases) EXPECT_EQ(roundtrip(in), want) << in;
}

TEST(Json, StringsKeyOrderAndDuplicatesFollowPython) {
  EXPECT_EQ(roundtrip(R"("a\"b\\c\n\t\u0001\u007f\u2028é😀")"), "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\u2028é😀\"");
  EXPECT_EQ(roundtrip(R"({"z": 1, "a": [true, false, null], "z": {"y": {}}})"), R"({"z": {"y": {}}, "a": [true, false, null]})");
  EXPECT_EQ(roundtrip(" [ ] "), "[]");
  EXPECT_EQ(roundtrip(R"("\ud83d\ude00")"), "\"😀\"");
}

TEST(Json, MalformedTextGetsAPositionedError) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected a value"}, {"{", "expected a string key"}, {"[1,]", "expected a value"}, {"01", "extra data"},
      {"\"\x01\"", "control character"}, {"\"\\x\"", "invalid escape"}, {"\"\\ud800\"", "lone surrogate"},
      {"[1] 2", "extra data"}, {"{\"a\" 1}", "expected ':'"}, {"tru", "expected a value"}};
  for (const auto& [in, want] : cases) {
    Result<JsonValue> v = parse_json(in);
    ASSERT_FALSE(v.is_ok()) << in;
    EXPECT_NE(v.status().message().find(want), std::string::npos) << in << ": " << v.status().message();
  }
  // Deep nesting is refused, not recursed into.
  EXPECT_FALSE(parse_json(std::string(100000, '[')).is_ok());
}

}  // namespace
}  // namespace dsv4::text
