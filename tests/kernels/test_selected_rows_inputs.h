// Steps for the selected-row tests (test_selected_rows_*.cpp): a step's tokens over a few
// sequences with shuffled page ids and page tables of different lengths, and top-k entries
// that reach every case of dsv4k/selected_rows.h (rows, -1, indices at and past a sequence's
// row count, pages past its last).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "dsv4k/selected_rows.h"

namespace dsv4k::selected_rows_test {

// A step's inputs: tokens t < n, each of one of the sequences (sharing its table and count).
struct Step {
  int64_t n = 0, k = 0, max_pages = 0;
  PagedRows layout;
  std::vector<int32_t> idx;        // [n, k]
  std::vector<int64_t> page_base;  // [n, max_pages]
  std::vector<int64_t> count;      // [n]
};

inline Step random_step(int64_t n, int64_t k, int64_t n_seqs, std::mt19937& rng) {
  const auto below = [&](int64_t m) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(m)); };
  Step s;
  s.n = n;
  s.k = k;
  s.max_pages = 5;
  s.layout = {3, 40, 12};  // 3 rows of 12 bytes per page, after 40 bytes of other rows
  const int64_t page_bytes = 200;
  std::vector<int64_t> ids(static_cast<size_t>(n_seqs * s.max_pages));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  // Sequence q owns 1..max_pages pages (-1 pads the rest); its count may stop inside its last.
  std::vector<std::vector<int64_t>> tables(static_cast<size_t>(n_seqs));
  std::vector<int64_t> counts(static_cast<size_t>(n_seqs));
  for (int64_t q = 0; q < n_seqs; ++q) {
    const int64_t pages = 1 + below(s.max_pages);
    for (int64_t p = 0; p < s.max_pages; ++p)
      tables[static_cast<size_t>(q)].push_back(p < pages ? ids[static_cast<size_t>(q * s.max_pages + p)] * page_bytes
                                                         : -1);
    counts[static_cast<size_t>(q)] = pages * s.layout.rows_per_page - below(3);
  }
  const int64_t past_every_page = s.max_pages * s.layout.rows_per_page + 4;
  for (int64_t t = 0; t < n; ++t) {
    const auto q = static_cast<size_t>(below(n_seqs));
    s.page_base.insert(s.page_base.end(), tables[q].begin(), tables[q].end());
    s.count.push_back(counts[q]);
    for (int64_t j = 0; j < k; ++j) {
      // Mostly valid rows; -1, rows at or past the count and past every page now and then.
      const int64_t pick = below(10);
      const int64_t r = pick == 0 ? -1 : pick == 1 ? counts[q] + below(5) : pick == 2 ? below(past_every_page)
                                                                                       : below(counts[q]);
      s.idx.push_back(static_cast<int32_t>(r));
    }
  }
  return s;
}

// (n, k): one entry; odd k; many tokens of short lists; a few long lists (both cross 256).
inline constexpr int64_t kSizes[][2] = {{1, 1}, {7, 13}, {300, 5}, {3, 600}, {65, 8}};

}  // namespace dsv4k::selected_rows_test
