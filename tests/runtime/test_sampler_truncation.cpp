// Greedy, temperature, top-k, top-p and min-p: the support is checked directly (the
// distribution the sampler would draw from) against hand-built cases and against an
// independent full-sort reference, and by sampling many times with fixed seeds.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace dsv4 {
namespace {

using sampler_test::make_state;
using sampler_test::random_logits;
using sampler_test::reference_support;

// Logits whose softmax at T = 1 is exactly proportional to `probs`.
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> x;
  for (double p : probs) x.push_back(static_cast<float>(std::log(p)));
  return x;
}

std::set<int32_t> support_of(Sampler& sampler, std::span<const float> x, const SamplingParams& p) {
  auto state = make_state({}, static_cast<int64_t>(x.size()));
  SamplingDistribution d = sampler.distribution(x, p, state);
  return {d.tokens.begin(), d.tokens.end()};
}

// Tokens drawn in `n` steps of one seeded sequence.
std::set<int32_t> sampled(Sampler& sampler, std::span<const float> x, const SamplingParams& p, int n) {
  auto state = make_state({}, static_cast<int64_t>(x.size()), 77);
  std::set<int32_t> seen;
  for (int i = 0; i < n; ++i) {
    int32_t t = sampler.sample(x, p, state).token;
    seen.insert(t);
    state.append(t);
  }
  return seen;
}

TEST(SamplerGreedy, PicksArgmaxWithTiesToLowestId) {
  Sampler sampler({6, {}});
  SamplingParams p;
  p.temperature = 0.0;
  p.top_k = 3;
  p.top_p = 0.1;  // truncation does not matter for greedy
  auto state = make_state({}, 6);
  std::vector<float> x = {1.0f, 4.0f, -2.0f, 4.0f, 3.9f, 0.0f};
  EXPECT_EQ(sampler.sample(x, p, state).token, 1);
  x[1] = 3.0f;
  EXPECT_EQ(sampler.sample(x, p, state).token, 3);
  std::vector<float> big = random_logits(129280, 5);
  big[77777] = 100.0f;
  Sampler big_sampler({129280, {}});
  EXPECT_EQ(big_sampler.sample(big, p, make_state({}, 129280)).token, 77777);
}

TEST(SamplerTemperature, SmallTemperatureApproachesArgmax) {
  Sampler sampler({5, {}});
  std::vector<float> x = {1.0f, 2.0f, 2.5f, 2.49f, -1.0f};
  SamplingParams p;
  p.temperature = 1e-3;
  SamplingDistribution d = sampler.distribution(x, p, make_state({}, 5));
  ASSERT_EQ(d.probabilities.size(), 5u);
  EXPECT_GT(d.probabilities[2], 1.0 - 1e-4);
  EXPECT_EQ(sampled(sampler, x, p, 2000), std::set<int32_t>{2});
  // And T = 1 keeps the plain softmax.
  p.temperature = 1.0;
  d = sampler.distribution(x, p, make_state({}, 5));
  std::vector<double> softmax = sampler_test::softmax(x, 1.0);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(d.probabilities[i], softmax[i], 1e-6);
  p.temperature = 2.5;
  d = sampler.distribution(x, p, make_state({}, 5));
  softmax = sampler_test::softmax(x, 2.5);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(d.probabilities[i], softmax[i], 1e-6);
}

TEST(SamplerTruncation, TopKKeepsExactlyTheKBest) {
  Sampler sampler({50, {}});
  std::vector<float> x = random_logits(50, 3, 1.0);
  SamplingParams p;
  p.top_k = 5;
  std::set<int32_t> expected;
  for (int32_t t : reference_support(x, 1.0, 5, 1.0, 0.0).tokens) expected.insert(t);
  ASSERT_EQ(expected.size(), 5u);
  EXPECT_EQ(support_of(sampler, x, p), expected);
  EXPECT_EQ(sampled(sampler, x, p, 3000), expected);  // never outside, and every one is reached
}

TEST(SamplerTruncation, TopKBreaksTiesByLowestId) {
  Sampler sampler({5, {}});
  std::vector<float> x = {1.0f, 3.0f, 3.0f, 3.0f, 0.0f};
  SamplingParams p;
  p.top_k = 2;
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{1, 2}));
}

TEST(SamplerTruncation, TopPKeepsTheShortestPrefixReachingTheMass) {
  Sampler sampler({5, {}});
  std::vector<float> x = logits_for({0.05, 0.5, 0.1, 0.2, 0.15});  // ranks: 1, 3, 4, 2, 0
  SamplingParams p;
  p.top_p = 0.69;  // 0.5 + 0.2 = 0.7 reaches it
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(sampled(sampler, x, p, 2000), (std::set<int32_t>{1, 3}));
  p.top_p = 0.71;
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{1, 3, 4}));
  p.top_p = 0.3;
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{1}));
  SamplingDistribution d = sampler.distribution(x, [] {
    SamplingParams q;
    q.top_p = 0.71;
    return q;
  }(), make_state({}, 5));
  // Renormalized over the kept tokens, in rank order.
  ASSERT_EQ(d.tokens, (std::vector<int32_t>{1, 3, 4}));
  EXPECT_NEAR(d.probabilities[0], 0.5 / 0.85, 1e-6);
  EXPECT_NEAR(d.probabilities[1], 0.2 / 0.85, 1e-6);
  EXPECT_NEAR(d.probabilities[2], 0.15 / 0.85, 1e-6);
}

TEST(SamplerTruncation, TopPRenormalizesAfterTopK) {
  Sampler sampler({5, {}});
  std::vector<float> x = logits_for({0.5, 0.2, 0.15, 0.1, 0.05});
  SamplingParams p;
  p.top_p = 0.8;  // alone: 0.5, 0.7, 0.85 -> three tokens
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1, 2}));
  p.top_k = 3;  // top-k mass 0.85, target 0.68: 0.5, 0.7 -> two tokens
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1}));
}

TEST(SamplerTruncation, MinPDropsTokensBelowTheFractionOfTheTop) {
  Sampler sampler({5, {}});
  std::vector<float> x = logits_for({0.5, 0.2, 0.15, 0.1, 0.05});
  SamplingParams p;
  p.min_p = 0.25;  // keep p >= 0.125
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(sampled(sampler, x, p, 2000), (std::set<int32_t>{0, 1, 2}));
  p.min_p = 0.35;  // keep p >= 0.175
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1}));
  p.min_p = 1.0;
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0}));
  // Temperature applies first: at T = 2 the probabilities flatten, p_i / p_max = sqrt(ratio).
  p.min_p = 0.5;
  p.temperature = 2.0;  // sqrt(0.2 / 0.5) = 0.63, sqrt(0.15 / 0.5) = 0.55, sqrt(0.1 / 0.5) = 0.45
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1, 2}));
  // With top-p as well, the shorter prefix wins.
  p.temperature = 1.0;
  p.min_p = 0.25;
  p.top_p = 0.6;
  EXPECT_EQ(support_of(sampler, x, p), (std::set<int32_t>{0, 1}));
}

// The fast paths against the full-sort reference on random rows, over sizes (including the
// real vocabulary), scales and settings; exact set equality.
TEST(SamplerTruncation, MatchesFullSortReferenceOnRandomRows) {
  struct Case {
    int64_t vocab;
    double scale;
  };
  const Case cases[] = {{1, 1.0}, {7, 1.0}, {300, 0.3}, {300, 5.0}, {4099, 2.0}, {129280, 3.0}, {129280, 0.5}};
  const double temperatures[] = {0.3, 1.0, 1.7};
  const int32_t top_ks[] = {0, 1, 2, 40, 1000};
  const double top_ps[] = {1.0, 0.5, 0.9, 0.999};
  const double min_ps[] = {0.0, 0.02, 0.3};
  int n_checked = 0, n_ambiguous = 0;
  uint64_t seed = 100;
  for (const Case& c : cases) {
    Sampler sampler({c.vocab, {}});
    std::vector<float> x = random_logits(c.vocab, ++seed, c.scale);
    for (double t : temperatures) {
      for (int32_t k : top_ks) {
        for (double top_p : top_ps) {
          for (double min_p : min_ps) {
            if (c.vocab > 5000 && (t != 1.0 || min_p == 0.02)) continue;  // keep the run short
            SamplingParams p;
            p.temperature = t;
            p.top_k = k;
            p.top_p = top_p;
            p.min_p = min_p;
            auto ref = reference_support(x, t, k, top_p, min_p);
            if (ref.ambiguous) {
              ++n_ambiguous;
              continue;
            }
            std::set<int32_t> expected(ref.tokens.begin(), ref.tokens.end());
            ASSERT_EQ(support_of(sampler, x, p), expected)
                << "vocab " << c.vocab << " scale " << c.scale << " T " << t << " top_k " << k << " top_p "
                << top_p << " min_p " << min_p;
            ++n_checked;
          }
        }
      }
    }
  }
  EXPECT_GT(n_checked, 300);
  EXPECT_LT(n_ambiguous, n_checked / 20);  // only cuts within float rounding of top_p are skipped
}

TEST(SamplerTruncation, DistributionProbabilitiesAreTheRenormalizedSoftmax) {
  constexpr int64_t kVocab = 129280;
  Sampler sampler({kVocab, {}});
  std::vector<float> x = random_logits(kVocab, 8, 3.0);
  SamplingParams p;
  p.temperature = 0.8;
  p.top_p = 0.9;
  std::vector<double> softmax = sampler_test::softmax(x, 0.8);
  SamplingDistribution d = sampler.distribution(x, p, make_state({}, kVocab));
  double kept = 0.0;
  for (int32_t t : d.tokens) kept += softmax[static_cast<size_t>(t)];
  EXPECT_GE(kept, 0.9 - 1e-6);
  for (size_t j = 0; j < d.tokens.size(); ++j) {
    EXPECT_NEAR(d.probabilities[j], softmax[static_cast<size_t>(d.tokens[j])] / kept, 1e-6);
  }
}

}  // namespace
}  // namespace dsv4
