// The sampler's vocabulary passes against plain scalar versions: the float exponential's
// accuracy, max / argmax with NaN and ties, block sums, and top-k selection with ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "runtime/sampler_kernels.h"
#include "sampler_test_util.h"

namespace dsv4 {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SamplerKernels, ExpIsAccurateOnItsDomainAndZeroOutside) {
  double worst = 0.0;
  for (double y = -87.0; y <= 0.0; y += 1.0 / 1024) {
    auto yf = static_cast<float>(y);
    double exact = std::exp(static_cast<double>(yf));
    double rel = std::fabs(static_cast<double>(sampler_exp_nonpositive(yf)) - exact) / exact;
    worst = std::max(worst, rel);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(sampler_exp_nonpositive(0.0f), 1.0f);
  EXPECT_EQ(sampler_exp_nonpositive(-88.0f), 0.0f);
  EXPECT_EQ(sampler_exp_nonpositive(-kInf), 0.0f);
  EXPECT_EQ(sampler_exp_nonpositive(std::numeric_limits<float>::quiet_NaN()), 0.0f);
}

TEST(SamplerKernels, MaxAndArgmaxSkipNaNAndPreferTheLowestIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t n : {1u, 15u, 16u, 17u, 100u, 1000u}) {
    std::vector<float> x = sampler_test::random_logits(static_cast<int64_t>(n), n);
    x[0] = nan;
    if (n > 3) x[n / 2] = x[n - 1] = 50.0f;
    float m = max_logit(x);
    float expected = -kInf;
    for (float v : x) if (v > expected) expected = v;
    EXPECT_EQ(m, expected) << n;
    if (n == 1) continue;  // only a NaN: argmax is 0 by definition
    int32_t arg = argmax_logit(x);
    EXPECT_EQ(x[static_cast<size_t>(arg)], expected) << n;
    for (int32_t i = 0; i < arg; ++i) EXPECT_NE(x[static_cast<size_t>(i)], expected);
  }
  std::vector<float> all_nan(5, nan);
  EXPECT_EQ(max_logit(all_nan), -kInf);
  EXPECT_EQ(argmax_logit(all_nan), 0);
}

TEST(SamplerKernels, ExpWeightsAndBlockSums) {
  for (int64_t n : {1, 255, 256, 257, 1000, 129280}) {
    std::vector<float> x = sampler_test::random_logits(n, static_cast<uint64_t>(n), 3.0);
    float m = max_logit(x);
    std::vector<float> w(static_cast<size_t>(n));
    std::vector<double> blocks(static_cast<size_t>((n + kSamplerBlock - 1) / kSamplerBlock));
    const float inv_t = 1.0f / 0.7f;
    double total = exp_weights(x, m, inv_t, w.data(), blocks.data());
    double exact = 0.0;
    for (size_t i = 0; i < w.size(); ++i) {
      // SIMD lanes and the scalar function round identically (no FMA contraction).
      ASSERT_EQ(w[i], sampler_exp_nonpositive((x[i] - m) * inv_t)) << i;
      double y = (static_cast<double>(x[i]) - m) / 0.7;
      double e = std::exp(y);
      // Float rounding of x - m, of 1/T and of the product moves the argument by ~2e-7 |y|.
      EXPECT_NEAR(w[i], e, (3e-7 + 2e-7 * std::fabs(y)) * e) << i;
      exact += e;
    }
    EXPECT_NEAR(total, exact, 1e-6 * exact);
    EXPECT_EQ(total, std::accumulate(blocks.begin(), blocks.end(), 0.0));
    EXPECT_NEAR(sum_exp(x, m), std::accumulate(x.begin(), x.end(), 0.0, [&](double s, float v) {
                  return s + std::exp(static_cast<double>(v) - m);
                }), 1e-6 * exact);
  }
}

TEST(SamplerKernels, SelectTopKMatchesPartialSortWithTies) {
  for (int64_t n : {1, 10, 1500, 5000, 129280}) {
    std::vector<float> x = sampler_test::random_logits(n, static_cast<uint64_t>(n) + 7, 2.0);
    // Quantize so many logits tie, and plant NaN / -inf.
    for (float& v : x) v = std::round(v * 4.0f) / 4.0f;
    x[0] = std::numeric_limits<float>::quiet_NaN();
    if (n > 2) x[n - 1] = -kInf;
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto key = [&](int32_t i) { float v = x[static_cast<size_t>(i)]; return v == v ? v : -kInf; };
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return key(a) > key(b); });
    std::vector<ScoredToken> scratch, out;
    for (int64_t k : {int64_t{1}, int64_t{2}, int64_t{20}, int64_t{700}, int64_t{3000}, n}) {
      select_top_k(x, k, &scratch, &out);
      size_t expected = static_cast<size_t>(std::min(k, n));
      ASSERT_EQ(out.size(), expected);
      for (size_t j = 0; j < expected; ++j) {
        ASSERT_EQ(out[j].token, order[j]) << "n " << n << " k " << k << " rank " << j;
        ASSERT_EQ(out[j].logit, key(order[j]));
      }
    }
  }
}

}  // namespace
}  // namespace dsv4
