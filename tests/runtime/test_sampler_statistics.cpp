// Empirical distributions of seeded samplers against the exact probabilities: a chi-square
// statistic over many draws must stay under the 0.1% critical value. Seeds are fixed, so the
// tests are deterministic; the bound says the draw is unbiased, not merely in the support.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace dsv4 {
namespace {

using sampler_test::make_state;

// Chi-square critical values at p = 0.001 by degrees of freedom.
double chi2_critical(size_t dof) {
  static const double kTable[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59,
                                  31.26, 32.91, 34.53, 36.12, 37.70, 39.25};
  return kTable[dof];
}

// Draws `n` tokens from one sequence (the draw at step i uses the RNG at step i) and returns
// the chi-square statistic against `expected` (probabilities over the vocabulary).
double chi_square(Sampler& sampler, std::span<const float> x, const SamplingParams& p,
                  const std::vector<double>& expected, int n, uint64_t seed) {
  auto state = make_state({}, static_cast<int64_t>(x.size()), seed);
  std::vector<int> counts(x.size(), 0);
  for (int i = 0; i < n; ++i) {
    int32_t t = sampler.sample(x, p, state).token;
    ++counts[static_cast<size_t>(t)];
    state.append(t);
  }
  double chi2 = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (expected[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " is outside the support";
      continue;
    }
    double e = expected[i] * n;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi2;
}

const std::vector<float> kLogits = {1.0f, 0.2f, -0.5f, 2.0f, 1.5f, 0.0f, -1.0f, 0.7f, 1.1f, -2.0f};

TEST(SamplerStatistics, TemperatureOneMatchesSoftmax) {
  Sampler sampler({10, {}});
  SamplingParams p;  // T = 1, no truncation: the whole-vocabulary path
  std::vector<double> expected = sampler_test::softmax(kLogits, 1.0);
  for (uint64_t seed : {1ull, 2ull, 3ull}) {
    EXPECT_LT(chi_square(sampler, kLogits, p, expected, 100000, seed), chi2_critical(9)) << "seed " << seed;
  }
}

TEST(SamplerStatistics, TemperatureScalesTheLogits) {
  Sampler sampler({10, {}});
  SamplingParams p;
  p.temperature = 0.6;
  EXPECT_LT(chi_square(sampler, kLogits, p, sampler_test::softmax(kLogits, 0.6), 100000, 4), chi2_critical(9));
}

TEST(SamplerStatistics, TruncatedPathsMatchTheRenormalizedDistribution) {
  Sampler sampler({10, {}});
  std::vector<double> full = sampler_test::softmax(kLogits, 1.0);
  struct Case {
    int32_t top_k;
    double top_p;
    double min_p;
  };
  for (const Case& c : {Case{4, 1.0, 0.0}, Case{0, 0.8, 0.0}, Case{0, 1.0, 0.3}, Case{6, 0.9, 0.1}}) {
    SamplingParams p;
    p.top_k = c.top_k;
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    auto ref = sampler_test::reference_support(kLogits, 1.0, c.top_k, c.top_p, c.min_p);
    ASSERT_FALSE(ref.ambiguous);
    std::vector<double> expected(10, 0.0);
    double kept = 0.0;
    for (int32_t t : ref.tokens) kept += full[static_cast<size_t>(t)];
    for (int32_t t : ref.tokens) expected[static_cast<size_t>(t)] = full[static_cast<size_t>(t)] / kept;
    EXPECT_LT(chi_square(sampler, kLogits, p, expected, 60000, 5), chi2_critical(ref.tokens.size() - 1))
        << "top_k " << c.top_k << " top_p " << c.top_p << " min_p " << c.min_p;
  }
}

}  // namespace
}  // namespace dsv4
