// Percentiles and summaries of `dsv4 bench serve` on hand-computed cases. The expected
// values are what numpy.percentile (default method "linear") returns for the same inputs.
#include <gtest/gtest.h>

#include <vector>

#include "app/latency_stats.h"

namespace dsv4 {
namespace {

TEST(LatencyStats, PercentileMatchesNumpyLinear) {
  const std::vector<double> x = {1, 2, 3, 4};
  // np.percentile([1,2,3,4], [0, 25, 50, 75, 90, 99, 100]) -> 1, 1.75, 2.5, 3.25, 3.7, 3.97, 4
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 25), 1.75);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 75), 3.25);
  EXPECT_NEAR(percentile_sorted(x, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile_sorted(x, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 100), 4.0);
}

TEST(LatencyStats, PercentileEdgeCases) {
  EXPECT_EQ(percentile_sorted({}, 50), 0.0);
  const std::vector<double> one = {7.5};
  EXPECT_EQ(percentile_sorted(one, 0), 7.5);
  EXPECT_EQ(percentile_sorted(one, 99), 7.5);
  const std::vector<double> same = {3, 3, 3};
  EXPECT_EQ(percentile_sorted(same, 37), 3.0);  // exact, no interpolation rounding
  const std::vector<double> x = {10, 20};
  EXPECT_DOUBLE_EQ(percentile_sorted(x, -5), 10.0);  // clamped to [0, 100]
  EXPECT_DOUBLE_EQ(percentile_sorted(x, 150), 20.0);
}

TEST(LatencyStats, SummarizeUnsortedSample) {
  // Sorted: 1 2 3 4 4 10. np.mean 4, np.std (ddof 0) sqrt(50/6), np.median 3.5,
  // np.percentile(x, 99) = 9.7 (rank 0.99 * 5 = 4.95: 4 + 0.95 * (10 - 4)),
  // np.percentile(x, 90) = 7 (rank 4.5: 4 + 0.5 * 6).
  const std::vector<double> x = {10, 1, 3, 2, 4, 4};
  const std::vector<double> ps = {99, 90};
  const LatencySummary s = summarize(x, ps);
  EXPECT_EQ(s.n, 6u);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_NEAR(s.std, 2.8867513459481287, 1e-12);
  EXPECT_DOUBLE_EQ(s.median, 3.5);
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 10.0);
  ASSERT_EQ(s.percentiles.size(), 2u);
  EXPECT_EQ(s.percentiles[0].first, 99.0);
  EXPECT_NEAR(s.percentiles[0].second, 9.7, 1e-12);
  EXPECT_EQ(s.percentiles[1].first, 90.0);
  EXPECT_NEAR(s.percentiles[1].second, 7.0, 1e-12);
}

TEST(LatencyStats, SummarizeEmptyIsZeros) {
  const std::vector<double> ps = {99};
  const LatencySummary s = summarize({}, ps);
  EXPECT_EQ(s.n, 0u);
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.median, 0.0);
  ASSERT_EQ(s.percentiles.size(), 1u);
  EXPECT_EQ(s.percentiles[0].second, 0.0);
}

}  // namespace
}  // namespace dsv4
