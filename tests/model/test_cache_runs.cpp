// The cache's batched calls (several sequences' runs of rows in one call, one launch on a
// device) against the same calls made one run at a time, row for row: window reads and
// writes, compressed row reads and appends, in every row format, over sequences whose pages
// are interleaved and descending (interleaved_cache.h) and whose windows wrap around the ring.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "interleaved_cache.h"

namespace dsv4 {
namespace {

using testing::bit_equal;
using testing::interleaved_cache;
using testing::TinyModel;

constexpr int32_t kSlots = 3;
constexpr int64_t kPages = 3;
constexpr int64_t kRatio4Layer = 1;    // the micro model's ratio-4 layer
constexpr int64_t kRatio128Layer = 2;  // and its ratio-128 layer

std::vector<float> random_rows(int64_t n, int64_t width, std::mt19937* rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> rows(static_cast<size_t>(n * width));
  for (float& v : rows) v = normal(*rng);
  return rows;
}

int64_t total_rows(const std::vector<CacheRun>& runs) {
  int64_t n = 0;
  for (const CacheRun& r : runs) n += r.n;
  return n;
}

int64_t width_of(const ModelConfig& c, RowKind kind) {
  return kind == RowKind::kAttention ? c.head_dim : c.index_head_dim;
}

// Every slot's window of `layer` after `length` tokens (the last sliding_window positions
// written, so that the ring wraps for long sequences) and its compressed rows.
void fill(const TinyModel& tm, PagedKvCache& cache, const std::vector<int64_t>& length) {
  std::mt19937 rng(5);
  const int64_t win = tm.config.sliding_window;
  for (int32_t s = 0; s < kSlots; ++s) {
    const int64_t len = length[static_cast<size_t>(s)];
    const int64_t n = std::min(len, win);
    for (int64_t layer : {kRatio4Layer, kRatio128Layer}) {
      cache.window_write(layer, s, len - n, n, random_rows(n, tm.config.head_dim, &rng).data());
      for (RowKind kind : {RowKind::kAttention, RowKind::kIndexer}) {
        const int64_t ratio = tm.config.compress_ratio(layer);
        if (kind == RowKind::kIndexer && ratio != 4) continue;
        const int64_t rows = len / ratio;
        cache.rows_append(layer, kind, s, 0, rows, random_rows(rows, width_of(tm.config, kind), &rng).data());
      }
    }
  }
}

class CacheRunTwins : public ::testing::TestWithParam<Numerics> {};

TEST_P(CacheRunTwins, BatchedReadsEqualOneRunAtATime) {
  TinyModel tm(micro_model_config(), GetParam());
  ASSERT_EQ(tm.config.compress_ratio(kRatio4Layer), 4);
  ASSERT_EQ(tm.config.compress_ratio(kRatio128Layer), 128);
  const int64_t win = tm.config.sliding_window;
  auto cache = interleaved_cache(tm, kSlots, kPages);
  fill(tm, *cache, {300, 5, 290});
  const int64_t hd = tm.config.head_dim;

  // Slots out of order, a wrapped window, a partial one, an empty run, one slot twice.
  const std::vector<CacheRun> window = {{2, 290 - 100, 100}, {0, 300 - win, win}, {1, 0, 5}, {0, 250, 0}, {2, 280, 10}};
  for (int64_t layer : {kRatio4Layer, kRatio128Layer}) {
    std::vector<float> got(static_cast<size_t>(total_rows(window) * hd), -777.0f), want(got.size(), 0.0f);
    cache->window_read(layer, window, got.data());
    int64_t row = 0;
    for (const CacheRun& r : window) {
      cache->window_read(layer, r.slot, r.first, r.n, want.data() + row * hd);
      row += r.n;
    }
    EXPECT_TRUE(bit_equal(got, want)) << "window rows of layer " << layer;
  }

  // Rows on every page of a sequence, runs that start inside a page, one slot twice.
  const std::vector<CacheRun> ratio4 = {{1, 0, 1}, {2, 10, 60}, {0, 3, 70}, {2, 0, 5}};
  const std::vector<CacheRun> ratio128 = {{2, 0, 2}, {1, 0, 0}, {0, 1, 1}, {0, 0, 2}};
  for (const RowKind kind : {RowKind::kAttention, RowKind::kIndexer}) {
    for (int64_t layer : {kRatio4Layer, kRatio128Layer}) {
      if (kind == RowKind::kIndexer && layer != kRatio4Layer) continue;
      const std::vector<CacheRun>& runs = layer == kRatio4Layer ? ratio4 : ratio128;
      const int64_t width = width_of(tm.config, kind);
      std::vector<float> got(static_cast<size_t>(total_rows(runs) * width), -777.0f), want(got.size(), 0.0f);
      cache->rows_read(layer, kind, runs, got.data());
      int64_t row = 0;
      for (const CacheRun& r : runs) {
        cache->rows_read(layer, kind, r.slot, r.first, r.first + r.n, want.data() + row * width);
        row += r.n;
      }
      EXPECT_TRUE(bit_equal(got, want)) << "compressed rows of layer " << layer;
    }
  }
}

// Writes: one cache takes the batched calls, its twin the same runs one at a time; then
// every window and every compressed row of both must be equal.
TEST_P(CacheRunTwins, BatchedWritesEqualOneRunAtATime) {
  TinyModel tm(micro_model_config(), GetParam());
  const int64_t win = tm.config.sliding_window;
  const int64_t hd = tm.config.head_dim;
  const std::vector<int64_t> length = {300, 5, 170};
  auto batched = interleaved_cache(tm, kSlots, kPages);
  auto single = interleaved_cache(tm, kSlots, kPages);
  fill(tm, *batched, length);
  fill(tm, *single, length);
  std::mt19937 rng(9);

  // A decode-like step (one row each, wrapping the ring), then a whole window for slot 1.
  const std::vector<CacheRun> window = {{2, 170, 1}, {0, 300, 1}, {1, 5 + 40, win}};
  const std::vector<CacheRun> ratio4 = {{2, 170 / 4, 3}, {0, 300 / 4, 2}, {0, 300 / 4 + 2, 4}, {1, 1, 20}};
  for (int64_t layer : {kRatio4Layer, kRatio128Layer}) {
    const std::vector<float> rows = random_rows(total_rows(window), hd, &rng);
    batched->window_write(layer, window, rows.data());
    int64_t row = 0;
    for (const CacheRun& r : window) {
      single->window_write(layer, r.slot, r.first, r.n, rows.data() + row * hd);
      row += r.n;
    }
  }
  for (const RowKind kind : {RowKind::kAttention, RowKind::kIndexer}) {
    const int64_t width = width_of(tm.config, kind);
    const std::vector<float> rows = random_rows(total_rows(ratio4), width, &rng);
    batched->rows_append(kRatio4Layer, kind, ratio4, rows.data());
    int64_t row = 0;
    for (const CacheRun& r : ratio4) {
      single->rows_append(kRatio4Layer, kind, r.slot, r.first, r.n, rows.data() + row * width);
      row += r.n;
    }
  }

  auto windows = [&](const PagedKvCache& c, int64_t layer) {
    std::vector<float> all(static_cast<size_t>(kSlots * win * hd));
    const std::vector<int64_t> end = {301, 5 + 40 + win, 171};
    for (int32_t s = 0; s < kSlots; ++s)
      c.window_read(layer, s, end[static_cast<size_t>(s)] - win, win, all.data() + s * win * hd);
    return all;
  };
  auto rows = [&](const PagedKvCache& c, RowKind kind) {
    std::vector<float> all;
    const int64_t width = width_of(tm.config, kind);
    for (int32_t s = 0; s < kSlots; ++s) {
      const int64_t n = c.rows_count(kRatio4Layer, kind, s);
      std::vector<float> one(static_cast<size_t>(n * width));
      c.rows_read(kRatio4Layer, kind, s, 0, n, one.data());
      all.insert(all.end(), one.begin(), one.end());
    }
    return all;
  };
  for (int64_t layer : {kRatio4Layer, kRatio128Layer})
    EXPECT_TRUE(bit_equal(windows(*batched, layer), windows(*single, layer))) << "windows of layer " << layer;
  for (const RowKind kind : {RowKind::kAttention, RowKind::kIndexer}) {
    for (int32_t s = 0; s < kSlots; ++s)
      EXPECT_EQ(batched->rows_count(kRatio4Layer, kind, s), single->rows_count(kRatio4Layer, kind, s));
    EXPECT_TRUE(bit_equal(rows(*batched, kind), rows(*single, kind)));
  }
}

INSTANTIATE_TEST_SUITE_P(Numerics, CacheRunTwins, testing::kv_row_numerics(), testing::kv_row_numerics_name);

}  // namespace
}  // namespace dsv4
