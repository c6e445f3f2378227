// Hand-computed cases for the compressor's pooling (compressor.h, spec §2.4.5).
//
// Scores are chosen as logarithms of small integers, so each softmax weight is that integer
// over their sum and every pooled value is a short fraction. The cases pin down: the ratio-128
// block pools all 128 tokens per channel; the learned bias ape[j] is added by block slot j
// (to the previous block's tokens too); in overlap mode (ratio 4) the previous block
// contributes its first half (kv[i], z[i] + ape[j][i]) and the current block its second half
// (kv[d+i], z[d+i] + ape[j][d+i]), the other halves are ignored; a missing previous block
// contributes nothing; channels are independent; rows are read ld apart.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dsv4k/compressor.h"

namespace dsv4k {
namespace {

constexpr float kJunk = 1e6f;  // values that must not be read

TEST(RefCompressor, Ratio128PoolsTheWholeBlockPerChannel) {
  // d = 2, 128 tokens. Channel 0: all scores 0 -> the plain mean of kv_j[0] = j: 63.5.
  // Channel 1: token 7 has z = ln 3 and ape[7][1] = ln 127, so its weight is 381 against 1
  // for each of the other 127 tokens: weight 381/508 = 0.75 on kv_7[1] = 4, others 0 -> 3.
  const CompressorShape s{128, 2, false};
  std::vector<float> kv(128 * 2, 0.0f), z(128 * 2, 0.0f), ape(128 * 2, 0.0f);
  for (int j = 0; j < 128; ++j) kv[static_cast<size_t>(2 * j)] = static_cast<float>(j);
  kv[2 * 7 + 1] = 4.0f;
  z[2 * 7 + 1] = std::log(3.0f);
  ape[2 * 7 + 1] = std::log(127.0f);
  std::vector<float> row(2);
  ref::compress_pool(s, ape.data(), nullptr, nullptr, 0, kv.data(), z.data(), 2, row.data());
  EXPECT_NEAR(row[0], 63.5, 1e-5);
  EXPECT_NEAR(row[1], 3.0, 1e-5);
}

// Ratio 4, d = 2 (projections 4 wide: A = [0, 2), B = [2, 4)), rows 5 apart (one junk column).
struct OverlapCase {
  static constexpr int64_t kLd = 5;
  const CompressorShape s{4, 2, true};
  std::vector<float> prev_kv = std::vector<float>(4 * kLd, kJunk);
  std::vector<float> prev_z = std::vector<float>(4 * kLd, kJunk);
  std::vector<float> cur_kv = std::vector<float>(4 * kLd, kJunk);
  std::vector<float> cur_z = std::vector<float>(4 * kLd, kJunk);
  std::vector<float> ape = std::vector<float>(4 * 4, 0.0f);

  OverlapCase() {
    for (int j = 0; j < 4; ++j) {
      const size_t r = static_cast<size_t>(j * kLd);
      // Channel 0 values: previous A half 1..4, current B half 5..8. Channel 1: 10× those.
      prev_kv[r + 0] = static_cast<float>(1 + j);
      prev_kv[r + 1] = static_cast<float>(10 * (1 + j));
      cur_kv[r + 2] = static_cast<float>(5 + j);
      cur_kv[r + 3] = static_cast<float>(10 * (5 + j));
      prev_z[r + 0] = prev_z[r + 1] = 0.0f;
      cur_z[r + 2] = cur_z[r + 3] = 0.0f;
      // The halves that must be ignored hold large values and large scores (kJunk).
    }
  }
  std::vector<float> run(bool with_prev) const {
    std::vector<float> row(2);
    ref::compress_pool(s, ape.data(), with_prev ? prev_kv.data() : nullptr, with_prev ? prev_z.data() : nullptr, kLd,
                       cur_kv.data(), cur_z.data(), kLd, row.data());
    return row;
  }
};

TEST(RefCompressor, Ratio4PoolsPreviousFirstHalfAndCurrentSecondHalf) {
  // Equal scores: the mean of the 8 candidates, (1+2+3+4 + 5+6+7+8)/8 = 4.5; channel 1: 45.
  const OverlapCase c;
  const auto row = c.run(true);
  EXPECT_NEAR(row[0], 4.5, 1e-5);
  EXPECT_NEAR(row[1], 45.0, 1e-4);
}

TEST(RefCompressor, Ratio4WithoutPreviousBlockPoolsOnlyTheCurrentBlock) {
  // First block of a sequence: (5+6+7+8)/4 = 6.5; channel 1: 65.
  const OverlapCase c;
  const auto row = c.run(false);
  EXPECT_NEAR(row[0], 6.5, 1e-5);
  EXPECT_NEAR(row[1], 65.0, 1e-4);
}

TEST(RefCompressor, Ratio4AddsApeBySlotToEachHalf) {
  // Channel 0: ape[2][0] = ln 5 raises previous token 2 (value 3) to weight 5; ape[1][2] = ln 3
  // raises current token 1 (value 6) to weight 3. Weights {1,1,5,1 | 1,3,1,1}, sum 14:
  //   (1 + 2 + 15 + 4 + 5 + 18 + 7 + 8)/14 = 60/14.
  // Channel 1 only gets the previous block's z: prev_z[3][1] = ln 2 on value 40, weight 2,
  // sum 9: (10 + 20 + 30 + 80 + 50 + 60 + 70 + 80)/9 = 400/9.
  OverlapCase c;
  c.ape[2 * 4 + 0] = std::log(5.0f);
  c.ape[1 * 4 + 2] = std::log(3.0f);
  c.prev_z[3 * OverlapCase::kLd + 1] = std::log(2.0f);
  const auto row = c.run(true);
  EXPECT_NEAR(row[0], 60.0 / 14.0, 1e-5);
  EXPECT_NEAR(row[1], 400.0 / 9.0, 1e-4);
  // Without the previous block only the current block's weights count: channel 0
  // (5 + 18 + 7 + 8)/6 = 38/6, channel 1 (50 + 60 + 70 + 80)/4 = 65.
  const auto first = c.run(false);
  EXPECT_NEAR(first[0], 38.0 / 6.0, 1e-5);
  EXPECT_NEAR(first[1], 65.0, 1e-4);
}

}  // namespace
}  // namespace dsv4k
