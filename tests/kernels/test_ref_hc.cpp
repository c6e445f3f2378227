// Hand-computed cases for the manifold-constrained hyper-connections (hc.h, spec §2.3, §2.6).
//
// hc_mix is fn applied to the unnormalized streams. hc_pre_finish scales the mix by
// r = rsqrt(mean(v²) + eps), forms pre = sigmoid(·) + hc_eps, post = 2·sigmoid(·) and the comb
// logits, and runs Sinkhorn (one row softmax + eps, 20 column and 19 row normalizations with
// eps inside each denominator). Uniform logits have the closed-form fixed point
// (1 - eps)/4; general logits must come out doubly stochastic; a cyclic permutation stays a
// permutation, which makes the orientation of hc_post visible: new stream b takes column b
// of C (Σ_a C[a][b]·X_a), and the transposed matrix gives a different result. hc_head_finish
// is the same pre mix without Sinkhorn.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/hc.h"

namespace dsv4k {
namespace {

constexpr int64_t kHc = 4;
constexpr int64_t kNMix = (2 + kHc) * kHc;  // 24: pre 4 | post 4 | comb 16

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

HcParams params(int64_t hc, int64_t dim) {
  HcParams p;
  p.hc = hc;
  p.dim = dim;
  return p;
}

TEST(RefHc, MixIsFnTimesUnnormalizedStreams) {
  // hc 2, dim 2: width 4, (2 + 2)·2 = 8 mix rows. fn rows 0..3 pick one element each; row 4
  // sums, row 5 is x0 - x1, row 6 is zero, row 7 is 2·x0 + 0.5·x3.
  const HcParams p = params(2, 2);
  const std::vector<float> fn = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1,
                                 1, 1, 1, 1, 1, -1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0.5f};
  const std::vector<float> X = {1, 2, 3, 4, 0.5f, 0, 0, -2};  // two tokens
  std::vector<float> mix(16);
  ref::hc_mix(X.data(), 2, p, fn.data(), 8, mix.data());
  const std::vector<float> want = {1, 2, 3, 4, 10, -1, 0, 4, 0.5f, 0, 0, -2, -1.5f, 0.5f, 0, 0};
  EXPECT_EQ(mix, want);
}

// Streams, mix and parameters of one token for hc_pre_finish (hc 4, dim 2).
struct PreCase {
  // X_0 = {1, 2}, X_1 = {3, 4}, X_2 = {-1, 0}, X_3 = {0, 8}: mean(v²) = 95/8 = 11.875.
  std::vector<float> X = {1, 2, 3, 4, -1, 0, 0, 8};
  std::vector<float> mix = std::vector<float>(kNMix, 0.0f);
  std::vector<float> scale = {0.5f, 0.25f, 1.0f};
  std::vector<float> base = std::vector<float>(kNMix, 0.0f);
  std::vector<float> y = std::vector<float>(2);
  std::vector<float> post = std::vector<float>(kHc);
  std::vector<float> comb = std::vector<float>(kHc * kHc);

  void run(Round round = Round::kNone) {
    ref::hc_pre_finish(X.data(), 1, params(kHc, 2), mix.data(), scale.data(), base.data(), y.data(), post.data(),
                       comb.data(), round);
  }
};

TEST(RefHc, PreAndPostWeightsMatchClosedForm) {
  PreCase c;
  const float ln3 = std::log(3.0f);
  c.mix[0] = 2.0f;  // pre_0 = sigmoid(2·r·0.5 + 0) = sigmoid(r)
  c.base[1] = ln3;  // pre_1 = sigmoid(ln 3) = 0.75
  c.base[2] = -ln3; // pre_2 = 0.25
  //                   pre_3 = sigmoid(0) = 0.5
  c.mix[kHc + 1] = 4.0f;   // post_1 = 2·sigmoid(4·r·0.25) = 2·sigmoid(r)
  c.base[kHc + 3] = ln3;   // post_3 = 2·0.75 = 1.5; post_0 = post_2 = 2·sigmoid(0) = 1
  c.run();
  const double r = 1.0 / std::sqrt(95.0 / 8.0 + 1e-6);
  const double eps = 1e-6;
  const double pre[4] = {sigmoid(r) + eps, 0.75 + eps, 0.25 + eps, 0.5 + eps};
  EXPECT_NEAR(c.post[0], 1.0, 1e-7);
  EXPECT_NEAR(c.post[1], 2.0 * sigmoid(r), 2e-7);
  EXPECT_NEAR(c.post[2], 1.0, 1e-7);
  EXPECT_NEAR(c.post[3], 1.5, 2e-7);
  // y_i = Σ_j pre_j·X_j[i]: y_0 = pre_0·1 + pre_1·3 - pre_2, y_1 = 2·pre_0 + 4·pre_1 + 8·pre_3.
  EXPECT_NEAR(c.y[0], pre[0] + 3.0 * pre[1] - pre[2], 1e-6);
  EXPECT_NEAR(c.y[1], 2.0 * pre[0] + 4.0 * pre[1] + 8.0 * pre[3], 2e-6);
  // bf16 mode rounds y only.
  PreCase b = c;
  b.run(Round::kBf16);
  EXPECT_EQ(b.y[0], round_bf16(c.y[0]));
  EXPECT_EQ(b.y[1], round_bf16(c.y[1]));
}

TEST(RefHc, SinkhornOfUniformLogitsReachesItsEpsFixedPoint) {
  // All comb logits 0: softmax gives 1/4 + eps everywhere; every normalization then maps a
  // uniform c to c/(4c + eps), whose fixed point is c = (1 - eps)/4 = 0.24999975. Without
  // eps inside the denominators it would be 0.25 (2.5e-7 away; fp32 resolves 3e-8 here).
  PreCase c;
  c.run();
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(c.comb[static_cast<size_t>(i)], (1.0 - 1e-6) / 4.0, 3e-8) << i;
}

TEST(RefHc, SinkhornOutputIsDoublyStochastic) {
  // Non-symmetric logits in [-2, 2] from the mix (scaled by r·scale[2]) and the base.
  PreCase c;
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      c.base[static_cast<size_t>(2 * kHc + 4 * a + b)] = static_cast<float>((3 * a + 7 * b) % 5 - 2);
      c.mix[static_cast<size_t>(2 * kHc + 4 * a + b)] = static_cast<float>(a - b);
    }
  }
  c.run();
  for (int a = 0; a < 4; ++a) {
    double row = 0.0;
    double col = 0.0;
    for (int b = 0; b < 4; ++b) {
      row += c.comb[static_cast<size_t>(4 * a + b)];
      col += c.comb[static_cast<size_t>(4 * b + a)];
      EXPECT_GT(c.comb[static_cast<size_t>(4 * a + b)], 0.0f);
    }
    EXPECT_NEAR(row, 1.0, 1e-5) << "row " << a;
    EXPECT_NEAR(col, 1.0, 1e-5) << "column " << a;
  }
  // The case must not be symmetric (here C[0][2] = 0.718 while C[2][0] = 0.059).
  float asymmetry = 0.0f;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      asymmetry = std::fmax(asymmetry, std::fabs(c.comb[static_cast<size_t>(4 * a + b)] -
                                                 c.comb[static_cast<size_t>(4 * b + a)]));
  EXPECT_GT(asymmetry, 0.5f);
}

TEST(RefHc, PostTakesColumnsOfAPermutationComb) {
  // Logit 20 at C[a][(a+1) mod 4]: softmax leaves ~2e-9 elsewhere, so C is the cyclic
  // permutation P (up to ~1e-6 from eps) and is far from symmetric.
  PreCase c;
  for (int a = 0; a < 4; ++a) c.base[static_cast<size_t>(2 * kHc + 4 * a + (a + 1) % 4)] = 20.0f;
  c.run();
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      EXPECT_NEAR(c.comb[static_cast<size_t>(4 * a + b)], b == (a + 1) % 4 ? 1.0 : 0.0, 1e-5) << a << "," << b;
  // hc_post: X'_b = post_b·o + Σ_a C[a][b]·X_a = post_b·o + X_{b-1} (only a = b-1 has C[a][b] = 1).
  const std::vector<float> o = {100.0f, 1000.0f};
  const std::vector<float> post = {1.0f, 2.0f, 0.0f, 0.5f};
  std::vector<float> out(8);
  ref::hc_post(o.data(), c.X.data(), post.data(), c.comb.data(), 1, params(kHc, 2), out.data(), Round::kNone);
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < 2; ++i) {
      const double want = post[static_cast<size_t>(b)] * o[static_cast<size_t>(i)] +
                          c.X[static_cast<size_t>(2 * ((b + 3) % 4) + i)];
      EXPECT_NEAR(out[static_cast<size_t>(2 * b + i)], want, 1e-3) << "stream " << b << " dim " << i;
    }
  }
  // With the transposed matrix new stream b would take X_{b+1}: a different result.
  std::vector<float> combT(16);
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) combT[static_cast<size_t>(4 * a + b)] = c.comb[static_cast<size_t>(4 * b + a)];
  std::vector<float> outT(8);
  ref::hc_post(o.data(), c.X.data(), post.data(), combT.data(), 1, params(kHc, 2), outT.data(), Round::kNone);
  EXPECT_NEAR(outT[0], 100.0 + 3.0, 1e-3);  // stream 0 takes X_1[0] = 3 instead of X_3[0] = 0
  EXPECT_GT(std::fabs(outT[0] - out[0]), 2.0f);
}

TEST(RefHc, PostSumsColumnBOfANonSymmetricComb) {
  // hc 2, dim 1; token 0: X = {1, 10}, C = [[0.5, 2], [3, 0.25]] (row a, column b),
  // post = {1, 2}, o = 100.
  //   X'_0 = 1·100 + C[0][0]·1 + C[1][0]·10 = 100 + 0.5 + 30  = 130.5
  //   X'_1 = 2·100 + C[0][1]·1 + C[1][1]·10 = 200 + 2   + 2.5 = 204.5
  // (Cᵀ would give 100 + 0.5 + 20 = 120.5 and 200 + 3 + 2.5 = 205.5.)
  // In bf16 the step on [128, 256) is 1: both are ties and go to the even 130 and 204.
  // Token 1: C = identity, post = 0: the streams pass through.
  const HcParams p = params(2, 1);
  const std::vector<float> o = {100.0f, 7.0f};
  const std::vector<float> X = {1.0f, 10.0f, -3.0f, 5.0f};
  const std::vector<float> post = {1.0f, 2.0f, 0.0f, 0.0f};
  const std::vector<float> comb = {0.5f, 2.0f, 3.0f, 0.25f, 1.0f, 0.0f, 0.0f, 1.0f};
  std::vector<float> out(4);
  ref::hc_post(o.data(), X.data(), post.data(), comb.data(), 2, p, out.data(), Round::kNone);
  EXPECT_EQ(out, (std::vector<float>{130.5f, 204.5f, -3.0f, 5.0f}));
  ref::hc_post(o.data(), X.data(), post.data(), comb.data(), 2, p, out.data(), Round::kBf16);
  EXPECT_EQ(out, (std::vector<float>{130.0f, 204.0f, -3.0f, 5.0f}));
}

TEST(RefHc, HeadFinishIsThePreMixWithoutSinkhorn) {
  // hc 4, dim 1, X = {1, 2, 3, 4}: mean(v²) = 30/4 = 7.5, r = 1/sqrt(7.500001).
  // mix = {2, 0, 0, 0}, scale 0.5, base = {0, 0, ln 3, -ln 3}:
  // pre = {sigmoid(r), 0.5, 0.75, 0.25} + 1e-6; y = pre·X = sigmoid(r) + 1 + 2.25 + 1 + 10e-6.
  const HcParams p = params(kHc, 1);
  const std::vector<float> X = {1, 2, 3, 4};
  const std::vector<float> mix = {2, 0, 0, 0};
  const float scale = 0.5f;
  const std::vector<float> base = {0.0f, 0.0f, std::log(3.0f), -std::log(3.0f)};
  float y = 0.0f;
  ref::hc_head_finish(X.data(), 1, p, mix.data(), &scale, base.data(), &y, Round::kNone);
  const double r = 1.0 / std::sqrt(7.5 + 1e-6);
  EXPECT_NEAR(y, sigmoid(r) + 4.25 + 10e-6, 2e-6);
  float yb = 0.0f;
  ref::hc_head_finish(X.data(), 1, p, mix.data(), &scale, base.data(), &yb, Round::kBf16);
  EXPECT_EQ(yb, round_bf16(y));
}

}  // namespace
}  // namespace dsv4k
