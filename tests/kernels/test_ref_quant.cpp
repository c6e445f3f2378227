// Hand-computed cases for the reference quantizers (quant.h): blockwise FP8 quantization,
// the in-place FP8 and FP4 round trips, and the 128-point Hadamard transform.
//
// The grids and the scale rule are compared exhaustively with ml_dtypes in
// test_codec_fixtures.cpp; here a few blocks are worked through by hand so that a reader
// sees the spec's formulas (§2.1) at work: the scale 2^ceil(log2(amax/max)), the amax
// floor, the division by the scale before the rounding, saturation, ties, the block
// boundaries and the row stride, and the Sylvester ordering of the Hadamard transform.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/quant.h"

namespace dsv4k {
namespace {

constexpr float kSentinel = -12345.0f;

TEST(RefQuant, QuantizeE4M3Block128) {
  // One row, two blocks of 128. Block 0: x[0] = 1, x[1] = -0.3, x[2] = 1e-3, rest 0.
  // amax 1: 1·fp32(1/448) = 2^-8.807 -> ceil -> -8, s = 2^-8.
  //   1/s = 256 = 2^8 -> code exponent 8 + 7 = 15, mantissa 0 -> 0x78.
  //   -0.3·256 = -76.8: e4m3 has step 8 on [64, 128): 72 or 80 -> 80 = 64·1.25 -> 0x80|0x68|2 = 0xEA.
  //   1e-3·256 = 0.256: in [0.25, 0.5) the step is 2^-5: 0.25 (8/32) vs 0.28125 -> 0.25 = 2^-2 -> 0x28.
  // Block 1 is all zero: amax is floored to 1e-4, 1e-4/448 = 2^-22.09 -> s = 2^-22, codes 0.
  std::vector<float> x(256, 0.0f);
  x[0] = 1.0f;
  x[1] = -0.3f;
  x[2] = 1e-3f;
  std::vector<uint8_t> q(256, 0xAA);
  std::vector<float> s(2, kSentinel);
  ref::quantize_e4m3(x.data(), 1, 256, 256, 128, q.data(), s.data());
  EXPECT_EQ(s[0], 0.00390625f);               // 2^-8
  EXPECT_EQ(s[1], std::ldexp(1.0f, -22));
  EXPECT_EQ(q[0], 0x78);
  EXPECT_EQ(q[1], 0xEA);
  EXPECT_EQ(q[2], 0x28);
  for (int i = 3; i < 256; ++i) EXPECT_EQ(q[static_cast<size_t>(i)], 0x00) << i;
}

TEST(RefQuant, QuantizeE4M3UnderTheAmaxFloorAndAtTheTopOfTheRange) {
  // Two rows of one 64-block, rows 70 apart.
  // Row 0: every value under the floor 1e-4: x[0] = 1e-6 -> s = 2^-22 (from the floor),
  //   1e-6·2^22 = 4.194: step 0.5 on [4, 8) -> 4.0 -> exponent 2 + 7 = 9 -> 0x48.
  // Row 1: amax = 448·2^5 = 14336: 14336·fp32(1/448) rounds to exactly 32 (fp32(1/448) is
  //   1/448·(1 + 4.5e-8), and 32·(1 + 4.5e-8) is within half an ulp of 32), so s = 2^5 and
  //   14336 -> 448 (0x7E), the largest code; -14000/32 = -437.5: step 32 on
  //   [256, 448] -> 448 (437.5 is nearer 448 than 416) -> 0xFE.
  constexpr int64_t kLd = 70;
  std::vector<float> x(2 * kLd, 0.0f);
  x[0] = 1e-6f;
  x[kLd + 0] = 14336.0f;
  x[kLd + 1] = -14000.0f;
  std::vector<uint8_t> q(2 * 64, 0xAA);
  std::vector<float> s(2, kSentinel);
  ref::quantize_e4m3(x.data(), 2, 64, kLd, 64, q.data(), s.data());
  EXPECT_EQ(s[0], std::ldexp(1.0f, -22));
  EXPECT_EQ(q[0], 0x48);
  EXPECT_EQ(s[1], 32.0f);
  EXPECT_EQ(q[64 + 0], 0x7E);
  EXPECT_EQ(q[64 + 1], 0xFE);
}

TEST(RefQuant, SimulateE4M3Block64) {
  // 128 columns in two 64-blocks, row stride 130; columns 128 and 129 must stay untouched.
  // Block 0: {1, -0.3} -> s = 2^-8 (as above) -> {256, -80}·2^-8 = {1, -0.3125}.
  // Block 1: {500, 3}: 500/448 = 1.116 -> s = 2; 250: step 16 on [128, 256) -> 256 -> 512;
  //   3/2 = 1.5 is exact -> 3.
  std::vector<float> x(130, 0.0f);
  x[0] = 1.0f;
  x[1] = -0.3f;
  x[64] = 500.0f;
  x[65] = 3.0f;
  x[128] = 0.3f;
  x[129] = 1000.0f;
  ref::simulate_e4m3(x.data(), 1, 128, 130, 64);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], -0.3125f);
  EXPECT_EQ(x[64], 512.0f);
  EXPECT_EQ(x[65], 3.0f);
  EXPECT_EQ(x[128], 0.3f);
  EXPECT_EQ(x[129], 1000.0f);
}

TEST(RefQuant, SimulateE2M1Block32) {
  // Block 0, amax 3: 3·fp32(1/6) = 0.5·(1 + 3e-8) rounds to exactly 0.5, so s = 2^-1.
  //   x/s: 3 -> 6 (top of the grid); 1.1 -> 2.2 -> 2 -> 1.0; -0.6 -> -1.2 -> -1 -> -0.5;
  //   0.1 -> 0.2 -> 0 -> 0; -0.1 -> -0.2 -> -0 -> -0.0 (the sign survives);
  //   1.25 -> 2.5 (tie 2 | 3) -> 2 -> 1.0; 1.75 -> 3.5 (tie 3 | 4) -> 4 -> 2.0.
  // Block 1, amax 1: 1/6 = 2^-2.58 -> s = 2^-2.
  //   1 -> 4 -> 1; 0.3 -> 1.2 -> 1 -> 0.25; 0.9 -> 3.6 -> 4 -> 1.0; 0.7 -> 2.8 -> 3 -> 0.75;
  //   0.625 -> 2.5 (tie) -> 2 -> 0.5.
  std::vector<float> x(64, 0.0f);
  const float b0[] = {3.0f, 1.1f, -0.6f, 0.1f, -0.1f, 1.25f, 1.75f};
  const float b1[] = {1.0f, 0.3f, 0.9f, 0.7f, 0.625f};
  for (int i = 0; i < 7; ++i) x[static_cast<size_t>(i)] = b0[i];
  for (int i = 0; i < 5; ++i) x[static_cast<size_t>(32 + i)] = b1[i];
  ref::simulate_e2m1(x.data(), 1, 64, 64, 32);
  const float want0[] = {3.0f, 1.0f, -0.5f, 0.0f, -0.0f, 1.0f, 2.0f};
  const float want1[] = {1.0f, 0.25f, 1.0f, 0.75f, 0.5f};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(x[static_cast<size_t>(i)], want0[i]) << i;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(x[static_cast<size_t>(32 + i)], want1[i]) << i;
  EXPECT_TRUE(std::signbit(x[4]));
  EXPECT_FALSE(std::signbit(x[3]));
}

// H[i][j] = (-1)^popcount(i & j) in the Sylvester (natural) order.
float sylvester_sign(int64_t i, int64_t j) { return (std::popcount(static_cast<uint64_t>(i & j)) & 1) ? -1.0f : 1.0f; }

TEST(RefQuant, HadamardOfUnitVectorsIsARowOfTheSylvesterMatrix) {
  // H·e_i / √128 is column i of H scaled: y_j = (-1)^popcount(i & j)/√128. Index 3 gives
  // + - - + + - - + ...; a sequency-ordered (Walsh) transform would not.
  constexpr int64_t kLd = 130;
  std::vector<float> x(3 * kLd, 0.0f);
  const int64_t unit[3] = {0, 3, 100};
  for (int v = 0; v < 3; ++v) x[static_cast<size_t>(v * kLd + unit[v])] = 1.0f;
  x[128] = kSentinel;
  ref::hadamard128(x.data(), 3, kLd, Round::kNone);
  const double inv_sqrt = 1.0 / std::sqrt(128.0);
  for (int v = 0; v < 3; ++v)
    for (int64_t j = 0; j < 128; ++j)
      EXPECT_NEAR(x[static_cast<size_t>(v * kLd + j)], sylvester_sign(unit[v], j) * inv_sqrt, 1e-8)
          << "unit " << unit[v] << " j " << j;
  EXPECT_EQ(x[128], kSentinel);
}

TEST(RefQuant, HadamardOfAConstantConcentratesInY0AndIsAnInvolution) {
  // x_i = 1: y_0 = 128/√128 = √128, y_j = 0 for j > 0 (each other row of H sums to 0).
  std::vector<float> x(128, 1.0f);
  ref::hadamard128(x.data(), 1, 128, Round::kNone);
  EXPECT_NEAR(x[0], std::sqrt(128.0), 1e-5);
  for (int64_t j = 1; j < 128; ++j) EXPECT_EQ(x[static_cast<size_t>(j)], 0.0f) << j;
  // H/√128 is symmetric and orthogonal, so applying it twice gives back the input.
  std::vector<float> v(128);
  for (int64_t i = 0; i < 128; ++i) v[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 11) - 5.0f;
  std::vector<float> w = v;
  ref::hadamard128(w.data(), 1, 128, Round::kNone);
  ref::hadamard128(w.data(), 1, 128, Round::kNone);
  for (int64_t i = 0; i < 128; ++i) EXPECT_NEAR(w[static_cast<size_t>(i)], v[static_cast<size_t>(i)], 1e-5) << i;
}

TEST(RefQuant, HadamardRoundsItsOutputToBf16) {
  // e_0 -> 1/√128 = 0.0883883476... = 2^-4·1.41421356; bf16 keeps 7 mantissa bits:
  // 1.41421356·128 = 181.02 -> 181 -> 181·2^-11 = 0.08837890625.
  std::vector<float> x(128, 0.0f);
  x[0] = 1.0f;
  ref::hadamard128(x.data(), 1, 128, Round::kBf16);
  for (int64_t j = 0; j < 128; ++j) EXPECT_EQ(x[static_cast<size_t>(j)], 0.08837890625f) << j;
}

}  // namespace
}  // namespace dsv4k
