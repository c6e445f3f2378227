// Hand-computed cases for the rotary embedding (rope.h, spec §2.1 and §2.4.3).
//
// Frequencies: plain f_k = base^(-2k/64) for base 10000, and base 160000 with YaRN (factor
// 16, original context 65536, beta_fast 32, beta_slow 1), where the correction range is
// lo = floor(15.45) = 15 and hi = ceil(24.71) = 25: k <= 15 untouched, k >= 25 divided by 16,
// a linear blend (k - 15)/10 between. Each value is checked against the closed form in
// double, and the validation table printed in the spec against its own 6-digit precision.
// Table: the angle is an fp32 product of fp32(pos) and f_k. Apply: interleaved pairs
// (r[2k], r[2k+1]) on the trailing dims only, per row its own table row; the inverse undoes
// the forward rotation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/rope.h"

namespace dsv4k {
namespace {

constexpr int64_t kRopeDim = 64;
constexpr int64_t kNFreq = kRopeDim / 2;

// f_k = base^(-2k/64) in double.
double plain_freq(double base, int64_t k) { return std::pow(base, -2.0 * static_cast<double>(k) / kRopeDim); }

// The spec's YaRN blend for lo = 15, hi = 25, factor 16.
double yarn_freq(int64_t k) {
  const double f = plain_freq(160000.0, k);
  const double ramp = std::fmin(std::fmax((static_cast<double>(k) - 15.0) / 10.0, 0.0), 1.0);
  return f / 16.0 * ramp + f * (1.0 - ramp);
}

YarnParams flash_yarn() {
  YarnParams y;
  y.factor = 16.0;
  y.original_max_position = 65536.0;
  y.beta_fast = 32.0;
  y.beta_slow = 1.0;
  return y;
}

// |ours - printed| within half a unit of the printed value's 6th significant digit.
void expect_matches_printed(float ours, double printed, int64_t k) {
  const double unit = std::pow(10.0, std::floor(std::log10(printed)) - 5.0);
  EXPECT_NEAR(ours, printed, 0.5 * unit + 1e-7 * printed) << "k = " << k;
}

TEST(RefRope, PlainFrequenciesBase10000) {
  std::vector<float> f(kNFreq);
  ref::rope_frequencies(kRopeDim, 10000.0, nullptr, f.data());
  for (int64_t k = 0; k < kNFreq; ++k)
    EXPECT_NEAR(f[static_cast<size_t>(k)] / plain_freq(10000.0, k), 1.0, 1e-6) << "k = " << k;
  // Spec §2.4.3: f_0 = 1, f_8 = 0.1, f_16 = 0.01, f_31 = 1.33352e-4.
  EXPECT_EQ(f[0], 1.0f);
  expect_matches_printed(f[8], 0.1, 8);
  expect_matches_printed(f[16], 0.01, 16);
  expect_matches_printed(f[31], 1.33352e-4, 31);
}

TEST(RefRope, YarnFrequenciesBase160000) {
  const YarnParams yarn = flash_yarn();
  std::vector<float> f(kNFreq);
  ref::rope_frequencies(kRopeDim, 160000.0, &yarn, f.data());
  std::vector<float> plain(kNFreq);
  ref::rope_frequencies(kRopeDim, 160000.0, nullptr, plain.data());
  for (int64_t k = 0; k < kNFreq; ++k) {
    const size_t i = static_cast<size_t>(k);
    EXPECT_NEAR(f[i] / yarn_freq(k), 1.0, 1e-6) << "k = " << k;
    // lo = 15: everything up to k = 15 keeps its plain frequency bit for bit.
    if (k <= 15) {
      EXPECT_EQ(f[i], plain[i]) << "k = " << k;
    }
    // hi = 25: from k = 25 on the frequency is divided by the factor 16.
    if (k >= 25) {
      EXPECT_NEAR(f[i] / (plain[i] / 16.0), 1.0, 1e-6) << "k = " << k;
    }
  }
  // Inside the ramp: k = 16 blends 1/10 of the interpolated value, k = 24 9/10 of it.
  EXPECT_NEAR(f[16] / (plain[16] * (0.1 / 16.0 + 0.9)), 1.0, 1e-6);
  EXPECT_NEAR(f[24] / (plain[24] * (0.9 / 16.0 + 0.1)), 1.0, 1e-6);
  // f_16 = 160000^-0.5 · 0.90625 = 2.265625e-3 and f_24 = 160000^-0.75 · 0.15625 = 1.953125e-5
  // exactly in decimal: the spec prints them as 2.26562e-3 and 1.95313e-5.
  EXPECT_NEAR(f[16], 2.265625e-3, 2.265625e-3 * 1e-6);
  EXPECT_NEAR(f[24], 1.953125e-5, 1.953125e-5 * 1e-6);
  // Spec §2.4.3 validation table.
  const struct {
    int64_t k;
    double value;
  } table[] = {{0, 1.0},          {8, 0.05},         {15, 3.63554e-3}, {16, 2.26562e-3},
               {20, 2.96978e-4},  {24, 1.95313e-5},  {25, 5.37231e-6}, {31, 5.68053e-7}};
  for (const auto& t : table) expect_matches_printed(f[static_cast<size_t>(t.k)], t.value, t.k);
}

TEST(RefRope, YarnWithFactorOneOrNoOriginalContextIsPlain) {
  std::vector<float> plain(kNFreq);
  ref::rope_frequencies(kRopeDim, 160000.0, nullptr, plain.data());
  YarnParams off = flash_yarn();
  off.factor = 1.0;
  std::vector<float> f(kNFreq);
  ref::rope_frequencies(kRopeDim, 160000.0, &off, f.data());
  EXPECT_EQ(f, plain);
}

TEST(RefRope, TableAngleIsAnFp32Product) {
  // f = {1, 0.5, 0.3f}; positions {0, 3, 1000003}.
  // For 1000003·0.3f the exact product is 300000.9119; fp32 keeps a step of 2^-5 there and
  // rounds to 300000.90625, so cos/sin use that angle (its sine differs from the exact
  // angle's by 3.9e-3).
  const std::vector<float> f = {1.0f, 0.5f, 0.3f};
  const std::vector<int64_t> pos = {0, 3, 1000003};
  std::vector<float> c(9), s(9);
  ref::rope_table(pos.data(), 3, f.data(), 3, c.data(), s.data());
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t k = 0; k < 3; ++k) {
      const size_t at = static_cast<size_t>(i * 3 + k);
      const float theta = static_cast<float>(static_cast<double>(static_cast<float>(pos[static_cast<size_t>(i)])) *
                                             f[static_cast<size_t>(k)]);
      EXPECT_NEAR(c[at], std::cos(static_cast<double>(theta)), 1e-6) << i << "," << k;
      EXPECT_NEAR(s[at], std::sin(static_cast<double>(theta)), 1e-6) << i << "," << k;
    }
  }
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(s[0], 0.0f);
  EXPECT_EQ(static_cast<float>(1000003.0 * static_cast<double>(0.3f)), 300000.90625f);
  EXPECT_GT(std::fabs(s[8] - std::sin(1000003.0 * static_cast<double>(0.3f))), 1e-3);
}

TEST(RefRope, ApplyRotatesInterleavedPairsOfTheTrailingDims) {
  // head_dim 8 with the rope on the trailing 4 dims (offset 4): pairs (x4, x5) and (x6, x7).
  // Row 0: pair 0 by 90° (cos 0, sin 1): (a, b) -> (-b, a); pair 1 by 0°: unchanged.
  // Row 1: pair 0 by 180°: (a, b) -> (-a, -b); pair 1 by 90°.
  // A neox (split-halves) rotation would pair (x4, x6) and (x5, x7) instead.
  const std::vector<float> cos_t = {0.0f, 1.0f, -1.0f, 0.0f};
  const std::vector<float> sin_t = {1.0f, 0.0f, 0.0f, 1.0f};
  // 2 rows × 2 heads × 8, rows 17 apart (one padding value), heads 8 apart.
  std::vector<float> x(34);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
  const std::vector<float> before = x;
  ref::rope_apply(x.data(), 2, 17, 2, 8, 4, cos_t.data(), sin_t.data(), 2, false, Round::kNone);
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t h = 0; h < 2; ++h) {
      const size_t o = static_cast<size_t>(r * 17 + h * 8);
      for (size_t i = 0; i < 4; ++i) EXPECT_EQ(x[o + i], before[o + i]);  // nope dims untouched
      const float a0 = before[o + 4], b0 = before[o + 5], a1 = before[o + 6], b1 = before[o + 7];
      if (r == 0) {
        EXPECT_EQ(x[o + 4], -b0);
        EXPECT_EQ(x[o + 5], a0);
        EXPECT_EQ(x[o + 6], a1);
        EXPECT_EQ(x[o + 7], b1);
      } else {
        EXPECT_EQ(x[o + 4], -a0);
        EXPECT_EQ(x[o + 5], -b0);
        EXPECT_EQ(x[o + 6], -b1);
        EXPECT_EQ(x[o + 7], a1);
      }
    }
  }
  EXPECT_EQ(x[16], before[16]);  // row padding untouched
  // The inverse rotation by -90° on row 0, pair 0: (a, b) -> (b, -a).
  std::vector<float> y = before;
  ref::rope_apply(y.data(), 1, 17, 1, 8, 4, cos_t.data(), sin_t.data(), 2, true, Round::kNone);
  EXPECT_EQ(y[4], before[5]);
  EXPECT_EQ(y[5], -before[4]);
}

TEST(RefRope, InverseUndoesForward) {
  // Real tables (YaRN frequencies at positions 5 and 70001) on a 64-dim rope slice.
  const YarnParams yarn = flash_yarn();
  std::vector<float> f(kNFreq);
  ref::rope_frequencies(kRopeDim, 160000.0, &yarn, f.data());
  const std::vector<int64_t> pos = {5, 70001};
  std::vector<float> c(2 * kNFreq), s(2 * kNFreq);
  ref::rope_table(pos.data(), 2, f.data(), kNFreq, c.data(), s.data());
  std::vector<float> x(2 * kRopeDim);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.37f) * 3.0f;
  const std::vector<float> before = x;
  ref::rope_apply(x.data(), 2, kRopeDim, 1, kRopeDim, 0, c.data(), s.data(), kNFreq, false, Round::kNone);
  // Rotation preserves each pair's norm.
  for (size_t p = 0; p < x.size(); p += 2)
    EXPECT_NEAR(std::hypot(x[p], x[p + 1]), std::hypot(before[p], before[p + 1]), 1e-5);
  ref::rope_apply(x.data(), 2, kRopeDim, 1, kRopeDim, 0, c.data(), s.data(), kNFreq, true, Round::kNone);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], before[i], 2e-6) << i;
}

TEST(RefRope, ApplyRoundsToBf16) {
  // (1, 0) rotated by θ with cos 0.6, sin 0.8 -> (0.6, 0.8), both rounded to bf16:
  // 0.6 = 153.6/256 -> 154/256 = 0.6015625; 0.8 = 204.8/256 -> 205/256 = 0.80078125.
  const float c = 0.6f, s = 0.8f;
  std::vector<float> x = {1.0f, 0.0f};
  ref::rope_apply(x.data(), 1, 2, 1, 2, 0, &c, &s, 1, false, Round::kBf16);
  EXPECT_EQ(x[0], 0.6015625f);
  EXPECT_EQ(x[1], 0.80078125f);
}

}  // namespace
}  // namespace dsv4k
