// Hand-computed cases for the RMS normalizations (norm.h, spec §2.1, §2.4.1 step 3).
//
// rmsnorm multiplies by the weight in fp32 and rounds once to bf16; HF transformers rounds
// before the weight multiply, and the first case is chosen so that the two differ.
// head_rmsnorm with Round::kBf16 reproduces the reference's chain of bf16 tensor ops
// (q² rounded, mean rounded, +eps rounded, rsqrt rounded, product rounded); the second
// group shows an input where that chain changes the result against fp32 math rounded at
// the end, with every intermediate written out.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/norm.h"

namespace dsv4k {
namespace {

constexpr float kEps = 1e-6f;

TEST(RefNorm, RmsNormFp32MatchesClosedForm) {
  // Two rows 3 apart. Row 0 = {3, 4}: mean(x²) = 12.5; row 1 = {-1, 1}: mean = 1.
  // w = {1, 2} (bf16 0x3F80, 0x4000). y = x·w/sqrt(mean + 1e-6).
  const std::vector<float> x = {3.0f, 4.0f, 99.0f, -1.0f, 1.0f, 99.0f};
  const std::vector<uint16_t> w = {0x3F80, 0x4000};
  std::vector<float> y(4);
  ref::rmsnorm(x.data(), 2, 2, 3, w.data(), kEps, y.data(), 2, Round::kNone);
  const double r0 = 1.0 / std::sqrt(12.5 + 1e-6);
  const double r1 = 1.0 / std::sqrt(1.0 + 1e-6);
  EXPECT_NEAR(y[0], 3.0 * r0, 2e-7);
  EXPECT_NEAR(y[1], 8.0 * r0, 4e-7);
  EXPECT_NEAR(y[2], -1.0 * r1, 2e-7);
  EXPECT_NEAR(y[3], 2.0 * r1, 2e-7);
}

TEST(RefNorm, RmsNormRoundsOnceAfterTheWeight) {
  // x = {1, 1.5}: mean(x²) = (1 + 2.25)/2 = 1.625, r = 1/sqrt(1.625001) = 0.78446430.
  // w = {1.25, 1.25} (bf16 0x3FA0).
  //   x1·r = 1.17669645; ·1.25 = 1.47087057 -> bf16 (step 2^-7 on [1, 2)): 188.27 -> 188/128
  //   = 1.46875. Rounding first (HF) would give bf16(1.17669645) = 151/128 = 1.1796875,
  //   ·1.25 = 1.474609375 = 188.75/128 -> 189/128 = 1.4765625.
  //   x0·r·1.25 = 0.98058038 -> step 2^-8 on [0.5, 1): 251.03 -> 251/256 = 0.98046875.
  const std::vector<float> x = {1.0f, 1.5f};
  const std::vector<uint16_t> w = {0x3FA0, 0x3FA0};
  std::vector<float> y(2);
  ref::rmsnorm(x.data(), 1, 2, 2, w.data(), kEps, y.data(), 2, Round::kBf16);
  EXPECT_EQ(y[0], 0.98046875f);
  EXPECT_EQ(y[1], 1.46875f);
}

TEST(RefNorm, HeadRmsNormFp32IsPerHead) {
  // Two heads of 2 per row: head 0 = {3, 4} (mean 12.5), head 1 = {0.5, 0.5} (mean 0.25):
  // each head is normalized by its own mean.
  std::vector<float> x = {3.0f, 4.0f, 0.5f, 0.5f};
  ref::head_rmsnorm(x.data(), 1, 2, 2, 4, kEps, Round::kNone);
  const double r0 = 1.0 / std::sqrt(12.5 + 1e-6);
  const double r1 = 1.0 / std::sqrt(0.25 + 1e-6);
  EXPECT_NEAR(x[0], 3.0 * r0, 2e-7);
  EXPECT_NEAR(x[1], 4.0 * r0, 2e-7);
  EXPECT_NEAR(x[2], 0.5 * r1, 2e-7);
  EXPECT_NEAR(x[3], 0.5 * r1, 2e-7);
}

TEST(RefNorm, HeadRmsNormBf16ChainDiffersFromRoundingAtTheEnd) {
  // q = {1, 1.75}, head_dim 2.
  //   q²           = {1, 3.0625}                      (both exact in bf16)
  //   mean         = 4.0625/2 = 2.03125               (exact: 1.015625·2)
  //   mean + 1e-6  = 2.031251 -> bf16 2.03125
  //   rsqrt        = 0.70164642 = 2^-1·1.40329 -> 179.62/256 -> bf16 180/256 = 0.703125
  //   q·rsqrt      = {0.703125, 1.23046875}; 1.23046875 = 157.5/128 is a tie -> 158/128 = 1.234375
  // fp32 math rounded at the end: 1.75·0.70164642 = 1.2278812 = 157.17/128 -> 1.2265625.
  std::vector<float> chain = {1.0f, 1.75f};
  ref::head_rmsnorm(chain.data(), 1, 1, 2, 2, kEps, Round::kBf16);
  EXPECT_EQ(chain[0], 0.703125f);
  EXPECT_EQ(chain[1], 1.234375f);

  std::vector<float> plain = {1.0f, 1.75f};
  ref::head_rmsnorm(plain.data(), 1, 1, 2, 2, kEps, Round::kNone);
  const double r = 1.0 / std::sqrt(2.03125 + 1e-6);
  EXPECT_NEAR(plain[1], 1.75 * r, 2e-7);
  EXPECT_EQ(round_bf16(plain[1]), 1.2265625f);
}

TEST(RefNorm, HeadRmsNormBf16RoundsTheSquares) {
  // q = {1, 1.09375} (1.09375 = 140/128, exact in bf16), head_dim 2.
  //   q²          = {1, 1.1962890625}; the second is 153.125/128 -> bf16 153/128 = 1.1953125
  //   mean        = (1 + 1.1953125)/2 = 1.09765625 = 140.5/128, a tie -> 140/128 = 1.09375
  //   + 1e-6      -> bf16 1.09375
  //   rsqrt       = 0.95618289 = 244.78/256 -> 245/256 = 0.95703125
  //   q·rsqrt     = {0.95703125, 1.0467529 = 133.98/128 -> 134/128 = 1.046875}
  // Had the squares not been rounded: mean = 1.09814453 = 140.56/128 -> 141/128 = 1.1015625,
  // rsqrt -> 244/256 = 0.953125, q·rsqrt -> {0.953125, 133.44/128 -> 1.0390625}.
  std::vector<float> q = {1.0f, 1.09375f};
  ref::head_rmsnorm(q.data(), 1, 1, 2, 2, kEps, Round::kBf16);
  EXPECT_EQ(q[0], 0.95703125f);
  EXPECT_EQ(q[1], 1.046875f);
}

}  // namespace
}  // namespace dsv4k
