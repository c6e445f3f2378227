// Decode graph batch sizes (graph_batches.h): the size list and the padding rule.
#include <gtest/gtest.h>

#include <vector>

#include "backend/graph_batches.h"

namespace dsv4 {
namespace {

TEST(GraphBatches, SizesArePowersOfTwoThenStepsOfEightUpToTheMax) {
  EXPECT_EQ(graph_batch_sizes(64), (std::vector<int32_t>{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64}));
  EXPECT_EQ(graph_batch_sizes(20), (std::vector<int32_t>{1, 2, 4, 8, 16, 20}));
  EXPECT_EQ(graph_batch_sizes(3), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(graph_batch_sizes(1), (std::vector<int32_t>{1}));
  EXPECT_TRUE(graph_batch_sizes(0).empty());
  EXPECT_EQ(graph_batch_sizes(256).size(), 35u);  // 1, 2, 4 and 8 .. 256 by 8
}

TEST(GraphBatches, ABatchRunsAtTheSmallestSizeThatHoldsIt) {
  const std::vector<int32_t> s = graph_batch_sizes(20);
  EXPECT_EQ(padded_batch_size(s, 1), 1);
  EXPECT_EQ(padded_batch_size(s, 3), 4);
  EXPECT_EQ(padded_batch_size(s, 8), 8);
  EXPECT_EQ(padded_batch_size(s, 9), 16);
  EXPECT_EQ(padded_batch_size(s, 17), 20);
  EXPECT_EQ(padded_batch_size(s, 21), 0);  // beyond every graph: eager
  EXPECT_EQ(padded_batch_size(s, 0), 0);
  // Every batch up to the max wastes fewer than 8 rows past 8.
  for (int32_t n = 1; n <= 20; ++n) {
    const int32_t p = padded_batch_size(s, n);
    EXPECT_GE(p, n);
    EXPECT_LT(p - n, n <= 8 ? n : 8) << n;
  }
}

}  // namespace
}  // namespace dsv4
