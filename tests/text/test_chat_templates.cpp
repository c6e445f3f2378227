// The fixed texts of the DeepSeek-V4 prompt format against the SHA-256 values recorded in
// spec/dsv4-architecture.md §5.2 (computed there from the reference encoder).
#include <gtest/gtest.h>

#include "sha256.h"
#include "text/chat_encoding.h"
#include "text/chat_templates.h"

namespace dsv4::text {
namespace {

using testing::sha256_hex;

TEST(ChatTemplates, Sha256MatchesTheSpec) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // FIPS vector
  EXPECT_EQ(kReasoningEffortMaxText.size(), 476u);
  EXPECT_EQ(sha256_hex(kReasoningEffortMaxText), "f7a24f3b3050d4a83781e9b755b316aae2ec1d9dc87562541d90bcb04d7350f7");
  EXPECT_EQ(kResponseFormatTemplate.size(), 88u);
  EXPECT_EQ(sha256_hex(kResponseFormatTemplate), "012f31fcc1338bdfe25b132eaf56ab020ee75ab8e649f37b30b8e5f544fb17a5");
  EXPECT_EQ(kToolsTemplate.size(), 1075u);
  EXPECT_EQ(sha256_hex(kToolsTemplate), "09b7269daaddbeaf11a3ed55c07b1846c35162b841d8b4301bbe0449879d1fd8");
}

TEST(ChatTemplates, RenderedToolsBlockWithZeroToolsMatchesTheSpec) {
  const std::string block = render_tools_block({});
  EXPECT_EQ(block.size(), 989u);
  EXPECT_EQ(sha256_hex(block), "c7d3159308f7d076bee8974ece110fda1f92f6e577306e602ba2b466b4dcd904");
}

}  // namespace
}  // namespace dsv4::text
