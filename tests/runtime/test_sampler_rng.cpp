// SamplerRng: Philox4x32-10 against Random123's published known-answer vectors, and the
// properties the engine relies on (pure function of (seed, choice, step), range [0, 1)).
#include <gtest/gtest.h>

#include <set>

#include "runtime/sampler_rng.h"

namespace dsv4 {
namespace {

TEST(SamplerRng, PhiloxMatchesRandom123KnownAnswers) {
  // Random123 kat_vectors, "philox4x32 10" lines: counter, key -> output.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(SamplerRng, UniformIsAPureFunctionOfSeedChoiceAndStep) {
  SamplerRng a(1234, 0);
  SamplerRng b(1234, 0);
  // Any order of evaluation gives the same values.
  double a7 = a.uniform(7);
  for (uint64_t step = 0; step < 100; ++step) (void)b.uniform(99 - step);
  EXPECT_EQ(a7, b.uniform(7));
  EXPECT_EQ(a.uniform(0), b.uniform(0));
}

TEST(SamplerRng, StreamsDifferByChoiceSeedAndStep) {
  std::set<double> seen;
  for (uint64_t seed : {0ull, 1ull, 0xffffffffffffffffull}) {
    for (uint32_t choice = 0; choice < 4; ++choice) {
      for (uint64_t step = 0; step < 16; ++step) seen.insert(SamplerRng(seed, choice).uniform(step));
    }
  }
  EXPECT_EQ(seen.size(), 3u * 4u * 16u);
  // High step bits reach the counter too.
  EXPECT_NE(SamplerRng(5, 0).uniform(1), SamplerRng(5, 0).uniform(1 + (uint64_t{1} << 32)));
}

TEST(SamplerRng, UniformRangeAndMoments) {
  SamplerRng rng(42, 3);
  constexpr int kN = 200000;
  double sum = 0.0, sum_sq = 0.0;
  int bins[10] = {};
  for (int i = 0; i < kN; ++i) {
    double u = rng.uniform(static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
    ++bins[static_cast<int>(u * 10)];
  }
  EXPECT_NEAR(sum / kN, 0.5, 0.005);
  EXPECT_NEAR(sum_sq / kN - (sum / kN) * (sum / kN), 1.0 / 12.0, 0.002);
  double chi2 = 0.0;
  for (int b : bins) chi2 += (b - kN / 10.0) * (b - kN / 10.0) / (kN / 10.0);
  EXPECT_LT(chi2, 27.9);  // 9 degrees of freedom, p = 0.001
}

}  // namespace
}  // namespace dsv4
