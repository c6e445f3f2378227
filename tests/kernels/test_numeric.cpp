// Hand-computed cases for the scalar number formats (numeric.h). The exhaustive
// comparison against an independent library lives in test_codec_fixtures.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "dsv4k/numeric.h"

namespace dsv4k {
namespace {

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3F80);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3F82);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(E4M3, DecodesKnownCodes) {
  EXPECT_EQ(e4m3_to_f32(0x00), 0.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), 0.001953125f);  // 2^-9, smallest subnormal
  EXPECT_EQ(e4m3_to_f32(0x08), 0.015625f);     // 2^-6, smallest normal
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0xFE), -448.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7F)));
}

TEST(E4M3, EncodesWithTiesToEvenAndSaturation) {
  EXPECT_EQ(f32_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);   // halfway 1 and 1.125 -> even mantissa (1.0)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3A);   // halfway 1.125 and 1.25 -> 1.25
  EXPECT_EQ(f32_to_e4m3(1000.0f), 0x7E);   // saturates to 448
  EXPECT_EQ(f32_to_e4m3(-1000.0f), 0xFE);
  EXPECT_EQ(f32_to_e4m3(0.0009765625f), 0x00);  // 2^-10: halfway 0 and 2^-9 -> 0
  EXPECT_EQ(f32_to_e4m3(0.0029296875f), 0x02);  // 1.5·2^-9 -> 2·2^-9
  EXPECT_EQ(f32_to_e4m3(0.0146484375f), 0x08);  // 7.5·2^-9 rounds up into the normals
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7F) == 0x7F) continue;
    EXPECT_EQ(f32_to_e4m3(e4m3_to_f32(static_cast<uint8_t>(c))), c) << c;
  }
}

TEST(E2M1, GridAndTies) {
  const float grid[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (uint8_t c = 0; c < 8; ++c) {
    EXPECT_EQ(e2m1_to_f32(c), grid[c]);
    EXPECT_EQ(e2m1_to_f32(static_cast<uint8_t>(c | 8)), -grid[c]);
    EXPECT_EQ(f32_to_e2m1(grid[c]), c);
  }
  EXPECT_EQ(f32_to_e2m1(2.5f), 4);    // -> 2
  EXPECT_EQ(f32_to_e2m1(5.0f), 6);    // -> 4
  EXPECT_EQ(f32_to_e2m1(0.25f), 0);   // -> 0
  EXPECT_EQ(f32_to_e2m1(0.75f), 2);   // -> 1
  EXPECT_EQ(f32_to_e2m1(1.25f), 2);   // -> 1
  EXPECT_EQ(f32_to_e2m1(1.75f), 4);   // -> 2
  EXPECT_EQ(f32_to_e2m1(3.5f), 6);    // -> 4
  EXPECT_EQ(f32_to_e2m1(100.0f), 7);  // saturates to 6
  EXPECT_EQ(f32_to_e2m1(-0.1f), 8);   // -0 keeps its sign
}

TEST(E8M0, PowersOfTwo) {
  EXPECT_EQ(e8m0_to_f32(127), 1.0f);
  EXPECT_EQ(e8m0_to_f32(128), 2.0f);
  EXPECT_EQ(e8m0_to_f32(120), 0.0078125f);
  EXPECT_EQ(e8m0_to_f32(0), std::ldexp(1.0f, -127));
  EXPECT_TRUE(std::isnan(e8m0_to_f32(255)));
}

TEST(ScaleRule, CeilLog2OfAmaxOverMax) {
  // amax 448 -> 448/448 = 1 exactly? fp32(1/448)·448 rounds to 1.0000000x; the rule sees the bits.
  EXPECT_EQ(pow2_scale_exponent(448.0f, kE4M3AmaxFloor, kE4M3InvMax), ceil_log2_bits(448.0f * kE4M3InvMax));
  EXPECT_EQ(pow2_scale_exponent(6.0f, kE2M1AmaxFloor, kE2M1InvMax), ceil_log2_bits(6.0f * kE2M1InvMax));
  EXPECT_EQ(ceil_log2_bits(1.0f), 0);
  EXPECT_EQ(ceil_log2_bits(1.5f), 1);
  EXPECT_EQ(ceil_log2_bits(0.5f), -1);
  EXPECT_EQ(ceil_log2_bits(0.75f), 0);
  // amax 1 -> 1/448 = 2^-8.8 -> exponent -8: s = 2^-8 so 1/s = 256 <= 448.
  EXPECT_EQ(pow2_scale_exponent(1.0f, kE4M3AmaxFloor, kE4M3InvMax), -8);
  // Tiny amax is clamped to 1e-4 first.
  EXPECT_EQ(pow2_scale_exponent(0.0f, kE4M3AmaxFloor, kE4M3InvMax), ceil_log2_bits(1e-4f * kE4M3InvMax));
}

}  // namespace
}  // namespace dsv4k
