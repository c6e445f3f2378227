// Within dsv4 there is no rounding excuse (DESIGN.md §4): a sequence's logits are
// bit-identical alone or in any batch, in any chunking, and in token-by-token decode.
#include <gtest/gtest.h>

#include <cstring>

#include "tiny_model_fixture.h"

namespace dsv4 {
namespace {

using testing::random_tokens;
using testing::run_in_chunks;
using testing::TinyModel;

// Long enough to cross the 128-token window, emit ratio-128 rows and make the indexer
// select (index_topk 16 < 300/4 rows).
constexpr int64_t kLen = 300;

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b, int64_t vocab) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i) / vocab;
  return -1;
}

class Invariance : public ::testing::TestWithParam<bool> {};

TEST_P(Invariance, ChunkedPrefillAndDecodeEqualOneShot) {
  const Numerics numerics = GetParam() ? Numerics::reference() : Numerics::exact();
  TinyModel tm(numerics);
  const std::vector<int32_t> tokens = random_tokens(kLen, tm.config.vocab_size, 7);
  auto cache = tm.make_cache();
  const int32_t one_shot = cache->add_sequence();
  const std::vector<float> ref = run_in_chunks(*tm.model, *cache, one_shot, tokens, {kLen});
  ASSERT_EQ(static_cast<int64_t>(ref.size()), kLen * tm.config.vocab_size);
  for (const std::vector<int64_t>& sizes : std::vector<std::vector<int64_t>>{{1}, {7}, {128}, {3, 130, 1, 61}}) {
    const int32_t slot = cache->add_sequence();
    const std::vector<float> got = run_in_chunks(*tm.model, *cache, slot, tokens, sizes);
    EXPECT_TRUE(bit_equal(ref, got)) << "chunk sizes starting " << sizes[0] << ": first differing position "
                                     << first_difference(ref, got, tm.config.vocab_size);
  }
}

TEST_P(Invariance, BatchedEqualsAlone) {
  const Numerics numerics = GetParam() ? Numerics::reference() : Numerics::exact();
  TinyModel tm(numerics);
  const int64_t vocab = tm.config.vocab_size;
  const std::vector<int64_t> lens = {kLen, 37, 129, 5, 260};
  std::vector<std::vector<int32_t>> seqs;
  for (size_t i = 0; i < lens.size(); ++i) seqs.push_back(random_tokens(lens[i], vocab, 100 + i));

  // Alone, one-shot.
  std::vector<std::vector<float>> alone;
  for (const auto& s : seqs) {
    auto cache = tm.make_cache(1);
    alone.push_back(run_in_chunks(*tm.model, *cache, cache->add_sequence(), s, {static_cast<int64_t>(s.size())}));
  }
  // All together: a prefill step with every sequence's first part, then mixed steps where
  // some sequences decode single tokens while others prefill chunks.
  auto cache = tm.make_cache();
  std::vector<int32_t> slots;
  for (size_t i = 0; i < seqs.size(); ++i) slots.push_back(cache->add_sequence());
  std::vector<std::vector<float>> together(seqs.size());
  std::vector<int64_t> done(seqs.size(), 0);
  const std::vector<int64_t> step_sizes = {50, 1, 9, 1, 1, 64, 3};
  for (int step = 0;; ++step) {
    ForwardBatch b;
    b.logits = LogitsMode::kAll;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int64_t left = static_cast<int64_t>(seqs[i].size()) - done[i];
      if (left == 0) continue;
      const int64_t n = std::min(left, step_sizes[(static_cast<size_t>(step) + i) % step_sizes.size()]);
      b.chunks.push_back({slots[i], done[i], n});
      b.tokens.insert(b.tokens.end(), seqs[i].begin() + done[i], seqs[i].begin() + done[i] + n);
      done[i] += n;
    }
    if (b.chunks.empty()) break;
    ForwardResult r;
    ASSERT_TRUE(tm.model->forward(b, *cache, &r).is_ok());
    int64_t row = 0;
    for (const SequenceChunk& ch : b.chunks) {
      const size_t i = static_cast<size_t>(std::find(slots.begin(), slots.end(), ch.slot) - slots.begin());
      together[i].insert(together[i].end(), r.logits.begin() + row * vocab, r.logits.begin() + (row + ch.n_tokens) * vocab);
      row += ch.n_tokens;
    }
  }
  for (size_t i = 0; i < seqs.size(); ++i)
    EXPECT_TRUE(bit_equal(alone[i], together[i])) << "sequence " << i << " (length " << lens[i]
                                                  << "): first differing position "
                                                  << first_difference(alone[i], together[i], vocab);
}

INSTANTIATE_TEST_SUITE_P(Numerics, Invariance, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Reference" : "Exact"; });

TEST(Invariance, ThreadCountDoesNotChangeResults) {
  TinyModel one(Numerics::reference(), 1);
  TinyModel three(Numerics::reference(), 3);
  const std::vector<int32_t> tokens = random_tokens(150, one.config.vocab_size, 3);
  auto c1 = one.make_cache(1), c3 = three.make_cache(1);
  const std::vector<float> a = run_in_chunks(*one.model, *c1, c1->add_sequence(), tokens, {150});
  const std::vector<float> b = run_in_chunks(*three.model, *c3, c3->add_sequence(), tokens, {150});
  EXPECT_TRUE(bit_equal(a, b));
}

TEST(Forward, RejectsBadBatchesWithoutTouchingTheCache) {
  TinyModel tm;
  auto cache = tm.make_cache(1);
  const int32_t slot = cache->add_sequence();
  ForwardResult r;
  auto expect_error = [&](ForwardBatch b, const char* part) {
    Status st = tm.model->forward(b, *cache, &r);
    ASSERT_FALSE(st.is_ok()) << part;
    EXPECT_NE(st.message().find(part), std::string::npos) << st.message();
    EXPECT_EQ(cache->length(slot, CacheStream::kMain), 0);
  };
  expect_error({{5, 6}, {{slot, 3, 2}}, LogitsMode::kLast, false, {}, {}}, "starts at position 3 but the cache holds 0");
  expect_error({{5, 6}, {{slot, 0, 3}}, LogitsMode::kLast, false, {}, {}}, "the chunks cover 3 tokens but the batch has 2");
  expect_error({{5, 6000}, {{slot, 0, 2}}, LogitsMode::kLast, false, {}, {}}, "has id 6000, outside the vocabulary [0, 1024)");
  expect_error({{5, -1}, {{slot, 0, 2}}, LogitsMode::kLast, false, {}, {}}, "has id -1");
  expect_error({{5, 6}, {{slot, 0, 1}, {slot, 1, 1}}, LogitsMode::kLast, false, {}, {}}, "a slot may appear once per batch");
  expect_error({{5}, {{slot, 0, 0}}, LogitsMode::kLast, false, {}, {}}, "has no tokens");
  expect_error({{5, 6}, {{slot, 0, 2}}, LogitsMode::kLast, false, {}, {std::nullopt, std::nullopt}},
               "sample_on_device has 2 entries for 1 chunks");
  expect_error({{5, 6}, {{slot, 0, 2}}, LogitsMode::kAll, false, {}, {dsv4k::SampleRowParams{}}},
               "with kLast logits");
}

}  // namespace
}  // namespace dsv4
