// The two ways a ratio-4 layer brings the indexer's selection into attention (TopkGather,
// model/layers/attention.h) are twins: the union path reads the top-k back and gathers each
// sequence's selected rows once; the direct path leaves the top-k on the device and gathers k
// rows per token (PagedKvCache::rows_gather_selected). They must give bit-identical logits, so
// that the choice by step size never changes a result (DESIGN.md §4).
//
// The cache is paged with 128-token pages (32 ratio-4 rows each), every sequence's pages
// interleaved with the others' and in descending order, so a gather that assumed contiguous
// pages would read the wrong rows.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "interleaved_cache.h"
#include "tiny_model_fixture.h"

namespace dsv4 {
namespace {

using testing::bit_equal;
using testing::interleaved_cache;
using testing::kPageTokens;
using testing::random_tokens;
using testing::TinyModel;

constexpr int64_t kLayer = 1;  // the micro model's ratio-4 layer

class TopkGatherTwins : public ::testing::TestWithParam<Numerics> {};

// The cache's device-index gather against its host-index twin, row for row: for both kinds of
// rows, tokens of three sequences in any order, entries that select rows on every page, -1
// and indices past a sequence's rows (zero rows).
TEST_P(TopkGatherTwins, CacheGathersWhatItsHostTwinGathers) {
  TinyModel tm(micro_model_config(), GetParam());
  ASSERT_EQ(tm.config.compress_ratio(kLayer), 4);
  auto cache = interleaved_cache(tm, 3, 3);
  const std::vector<int64_t> n_rows = {70, 3, 40};  // per slot: three pages, one, two
  const std::vector<int32_t> slots = {2, 0, 1, 2, 0, 0};
  const int64_t n = static_cast<int64_t>(slots.size()), k = 7;
  std::mt19937 rng(3);
  for (const RowKind kind : {RowKind::kAttention, RowKind::kIndexer}) {
    const int64_t width = kind == RowKind::kAttention ? tm.config.head_dim : tm.config.index_head_dim;
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int32_t s = 0; s < 3; ++s) {
      std::vector<float> rows(static_cast<size_t>(n_rows[static_cast<size_t>(s)] * width));
      for (float& v : rows) v = normal(rng);
      cache->rows_append(kLayer, kind, s, 0, n_rows[static_cast<size_t>(s)], rows.data());
    }
    std::vector<int32_t> idx(static_cast<size_t>(n * k));
    for (int64_t e = 0; e < n * k; ++e) {
      const auto span = static_cast<uint32_t>(n_rows[static_cast<size_t>(slots[static_cast<size_t>(e / k)])] + 4);
      idx[static_cast<size_t>(e)] = static_cast<int32_t>(rng() % span) - 1;  // -1 .. count + 2
    }
    std::vector<float> got(static_cast<size_t>(n * k * width), -777.0f), want(got.size(), 0.0f);
    cache->rows_gather_selected(kLayer, kind, slots.data(), n, idx.data(), k, got.data());
    for (int64_t e = 0; e < n * k; ++e) {
      const int32_t slot = slots[static_cast<size_t>(e / k)];
      const int32_t r = idx[static_cast<size_t>(e)];
      if (r >= 0 && r < n_rows[static_cast<size_t>(slot)])
        cache->rows_gather(kLayer, kind, slot, &r, 1, want.data() + e * width);
    }
    EXPECT_TRUE(bit_equal(got, want)) << (kind == RowKind::kAttention ? "attention" : "indexer") << " rows";
  }
}

// Every token's logits over a scenario of three sequences (slots 2, 0, 1): prefill chunks, a
// mixed step (decode, a chunk, decode), then decode steps. Sequence A grows past the window to
// 76 compressed rows over three pages, so the indexer picks 8 of many; C holds 1-3 rows, so its
// top-k is mostly -1 and its window is not full (gaps in the candidate lists).
std::vector<float> run_scenario(Model& model, KvCache& cache, int64_t vocab) {
  std::vector<float> all;
  auto step = [&](const std::vector<SequenceChunk>& chunks, uint64_t seed) {
    ForwardBatch b;
    b.logits = LogitsMode::kAll;
    b.chunks = chunks;
    for (const SequenceChunk& ch : chunks) {
      const std::vector<int32_t> t = random_tokens(ch.n_tokens, vocab, seed * 10 + static_cast<uint64_t>(ch.slot));
      b.tokens.insert(b.tokens.end(), t.begin(), t.end());
    }
    ForwardResult r;
    const Status st = model.forward(b, cache, &r);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    all.insert(all.end(), r.logits.begin(), r.logits.end());
  };
  step({{2, 0, 100}}, 1);
  step({{2, 100, 200}, {0, 0, 45}}, 2);
  step({{1, 0, 6}}, 3);
  step({{2, 300, 1}, {0, 45, 9}, {1, 6, 1}}, 4);
  for (int64_t i = 0; i < 5; ++i)
    step({{2, 301 + i, 1}, {0, 54 + i, 1}, {1, 7 + i, 1}}, 10 + static_cast<uint64_t>(i));
  return all;
}

TEST_P(TopkGatherTwins, DirectAndUnionGatherGiveBitIdenticalLogits) {
  TinyModel tm(micro_model_config(), GetParam());
  ASSERT_EQ(tm.config.compress_ratio(kLayer), 4);
  auto logits_with = [&](TopkGather g) {
    tm.model->set_topk_gather(g);
    auto cache = interleaved_cache(tm, 3, 3);
    std::vector<float> l = run_scenario(*tm.model, *cache, tm.config.vocab_size);
    // The scenario reached what it is for: the indexer choosing among rows on several pages.
    const int64_t rows_a = cache->rows_count(kLayer, RowKind::kAttention, 2);
    EXPECT_GT(rows_a, 2 * (kPageTokens / 4));
    EXPECT_GT(rows_a, 4 * tm.config.index_topk);
    return l;
  };
  const std::vector<float> by_union = logits_with(TopkGather::kUnion);
  const std::vector<float> direct = logits_with(TopkGather::kDirect);
  ASSERT_EQ(by_union.size(), static_cast<size_t>((100 + 245 + 6 + 11 + 15) * tm.config.vocab_size));
  EXPECT_TRUE(bit_equal(direct, by_union));
}

INSTANTIATE_TEST_SUITE_P(Numerics, TopkGatherTwins, testing::kv_row_numerics(), testing::kv_row_numerics_name);

}  // namespace
}  // namespace dsv4
