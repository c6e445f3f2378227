// Hand-computed cases for the small elementwise ops (elementwise.h): scale, add and the MoE
// combine. Each rounds its fp32 result once in bf16 mode. moe_combine accumulates in fp32
// in the order given (ascending expert id), then adds the shared expert: with 2^24, where
// fp32 can no longer add 1, the order decides the result.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dsv4k/elementwise.h"

namespace dsv4k {
namespace {

TEST(RefElementwise, ScaleRoundsOnce) {
  // 0.5·(1 + 2^-8) = 0.501953125 is exact in fp32 and a bf16 tie (0.5 and 0.50390625) -> 0.5.
  std::vector<float> x = {1.0f, 3.0f, 1.00390625f};
  ref::scale(x.data(), 3, 0.5f, Round::kNone);
  EXPECT_EQ(x, (std::vector<float>{0.5f, 1.5f, 0.501953125f}));
  x = {1.0f, 3.0f, 1.00390625f};
  ref::scale(x.data(), 3, 0.5f, Round::kBf16);
  EXPECT_EQ(x, (std::vector<float>{0.5f, 1.5f, 0.5f}));
  // Factor 1 only rounds.
  x = {1.00390625f, 1.01171875f};
  ref::scale(x.data(), 2, 1.0f, Round::kBf16);
  EXPECT_EQ(x, (std::vector<float>{1.0f, 1.015625f}));  // ties to even: 1 and 1 + 2^-6
}

TEST(RefElementwise, AddRoundsOnceAndMayAlias) {
  // 1 + 2^-8 -> bf16 tie -> 1; 256 + 1 = 257 -> bf16 step 2 on [256, 512) -> tie -> 256.
  const std::vector<float> a = {1.0f, 256.0f};
  const std::vector<float> b = {0.00390625f, 1.0f};
  std::vector<float> out(2);
  ref::add(a.data(), b.data(), out.data(), 2, Round::kNone);
  EXPECT_EQ(out, (std::vector<float>{1.00390625f, 257.0f}));
  ref::add(a.data(), b.data(), out.data(), 2, Round::kBf16);
  EXPECT_EQ(out, (std::vector<float>{1.0f, 256.0f}));
  std::vector<float> inplace = a;
  ref::add(inplace.data(), b.data(), inplace.data(), 2, Round::kNone);
  EXPECT_EQ(inplace, (std::vector<float>{1.00390625f, 257.0f}));
}

TEST(RefElementwise, MoeCombineSumsExpertsInOrderThenShared) {
  // n 2, k 3, d 2.
  // Token 0, dim 0: experts {2^24, 1, 1}, shared 1: fp32 2^24 + 1 = 2^24 (tie to even), three
  //   times -> 16777216. In the order {1, 1, 2^24} it would be 16777218.
  // Token 0, dim 1: experts {1, 1, 2^24}, shared 0: 2 + 2^24 = 16777218.
  // Token 1: experts {0.5, 0.25, -1}, shared 2: 1.75; dim 1: {1, 2, 3} + 4 = 10.
  const float big = 16777216.0f;
  const std::vector<float> experts = {big, 1, 1, 1, 1, big, 0.5f, 1, 0.25f, 2, -1, 3};
  const std::vector<float> shared = {1, 0, 2, 4};
  std::vector<float> out(4);
  ref::moe_combine(experts.data(), shared.data(), 2, 3, 2, out.data(), Round::kNone);
  EXPECT_EQ(out, (std::vector<float>{16777216.0f, 16777218.0f, 1.75f, 10.0f}));
  // bf16: 16777218 -> 2^24 (bf16 keeps 8 significant bits); the others are exact.
  ref::moe_combine(experts.data(), shared.data(), 2, 3, 2, out.data(), Round::kBf16);
  EXPECT_EQ(out, (std::vector<float>{16777216.0f, 16777216.0f, 1.75f, 10.0f}));
}

}  // namespace
}  // namespace dsv4k
