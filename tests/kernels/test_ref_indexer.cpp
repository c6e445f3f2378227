// Hand-computed cases for the lightning indexer (indexer.h, spec §2.4.6).
//
// indexer_scores: score[t][s] = Σ_h w[t][h]·ReLU(q[t][h]·k[s]) over visible rows, -inf for the
// others; in bf16 mode the dot product, the weighted ReLU and the head sum each round to
// bf16. topk_rows: the k best visible rows by descending score, ties to the lower index,
// -1 padding when fewer than k rows are visible; rows past n_visible are never selected
// however large their score.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "dsv4k/indexer.h"

namespace dsv4k {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(RefIndexer, ScoresAreWeightedReluOfDotsWithVisibility) {
  // 2 heads of dim 2. Query 0: q_0 = {1, 0}, q_1 = {0, 1}, w = {2, 3}, 2 rows visible.
  //   k_0 = {1, 2}:  dots {1, 2}           -> 2·1 + 3·2 = 8
  //   k_1 = {-1, 1}: dots {-1, 1} -> ReLU {0, 1} -> 3
  //   k_2 = {5, 5}:  invisible             -> -inf
  // Query 1 (rows 5 apart in q: one padding value): q_0 = {1, 1}, q_1 = {-1, 0}, w = {1, -1},
  // all 3 visible: k_0: {3, -1} -> 3; k_1: {0, 1} -> -1; k_2: {10, -5} -> 10.
  // Query 2: nothing visible.
  const std::vector<float> q = {1, 0, 0, 1, 99, 1, 1, -1, 0, 99, 7, 7, 7, 7, 99};
  const std::vector<float> w = {2, 3, 1, -1, 1, 1};
  const std::vector<float> keys = {1, 2, -1, 1, 5, 5};
  const std::vector<int64_t> n_visible = {2, 3, 0};
  std::vector<float> scores(9);
  ref::indexer_scores(q.data(), 3, 5, 2, 2, w.data(), keys.data(), 3, n_visible.data(), scores.data(), Round::kNone);
  const std::vector<float> want = {8, 3, -kInf, 3, -1, 10, -kInf, -kInf, -kInf};
  EXPECT_EQ(scores, want);
}

TEST(RefIndexer, Bf16RoundsDotWeightedReluAndSum) {
  // One query, 2 heads of dim 1, one key k = 1, w = {3, 5}.
  //   head 0: q = 1 + 2^-8 (exact in fp32): the dot 1.00390625 is the tie between bf16 1 and
  //           1 + 2^-7 -> 1 (even); ·3 -> 3.
  //   head 1: q = 1.0078125 (bf16): ·5 = 5.0390625 = 161.25·2^-5 -> 161·2^-5 = 5.03125.
  //   sum 8.03125 = 128.5·2^-4, a tie -> 128·2^-4 = 8.
  // Dropping any one rounding changes the result: an unrounded dot gives 3.01171875·... ->
  // 3.015625 and a sum of 8.046875 -> 8.0625; an unrounded product 3 + 5.0390625 = 8.0390625
  // -> 8.0625; an unrounded sum 8.03125. fp32 throughout: 3.01171875 + 5.0390625 = 8.05078125.
  const std::vector<float> q = {1.00390625f, 1.0078125f};
  const std::vector<float> w = {3.0f, 5.0f};
  const float key = 1.0f;
  const int64_t n_visible = 1;
  float s = 0.0f;
  ref::indexer_scores(q.data(), 1, 2, 2, 1, w.data(), &key, 1, &n_visible, &s, Round::kBf16);
  EXPECT_EQ(s, 8.0f);
  ref::indexer_scores(q.data(), 1, 2, 2, 1, w.data(), &key, 1, &n_visible, &s, Round::kNone);
  EXPECT_EQ(s, 8.05078125f);
}

TEST(RefIndexer, TopKIsDescendingWithTiesToLowerIndex) {
  // Row 0: scores {1, 3, 3, 2, 0.5}, all visible, k = 3: 3 (index 1), 3 (index 2), 2 (index 3).
  // Row 1: only 2 visible, k = 3: {0, 1} ordered by score, then -1; index 4's 100 is ignored.
  // Row 2: nothing visible: all -1.
  const std::vector<float> scores = {1, 3, 3, 2, 0.5f, 5, 7, 0, 0, 100, 9, 9, 9, 9, 9};
  const std::vector<int64_t> n_visible = {5, 2, 0};
  std::vector<int32_t> idx(9, 77);
  ref::topk_rows(scores.data(), 3, 5, n_visible.data(), 3, idx.data());
  const std::vector<int32_t> want = {1, 2, 3, 1, 0, -1, -1, -1, -1};
  EXPECT_EQ(idx, want);
}

TEST(RefIndexer, TopKLargerThanVisiblePadsWithMinusOne) {
  // 4 of 5 visible, k = 6: all 4 in score order (ties lower first), then two -1.
  const std::vector<float> scores = {2, 2, -1, 2, 50};
  const int64_t n_visible = 4;
  std::vector<int32_t> idx(6, 77);
  ref::topk_rows(scores.data(), 1, 5, &n_visible, 6, idx.data());
  EXPECT_EQ(idx, (std::vector<int32_t>{0, 1, 3, 2, -1, -1}));
}

}  // namespace
}  // namespace dsv4k
