// UTF-8 validation and the maximal-subpart replacement policy (expected values from
// Python 3.11's bytes.decode("utf-8", errors="replace")).
#include <gtest/gtest.h>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace dsv4::text {
namespace {

const std::string kFffd(kReplacementChar);

TEST(Utf8, LossyConversionMatchesPythonReplace) {
  const std::string bytes = "\xe4\xbd\xa0\xe4\xbd\x80\xf0\x9f\x98\xed\xa0\x80x\xc0\xaf";
  EXPECT_EQ(to_valid_utf8(bytes), "你佀" + kFffd + kFffd + kFffd + kFffd + "x" + kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("\xe4\xbd"), kFffd);  // a truncated character is one replacement
  EXPECT_EQ(to_valid_utf8("\xf4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("ok"), "ok");
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));
}

TEST(Utf8, IncrementalConversionEqualsOneShot) {
  const std::string bytes = "a\xe4\xbd\xa0\xf0\x9f\x98\x80\xf0\x9f\x98x\xe2\x82\xac\xff\xc3";
  for (size_t split = 0; split <= bytes.size(); ++split) {
    std::string out;
    std::string pending(bytes.substr(0, split));
    pending.erase(0, append_lossy_utf8(pending, false, &out));
    pending += bytes.substr(split);
    append_lossy_utf8(pending, true, &out);
    EXPECT_EQ(out, to_valid_utf8(bytes)) << split;
  }
}

TEST(ByteLevel, MapIsABijectionOverAllBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string spelled = bytes_to_byte_level(all);
  std::string back;
  ASSERT_TRUE(byte_level_to_bytes(spelled, &back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(bytes_to_byte_level(" "), "Ġ");
  EXPECT_EQ(bytes_to_byte_level("\n"), "Ċ");
  EXPECT_FALSE(byte_level_to_bytes("｜", &back));  // not a byte character
}

}  // namespace
}  // namespace dsv4::text
