// Hand-computed cases for sparse attention with a sink (attention.h, spec §2.4.7).
//
// With two candidates whose logits differ by exactly 1 the softmax is e^0 and e^-1, so every
// output is a closed form: o = (kv_0 + e^-1·kv_1) / (1 + e^-1 + e^(sink - m)). The cases
// show that the sink is a raw logit (not multiplied by the scale) that only enlarges the
// denominator, that m is the candidates' maximum (a sink far above it is no overflow and
// logits of 1000 are fine), that -1 entries are skipped wherever they sit, that each head has
// its own sink and each query its own candidate list, and that Round::kBf16 rounds the
// probabilities to bf16 before P·V while the denominator keeps fp32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "dsv4k/attention.h"

namespace dsv4k {
namespace {

constexpr float kNoSink = -std::numeric_limits<float>::infinity();

// head_dim 2, scale 0.5. kv_0 = {0, 1}, kv_1 = {-1, 0}, kv_2 = {1000, 0}, kv_3 = {999, 0}.
// q = {2, 0}: ℓ_0 = 0.5·0 = 0, ℓ_1 = 0.5·(-2) = -1.
const std::vector<float> kKv = {0, 1, -1, 0, 2000, 0, 1998, 0};
const AttentionShape kShape{1, 2, 0.5f};

std::vector<float> attend(const std::vector<float>& q, int64_t n_q, const AttentionShape& s,
                          const std::vector<int32_t>& cand, int64_t n_cand, const std::vector<float>& sink,
                          Round round) {
  std::vector<float> out(static_cast<size_t>(n_q * s.n_heads * s.head_dim), -12345.0f);
  ref::sparse_attention(q.data(), n_q, s.n_heads * s.head_dim, s, kKv.data(), 2, cand.data(), n_cand, sink.data(),
                        out.data(), s.n_heads * s.head_dim, round);
  return out;
}

TEST(RefAttention, TwoCandidatesWithoutSink) {
  // p = {1, e^-1}; o = (kv_0 + e^-1·kv_1)/(1 + e^-1) = {-e^-1, 1}/(1 + e^-1)
  //   = {-0.26894142, 0.73105858}.
  const auto o = attend({2, 0}, 1, kShape, {0, 1}, 2, {kNoSink}, Round::kNone);
  const double e1 = std::exp(-1.0);
  EXPECT_NEAR(o[0], -e1 / (1.0 + e1), 1e-7);
  EXPECT_NEAR(o[1], 1.0 / (1.0 + e1), 1e-7);
}

TEST(RefAttention, SinkIsARawLogitThatOnlyEnlargesTheDenominator) {
  // sink 2 (not scaled by 0.5): denominator 1 + e^-1 + e^(2 - 0) = 8.75693554,
  // o = {-e^-1, 1}/8.75693554 = {-0.04200994, 0.11419519}: the same direction, smaller.
  const auto o = attend({2, 0}, 1, kShape, {0, 1}, 2, {2.0f}, Round::kNone);
  const double e1 = std::exp(-1.0);
  const double den = 1.0 + e1 + std::exp(2.0);
  EXPECT_NEAR(o[0], -e1 / den, 1e-7);
  EXPECT_NEAR(o[1], 1.0 / den, 1e-7);
  EXPECT_NEAR(o[0] / o[1], -e1, 1e-6);
}

TEST(RefAttention, MaxIsOverCandidatesAndLargeLogitsAreFine) {
  // q = {1, 0}: ℓ_2 = 0.5·2000 = 1000, ℓ_3 = 999, m = 1000. sink 1000 adds e^0 = 1:
  // o = (kv_2 + e^-1·kv_3)/(2 + e^-1). A sink of 1e30 swamps everything without overflowing.
  const auto o = attend({1, 0}, 1, kShape, {2, 3}, 2, {1000.0f}, Round::kNone);
  const double e1 = std::exp(-1.0);
  EXPECT_NEAR(o[0], (2000.0 + e1 * 1998.0) / (2.0 + e1), 1e-3);
  EXPECT_EQ(o[1], 0.0f);
  const auto z = attend({1, 0}, 1, kShape, {2, 3}, 2, {1e30f}, Round::kNone);
  EXPECT_EQ(z[0], 0.0f);
  EXPECT_FALSE(std::isnan(z[0]));
}

TEST(RefAttention, MinusOneCandidatesAreSkipped) {
  const auto ref_out = attend({2, 0}, 1, kShape, {0, 1}, 2, {0.0f}, Round::kNone);
  for (const std::vector<int32_t>& cand : {std::vector<int32_t>{-1, 0, 1, -1}, std::vector<int32_t>{0, -1, -1, 1},
                                           std::vector<int32_t>{-1, -1, 0, 1}}) {
    const auto o = attend({2, 0}, 1, kShape, cand, 4, {0.0f}, Round::kNone);
    EXPECT_EQ(o, ref_out);
  }
}

TEST(RefAttention, HeadsHaveTheirOwnSinkAndQueriesTheirOwnCandidates) {
  // Two heads: head 0 as above with sink -inf, head 1 with q = {0, 0} (all logits 0, p = 1)
  // and sink 0: o = (kv_0 + kv_1)/(1 + 1 + 1) = {-1/3, 1/3}.
  // Query 1 sees only kv_1 (plus a -1): o = kv_1 for head 0 without sink.
  const AttentionShape s{2, 2, 0.5f};
  const std::vector<float> q = {2, 0, 0, 0, 2, 0, 0, 0};
  const auto o = attend(q, 2, s, {0, 1, 1, -1}, 2, {kNoSink, 0.0f}, Round::kNone);
  const double e1 = std::exp(-1.0);
  EXPECT_NEAR(o[0], -e1 / (1.0 + e1), 1e-7);
  EXPECT_NEAR(o[1], 1.0 / (1.0 + e1), 1e-7);
  EXPECT_NEAR(o[2], -1.0 / 3.0, 1e-7);
  EXPECT_NEAR(o[3], 1.0 / 3.0, 1e-7);
  EXPECT_EQ(o[4], -1.0f);  // query 1, head 0: only kv_1, weight 1/1
  EXPECT_EQ(o[5], 0.0f);
  EXPECT_NEAR(o[6], -0.5, 1e-7);  // query 1, head 1: kv_1/(1 + e^0)
  EXPECT_EQ(o[7], 0.0f);
}

TEST(RefAttention, Bf16RoundsProbabilitiesBeforePV) {
  // p_1 = fp32 e^-1 = 0.36787945; in bf16 (step 2^-9 on [0.25, 0.5)) 188.35/512 -> 188/512
  // = 0.3671875. The denominator keeps fp32: 1 + 0.36787945 = 1.36787945.
  //   o_0 = -0.3671875/1.36787945 = -0.26843745 = -137.44·2^-9 -> bf16 -137·2^-9 = -0.267578125
  //   o_1 =  1/1.36787945         =  0.73105858 =  187.15·2^-8 -> bf16  187·2^-8 =  0.73046875
  // Rounding the exact output instead would give o_0 = -0.26894142 = -137.70·2^-9 -> -0.26953125.
  const auto o = attend({2, 0}, 1, kShape, {0, 1}, 2, {kNoSink}, Round::kBf16);
  EXPECT_EQ(o[0], -0.267578125f);
  EXPECT_EQ(o[1], 0.73046875f);
  EXPECT_NE(o[0], round_bf16(static_cast<float>(-std::exp(-1.0) / (1.0 + std::exp(-1.0)))));
}

}  // namespace
}  // namespace dsv4k
