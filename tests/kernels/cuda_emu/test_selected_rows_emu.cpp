// The selected-row kernels (kernels/cuda/selected_rows.cuh), run on the host emulation, against
// dsv4k::ref::selected_row_offsets / selected_candidates. Both are index arithmetic, so every
// output must equal the reference's exactly, and nothing past the outputs may change: the
// offsets' tail and every candidate entry outside a token's k columns keep their sentinels.
// Inputs cover every case of the contract: -1 entries, indices at and past a sequence's row
// count, pages past a sequence's last (-1 pads of its table), shuffled page ids, tokens of one
// sequence sharing its table; sizes cross the 256-thread block and k is odd.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "../test_selected_rows_inputs.h"
#include "cuda/selected_rows.cuh"
#include "dsv4k/selected_rows.h"

namespace dsv4k {
namespace {

using selected_rows_test::random_step;
using selected_rows_test::Step;

constexpr int64_t kOffsetSentinel = -12345;
constexpr int32_t kCandSentinel = -777;

TEST(CudaEmuSelectedRows, OffsetsMatchTheReference) {
  std::mt19937 rng(5);
  int64_t n_rows = 0, n_none = 0;
  for (const auto& sz : selected_rows_test::kSizes) {
    SCOPED_TRACE(testing::Message() << "n " << sz[0] << " k " << sz[1]);
    const Step s = random_step(sz[0], sz[1], 4, rng);
    // One spare entry past n·k: the kernel must stop there.
    std::vector<int64_t> want(static_cast<size_t>(s.n * s.k) + 1, kOffsetSentinel), got = want;
    ref::selected_row_offsets(s.idx.data(), s.n, s.k, s.page_base.data(), s.max_pages, s.count.data(), s.layout,
                              want.data());
    ASSERT_EQ(cuda::launch_selected_row_offsets(s.idx.data(), s.n, s.k, s.page_base.data(), s.max_pages,
                                                s.count.data(), s.layout, got.data(), nullptr),
              cudaSuccess);
    ASSERT_EQ(got, want);
    n_rows += std::count_if(want.begin(), want.end() - 1, [](int64_t o) { return o >= 0; });
    n_none += std::count(want.begin(), want.end() - 1, int64_t{-1});
  }
  // The inputs reached both outcomes many times.
  EXPECT_GT(n_rows, 100);
  EXPECT_GT(n_none, 100);
}

TEST(CudaEmuSelectedRows, CandidatesMatchTheReferenceAndTouchOnlyTheirColumns) {
  std::mt19937 rng(6);
  for (const auto& sz : selected_rows_test::kSizes) {
    SCOPED_TRACE(testing::Message() << "n " << sz[0] << " k " << sz[1]);
    const Step s = random_step(sz[0], sz[1], 3, rng);
    const int64_t lead = 9, ld = lead + s.k + 2, row0 = 1000;
    std::vector<int32_t> col(static_cast<size_t>(s.n));
    for (auto& c : col) c = static_cast<int32_t>(rng() % (lead + 1));  // 0 .. lead other candidates first
    std::vector<int32_t> want(static_cast<size_t>(s.n * ld), kCandSentinel), got = want;
    ref::selected_candidates(s.idx.data(), s.n, s.k, row0, col.data(), want.data(), ld);
    ASSERT_EQ(cuda::launch_selected_candidates(s.idx.data(), s.n, s.k, row0, col.data(), got.data(), ld, nullptr),
              cudaSuccess);
    ASSERT_EQ(got, want);
    // Spot-check the reference's own rule on the last token.
    const int64_t t = s.n - 1;
    for (int64_t j = 0; j < s.k; ++j)
      ASSERT_EQ(want[static_cast<size_t>(t * ld + col[static_cast<size_t>(t)] + j)],
                s.idx[static_cast<size_t>(t * s.k + j)] >= 0 ? static_cast<int32_t>(row0 + t * s.k + j) : -1);
  }
}

TEST(CudaEmuSelectedRows, BadShapesAreRefusedAndEmptyStepsLaunchNothing) {
  const int32_t idx[2] = {0, 1};
  const int64_t page_base[1] = {0}, count[1] = {2};
  const int32_t col[1] = {0};
  int64_t offsets[2] = {kOffsetSentinel, kOffsetSentinel};
  int32_t cand[2] = {kCandSentinel, kCandSentinel};
  EXPECT_EQ(cuda::launch_selected_row_offsets(idx, 1, 2, page_base, 1, count, PagedRows{0, 0, 4}, offsets, nullptr),
            dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_selected_row_offsets(idx, 0, 2, page_base, 1, count, PagedRows{2, 0, 4}, offsets, nullptr),
            cudaSuccess);
  EXPECT_EQ(cuda::launch_selected_candidates(idx, 1, 0, 0, col, cand, 2, nullptr), cudaSuccess);
  EXPECT_EQ(offsets[0], kOffsetSentinel);
  EXPECT_EQ(cand[0], kCandSentinel);
}

}  // namespace
}  // namespace dsv4k
