// Hand-computed cases for the reference GEMMs (gemm.h): y = x · Wᵀ with FP8 (e4m3 + 128x128
// E8M0 block scales), FP4 (packed e2m1 + per-32 E8M0 scales), bf16 and fp32 weights.
//
// The inputs are sparse and made of exactly representable values, so every expected output
// is a short sum written out in a comment. The cases pin down what a fast kernel most easily
// gets wrong: which activation scale and which weight scale multiply each 128-wide block,
// the weight scale's row block (j / 128), the nibble order of packed FP4 (low nibble = even
// k), the per-32 FP4 scale, the orientation (W is [n, k], out × in), output strides, and
// where the result is rounded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/gemm.h"

namespace dsv4k {
namespace {

// e4m3 codes used below: sign | exponent (bias 7) << 3 | mantissa.
constexpr uint8_t kE4M3_Half = 0x30;       // 0.5  = 2^-1
constexpr uint8_t kE4M3_One = 0x38;        // 1.0
constexpr uint8_t kE4M3_OneHalfNeg = 0xBC; // -1.5 = -(1 + 4/8)
constexpr uint8_t kE4M3_Two = 0x40;        // 2.0
constexpr uint8_t kE4M3_Three = 0x44;      // 3.0  = 2 · (1 + 4/8)
constexpr uint8_t kE4M3_Four = 0x48;       // 4.0
constexpr uint8_t kE4M3_TwoNeg = 0xC0;     // -2.0
// E8M0 bytes: 2^(e - 127).
constexpr uint8_t kE8M0_Half = 126;
constexpr uint8_t kE8M0_One = 127;
constexpr uint8_t kE8M0_Two = 128;
constexpr uint8_t kE8M0_Four = 129;
constexpr uint8_t kE8M0_Eight = 130;
constexpr uint8_t kE8M0_Huge = 150;  // 2^23: a scale that must never be picked

constexpr float kSentinel = -12345.0f;

// A [129, 256] FP8 weight: rows 0..127 use scale row 0, row 128 uses scale row 1.
struct Fp8Case {
  static constexpr int64_t kN = 129;
  static constexpr int64_t kK = 256;
  std::vector<uint8_t> data = std::vector<uint8_t>(kN * kK, 0);  // e4m3 zero
  // [ceil(129/128) = 2, 256/128 = 2]
  std::vector<uint8_t> scale = {kE8M0_One, kE8M0_Four, kE8M0_Eight, kE8M0_Huge};

  Fp8Case() {
    data[0 * kK + 0] = kE4M3_Three;   // W[0][0]   = 3   (k block 0, scale 1)
    data[0 * kK + 130] = kE4M3_Half;  // W[0][130] = 0.5 (k block 1, scale 4)
    data[1 * kK + 1] = kE4M3_One;     // W[1][1]   = 1
    data[1 * kK + 130] = kE4M3_TwoNeg;  // W[1][130] = -2
    data[128 * kK + 0] = kE4M3_One;   // W[128][0] = 1   (row block 1: scale 8)
  }
  Fp8Weight weight() const { return {data.data(), scale.data(), kN, kK}; }
};

TEST(RefGemm, Fp8QuantizedAppliesBothScalesPerBlock) {
  const Fp8Case w;
  // Activations [2, 256]: x0[0] = 1, x0[130] = 2; x1[1] = -1.5. Scales [2, 2] per 128 of k.
  std::vector<uint8_t> q(2 * 256, 0);
  q[0] = kE4M3_One;
  q[130] = kE4M3_Two;
  q[256 + 1] = kE4M3_OneHalfNeg;
  const std::vector<float> sx = {0.5f, 4.0f, 2.0f, 1.0f};
  const QuantizedRows x{q.data(), sx.data(), 2, 256};
  constexpr int64_t kLdy = Fp8Case::kN + 3;
  std::vector<float> y(2 * kLdy, kSentinel);
  ref::gemm_fp8_q(x, w.weight(), y.data(), kLdy, Round::kNone);
  // y[0][0]   = (1·3)·sx[0][0]·sw[0][0] + (2·0.5)·sx[0][1]·sw[0][1] = 3·0.5·1 + 1·4·4 = 17.5
  EXPECT_EQ(y[0], 17.5f);
  // y[0][1]   = (1·0) + (2·(-2))·4·4 = -64
  EXPECT_EQ(y[1], -64.0f);
  // y[0][128] = (1·1)·0.5·sw[1][0] = 0.5·8 = 4 (row 128 uses the second row of scales)
  EXPECT_EQ(y[128], 4.0f);
  // y[1][0] = -1.5·W[0][1] = 0; y[1][1] = (-1.5·1)·sx[1][0]·sw[0][0] = -1.5·2·1 = -3
  EXPECT_EQ(y[kLdy + 0], 0.0f);
  EXPECT_EQ(y[kLdy + 1], -3.0f);
  EXPECT_EQ(y[kLdy + 128], 0.0f);
  // The padding between rows is not written.
  for (int64_t j = Fp8Case::kN; j < kLdy; ++j) EXPECT_EQ(y[j], kSentinel);
}

TEST(RefGemm, Fp8UnquantizedUsesRawActivations) {
  const Fp8Case w;
  // x rows 260 apart. 0.1f is not an e4m3 value: with no activation quantization it is used as is.
  constexpr int64_t kLdx = 260;
  std::vector<float> x(2 * kLdx, 0.0f);
  x[0] = 0.25f;
  x[130] = 3.0f;
  x[kLdx + 0] = 0.1f;
  std::vector<float> y(2 * Fp8Case::kN, kSentinel);
  ref::gemm_fp8_f(x.data(), 2, kLdx, w.weight(), y.data(), Fp8Case::kN, Round::kNone);
  // y[0][0] = 0.25·3·1 + 3·0.5·4 = 0.75 + 6 = 6.75; y[0][1] = 3·(-2)·4 = -24; y[0][128] = 0.25·1·8 = 2.
  EXPECT_EQ(y[0], 6.75f);
  EXPECT_EQ(y[1], -24.0f);
  EXPECT_EQ(y[128], 2.0f);
  // y[1][0] = fp32(0.1f · 3), the exact product rounded once.
  EXPECT_EQ(y[Fp8Case::kN + 0], static_cast<float>(static_cast<double>(0.1f) * 3.0));
  // y[1][128] = 0.1f·1·8 (exact: a power-of-two multiple).
  EXPECT_EQ(y[Fp8Case::kN + 128], 0.8f);
}

TEST(RefGemm, Fp8GroupedUsesEachGroupsColumnsRowsAndScales) {
  // Two groups of n_g = 128 rows over k_g = 3 columns each: w [256, 3], scales [2, 1].
  std::vector<uint8_t> data(256 * 3, 0);
  data[0 * 3 + 0] = kE4M3_Three;   // group 0, row 0: 3 at column 0
  data[128 * 3 + 0] = kE4M3_Four;  // group 1, row 0: 4 at column 0, 1 at column 1
  data[128 * 3 + 1] = kE4M3_One;
  const std::vector<uint8_t> scale = {kE8M0_One, kE8M0_Four};
  const std::vector<float> x = {1, 0, 0, 0, 2, 0, kSentinel};  // group 0: x[0..2], group 1: x[3..5]; ldx 7
  std::vector<float> y(257, kSentinel);                       // ldy 257: the last column stays
  ref::gemm_fp8_f_grouped(x.data(), 1, 7, Fp8Weight{data.data(), scale.data(), 256, 3}, 2, y.data(), 257,
                          Round::kNone);
  EXPECT_EQ(y[0], 3.0f);                // 1·3·1
  EXPECT_EQ(y[128], 8.0f);              // 0·4·4 + 2·1·4 (group 0's x would give 16)
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[256], kSentinel);
}

// A [2, 128] FP4 weight, packed [2, 64] bytes, scales [2, 4] (one per 32 of k).
struct Fp4Case {
  std::vector<uint8_t> data = std::vector<uint8_t>(2 * 64, 0);
  std::vector<uint8_t> scale = {kE8M0_One, kE8M0_Two, kE8M0_Huge, kE8M0_Huge,   // row 0
                                kE8M0_Half, kE8M0_Huge, kE8M0_Huge, kE8M0_Huge};  // row 1
  Fp4Case() {
    // e2m1 codes: 2 = 1.0, 3 = 1.5, 7 = 6, 0xD = -3 (sign bit 8 | 5).
    data[0] = 0xD3;           // W[0][0] = 1.5 (low nibble), W[0][1] = -3 (high nibble)
    data[16] = 0x70;          // W[0][32] = 0, W[0][33] = 6 (k 32..63: scale 2)
    data[64 + 1] = 0x02;      // W[1][2] = 1.0 (scale 0.5)
  }
  Fp4Weight weight() const { return {data.data(), scale.data(), 2, 128}; }
};

TEST(RefGemm, Fp4QuantizedReadsLowNibbleFirstAndPer32Scales) {
  const Fp4Case w;
  std::vector<uint8_t> q(128, 0);
  q[0] = kE4M3_Two;
  q[1] = kE4M3_One;
  q[2] = kE4M3_Four;
  q[33] = kE4M3_Half;
  const float sx = 0.25f;
  const QuantizedRows x{q.data(), &sx, 1, 128};
  std::vector<float> y(2, kSentinel);
  ref::gemm_fp4_q(x, w.weight(), y.data(), 2, Round::kNone);
  // y[0] = 0.25·(2·1.5·1 + 1·(-3)·1 + 0.5·6·2) = 0.25·6 = 1.5
  // (with the nibbles swapped it would be 0.25·(2·(-3) + 1·1.5 + 6) = 0.375).
  EXPECT_EQ(y[0], 1.5f);
  // y[1] = 0.25·(4·1·0.5) = 0.5
  EXPECT_EQ(y[1], 0.5f);
}

TEST(RefGemm, Fp4UnquantizedUsesRawActivations) {
  const Fp4Case w;
  std::vector<float> x(128, 0.0f);
  x[0] = 2.0f;
  x[1] = 1.0f;
  x[2] = 0.3f;
  x[33] = 0.5f;
  std::vector<float> y(2, kSentinel);
  ref::gemm_fp4_f(x.data(), 1, 128, w.weight(), y.data(), 2, Round::kNone);
  // y[0] = 2·1.5 + 1·(-3) + 0.5·6·2 = 6; y[1] = 0.3f·1·0.5 (exact halving).
  EXPECT_EQ(y[0], 6.0f);
  EXPECT_EQ(y[1], 0.15f);
}

TEST(RefGemm, Bf16WeightsAreOutByIn) {
  // W [2, 3] in bf16: {{1, -3, 0.5}, {10, 0, 0.5}}; x [1, 3] = {1, 2, 4}.
  const std::vector<uint16_t> wd = {0x3F80, 0xC040, 0x3F00, 0x4120, 0x0000, 0x3F00};
  const Bf16Weight w{wd.data(), 2, 3};
  const std::vector<float> x = {1.0f, 2.0f, 4.0f};
  std::vector<float> y(2);
  ref::gemm_bf16(x.data(), 1, 3, w, y.data(), 2, Round::kNone);
  EXPECT_EQ(y[0], -3.0f);  // 1 - 6 + 2
  EXPECT_EQ(y[1], 12.0f);  // 10 + 0 + 2
}

TEST(RefGemm, OutputIsRoundedOnlyWithRoundBf16) {
  // x = {1, 2^-9}, W = [[1, 1]] (bf16 and fp32): the sum 1 + 2^-9 is exact in fp32 and lies
  // below the bf16 midpoint 1 + 2^-8, so it rounds to 1 in bf16 mode.
  const std::vector<float> x = {1.0f, 0.001953125f};
  const std::vector<uint16_t> wb = {0x3F80, 0x3F80};
  const std::vector<float> wf = {1.0f, 1.0f};
  float y = 0.0f;
  ref::gemm_bf16(x.data(), 1, 2, Bf16Weight{wb.data(), 1, 2}, &y, 1, Round::kNone);
  EXPECT_EQ(y, 1.001953125f);
  ref::gemm_bf16(x.data(), 1, 2, Bf16Weight{wb.data(), 1, 2}, &y, 1, Round::kBf16);
  EXPECT_EQ(y, 1.0f);
  ref::gemm_f32(x.data(), 1, 2, F32Weight{wf.data(), 1, 2}, &y, 1, Round::kNone);
  EXPECT_EQ(y, 1.001953125f);
  ref::gemm_f32(x.data(), 1, 2, F32Weight{wf.data(), 1, 2}, &y, 1, Round::kBf16);
  EXPECT_EQ(y, 1.0f);
}

TEST(RefGemm, F32WithStrides) {
  // W [3, 2] = [[1, 2], [3, 4], [5, 6]]; x [2, 2] rows 3 apart = [[1, 10], [100, 1000]].
  const std::vector<float> wd = {1, 2, 3, 4, 5, 6};
  const std::vector<float> x = {1, 10, kSentinel, 100, 1000, kSentinel};
  std::vector<float> y(2 * 4, kSentinel);
  ref::gemm_f32(x.data(), 2, 3, F32Weight{wd.data(), 3, 2}, y.data(), 4, Round::kNone);
  // Row 0: 1·1 + 10·2 = 21, 3 + 40 = 43, 5 + 60 = 65. Row 1: 100·(1,3,5) + 1000·(2,4,6).
  const std::vector<float> want = {21, 43, 65, kSentinel, 2100, 4300, 6500, kSentinel};
  EXPECT_EQ(y, want);
}

}  // namespace
}  // namespace dsv4k
