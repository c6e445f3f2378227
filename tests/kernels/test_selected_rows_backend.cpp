// The selected-row ops (dsv4k/selected_rows.h): the reference on a page table worked out by
// hand, and the CPU backends (fast and reference kernels, one and several threads: the work
// is split by token) equal to the reference on random steps, entry for entry.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "dsv4k/selected_rows.h"
#include "test_selected_rows_inputs.h"

namespace dsv4 {
namespace {

// Two tokens of sequences with pages {3, 1} and {2}: 4 rows of 8 bytes per page after 16
// bytes of other rows, pages of 100 bytes.
TEST(SelectedRows, ReferenceFollowsThePageTable) {
  const dsv4k::PagedRows layout{4, 16, 8};
  const std::vector<int64_t> page_base = {300, 100, 200, -1};  // [2, 2]
  const std::vector<int64_t> count = {7, 4};
  const std::vector<int32_t> idx = {0, 5, 6, 7, -1,   // token 0: rows 0, 5, 6; past its count; none
                                    3, 4, -1, 2, 9};  // token 1: row 3; past its count (and page)
  std::vector<int64_t> offsets(idx.size());
  dsv4k::ref::selected_row_offsets(idx.data(), 2, 5, page_base.data(), 2, count.data(), layout, offsets.data());
  EXPECT_EQ(offsets, (std::vector<int64_t>{316, 124, 132, -1, -1, 240, -1, -1, 232, -1}));

  const std::vector<int32_t> col = {2, 0};
  std::vector<int32_t> cand(2 * 8, 99);
  dsv4k::ref::selected_candidates(idx.data(), 2, 5, 40, col.data(), cand.data(), 8);
  EXPECT_EQ(cand, (std::vector<int32_t>{99, 99, 40, 41, 42, 43, -1, 99,  //
                                        45, 46, -1, 48, 49, 99, 99, 99}));
}

TEST(SelectedRows, CpuBackendsMatchTheReference) {
  std::vector<std::unique_ptr<Backend>> backends;
  backends.push_back(make_cpu_backend({3, CpuKernels::kFast}));
  backends.push_back(make_cpu_backend({1, CpuKernels::kFast}));
  backends.push_back(make_cpu_backend({2, CpuKernels::kReference}));
  std::mt19937 rng(7);
  for (const auto& sz : dsv4k::selected_rows_test::kSizes) {
    SCOPED_TRACE(testing::Message() << "n " << sz[0] << " k " << sz[1]);
    const dsv4k::selected_rows_test::Step s = dsv4k::selected_rows_test::random_step(sz[0], sz[1], 4, rng);
    std::vector<int64_t> want(static_cast<size_t>(s.n * s.k));
    dsv4k::ref::selected_row_offsets(s.idx.data(), s.n, s.k, s.page_base.data(), s.max_pages, s.count.data(),
                                     s.layout, want.data());
    const int64_t ld = s.k + 5, row0 = 77;
    std::vector<int32_t> col(static_cast<size_t>(s.n));
    for (auto& c : col) c = static_cast<int32_t>(rng() % 6);
    std::vector<int32_t> want_cand(static_cast<size_t>(s.n * ld), -5);
    dsv4k::ref::selected_candidates(s.idx.data(), s.n, s.k, row0, col.data(), want_cand.data(), ld);
    for (const auto& be : backends) {
      std::vector<int64_t> got(want.size(), 12345);
      be->selected_row_offsets(s.idx.data(), s.n, s.k, s.page_base.data(), s.max_pages, s.count.data(), s.layout,
                               got.data());
      EXPECT_EQ(got, want) << be->name() << " " << be->n_threads() << " threads";
      std::vector<int32_t> got_cand(want_cand.size(), -5);
      be->selected_candidates(s.idx.data(), s.n, s.k, row0, col.data(), got_cand.data(), ld);
      EXPECT_EQ(got_cand, want_cand) << be->name() << " " << be->n_threads() << " threads";
    }
  }
}

}  // namespace
}  // namespace dsv4
