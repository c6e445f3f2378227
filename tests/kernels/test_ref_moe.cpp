// Hand-computed cases for MoE routing and the clamped SwiGLU (moe.h, spec §2.5).
//
// Logits above the softplus threshold 20 make the scores exact square roots (softplus(x) = x
// there), so routing weights are small fractions: s = {5, 6, 7, 8, 9, 10} for logits
// {25, 36, 49, 64, 81, 100}. The cases pin down: the threshold (100 would overflow exp in
// fp32 without it), that the bias only changes which experts are chosen while the weights
// come from the unbiased scores times route_scale, ties to the lower id, ids output in
// ascending order whatever the selection order, hash routing with the same weights, and the
// SwiGLU clamps (gate from above only, up on both sides) and routing weight.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/moe.h"

namespace dsv4k {
namespace {

TEST(RefMoe, SqrtSoftplusUsesThreshold20) {
  // x <= 20: sqrt(log1p(e^x)); x > 20: sqrt(x).
  EXPECT_NEAR(ref::sqrt_softplus(0.0f), std::sqrt(std::log(2.0)), 1e-7);
  EXPECT_NEAR(ref::sqrt_softplus(-20.0f), std::sqrt(std::log1p(std::exp(-20.0))), 1e-10);
  EXPECT_NEAR(ref::sqrt_softplus(3.0f), std::sqrt(std::log1p(std::exp(3.0))), 1e-6);
  EXPECT_NEAR(ref::sqrt_softplus(20.0f), std::sqrt(20.0), 1e-6);
  EXPECT_EQ(ref::sqrt_softplus(20.25f), 4.5f);
  EXPECT_EQ(ref::sqrt_softplus(100.0f), 10.0f);  // e^100 is inf in fp32; the threshold avoids it
}

const std::vector<float> kLogits = {25, 36, 49, 64, 81, 100};  // s = 5, 6, 7, 8, 9, 10

RouteParams params() {
  RouteParams p;
  p.n_experts = 6;
  p.top_k = 2;
  p.route_scale = 1.5f;
  return p;
}

TEST(RefMoe, TopKWithoutBiasOutputsAscendingIds) {
  // Best scores: expert 5 (10) then 4 (9); output ids ascending {4, 5},
  // weights 1.5·{9, 10}/19.
  std::vector<int32_t> ids(2);
  std::vector<float> w(2);
  ref::route_topk(kLogits.data(), 1, params(), nullptr, ids.data(), w.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{4, 5}));
  EXPECT_NEAR(w[0], 1.5 * 9.0 / 19.0, 1e-6);
  EXPECT_NEAR(w[1], 1.5 * 10.0 / 19.0, 1e-6);
}

TEST(RefMoe, BiasSelectsButWeightsUseUnbiasedScores) {
  // bias = {+10, 0, 0, 0, 0, -5}: keys {15, 6, 7, 8, 9, 5} -> experts 0 and 4.
  // Weights from s (not s + bias): 1.5·{5, 9}/14 = {0.53571429, 0.96428571}.
  const std::vector<float> bias = {10, 0, 0, 0, 0, -5};
  std::vector<int32_t> ids(2);
  std::vector<float> w(2);
  ref::route_topk(kLogits.data(), 1, params(), bias.data(), ids.data(), w.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 4}));
  EXPECT_NEAR(w[0], 1.5 * 5.0 / 14.0, 1e-6);
  EXPECT_NEAR(w[1], 1.5 * 9.0 / 14.0, 1e-6);
}

TEST(RefMoe, TiesGoToTheLowerId) {
  // bias = {4, 0, 0, 0, 0, -1}.
  // Token 0: keys {9, 6, 7, 8, 9, 9}: a three-way tie at 9 -> experts 0 and 4.
  // Token 1 (all logits 30, s = √30 = 5.477): keys {9.477, 5.477 ×4, 4.477}: expert 0, then
  //   a four-way tie among experts 1..4 -> expert 1. Equal scores: weights 0.75 each.
  std::vector<float> logits = kLogits;
  logits.insert(logits.end(), 6, 30.0f);
  const std::vector<float> bias = {4, 0, 0, 0, 0, -1};
  std::vector<int32_t> ids(4);
  std::vector<float> w(4);
  ref::route_topk(logits.data(), 2, params(), bias.data(), ids.data(), w.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 4, 0, 1}));
  EXPECT_NEAR(w[0], 1.5 * 5.0 / 14.0, 1e-6);
  EXPECT_NEAR(w[2], 0.75, 1e-6);
  EXPECT_NEAR(w[3], 0.75, 1e-6);
}

TEST(RefMoe, HashRoutingTakesTableRowsWithTheSameWeights) {
  // Token 0's table row {5, 0} -> ids {0, 5}, weights 1.5·{5, 10}/15 = {0.5, 1.0}.
  // Token 1's row {3, 2} on logits 30 everywhere -> ids {2, 3}, weights {0.75, 0.75}.
  std::vector<float> logits = kLogits;
  logits.insert(logits.end(), 6, 30.0f);
  const std::vector<int64_t> table = {5, 0, 3, 2};
  std::vector<int32_t> ids(4);
  std::vector<float> w(4);
  ref::route_hash(logits.data(), 2, params(), table.data(), ids.data(), w.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 5, 2, 3}));
  EXPECT_NEAR(w[0], 0.5, 1e-6);
  EXPECT_NEAR(w[1], 1.0, 1e-6);
  EXPECT_NEAR(w[2], 0.75, 1e-6);
  EXPECT_NEAR(w[3], 0.75, 1e-6);
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }

TEST(RefMoe, SwigluClampsGateFromAboveAndUpBothSides) {
  // limit 10. Token 0 (weight 0.5), g/u rows 4 apart, h rows 5 apart:
  //   c0: g 20 -> 10, u 20 -> 10:   0.5·silu(10)·10
  //   c1: g -20 stays (no lower clamp), u -20 -> -10: 0.5·silu(-20)·(-10) = 2.06e-7
  //       (a gate clamped at -10 would give 0.5·silu(-10)·(-10) = 2.27e-3)
  //   c2: g 1, u -3: 0.5·silu(1)·(-3)
  // Token 1 without weights (shared expert, weight 1): c0: g 2, u 0.5 -> silu(2)·0.5.
  const std::vector<float> g = {20, -20, 1, 99, 2, 0, 0, 99};
  const std::vector<float> u = {20, -20, -3, 99, 0.5f, 0, 0, 99};
  const std::vector<float> weight = {0.5f, 1.0f};
  std::vector<float> h(10, -1.0f);
  ref::swiglu(g.data(), u.data(), 2, 3, 4, weight.data(), 10.0f, h.data(), 5, Round::kNone);
  EXPECT_NEAR(h[0], 0.5 * silu(10.0) * 10.0, 1e-5);
  EXPECT_NEAR(h[1], 0.5 * silu(-20.0) * -10.0, 1e-12);
  EXPECT_NEAR(h[2], 0.5 * silu(1.0) * -3.0, 1e-6);
  EXPECT_EQ(h[3], -1.0f);  // padding untouched
  EXPECT_NEAR(h[5], silu(2.0) * 0.5, 1e-6);
  EXPECT_EQ(h[6], 0.0f);
  std::vector<float> shared(10, -1.0f);
  ref::swiglu(g.data(), u.data(), 2, 3, 4, nullptr, 10.0f, shared.data(), 5, Round::kNone);
  EXPECT_NEAR(shared[0], silu(10.0) * 10.0, 2e-5);
  EXPECT_NEAR(shared[5], silu(2.0) * 0.5, 1e-6);
}

TEST(RefMoe, SwigluRoundsItsOutputToBf16) {
  // g 10, u 10, weight 1: silu(10)·10 = 99.9546 -> bf16 step 0.5 on [64, 128) -> 100.
  const float g = 10.0f, u = 10.0f;
  float h = 0.0f;
  ref::swiglu(&g, &u, 1, 1, 1, nullptr, 10.0f, &h, 1, Round::kBf16);
  EXPECT_EQ(h, 100.0f);
}

}  // namespace
}  // namespace dsv4k
