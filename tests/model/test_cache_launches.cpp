// On a device every call that moves KV rows or activations is a launch, a few microseconds of
// host time each: a decode step's cache traffic must take a number of calls that depends on
// the model's layers only, never on how many sequences the step holds.
#include <gtest/gtest.h>

#include <vector>

#include "counting_backend.h"
#include "tiny_model_fixture.h"

namespace dsv4 {
namespace {

using testing::BackendCallCounts;
using testing::CountingBackend;
using testing::random_tokens;
using testing::TinyModel;

// The calls of one decode step of n_seqs sequences, after their prefills. Every length is 3
// mod 4, so that every sequence's decode token completes a ratio-4 row (the compressors
// append), and past the window, so that every sequence reads a full window and a ratio-128 row.
BackendCallCounts decode_step_calls(const TinyModel& tm, int32_t n_seqs) {
  CountingBackend be(*tm.backend);
  Model model(tm.config, *tm.weights, be, tm.numerics);
  // The path a device takes for a decode step (the union path reads per sequence by design).
  model.set_topk_gather(TopkGather::kDirect);
  StandaloneKvCache cache(tm.config, tm.numerics, be, n_seqs, 512);
  ForwardBatch prefill, decode;
  for (int32_t i = 0; i < n_seqs; ++i) {
    const int32_t slot = cache.add_sequence();
    const int64_t length = 131 + 4 * i;
    const std::vector<int32_t> t = random_tokens(length + 1, tm.config.vocab_size, 7 + static_cast<uint64_t>(i));
    prefill.tokens.insert(prefill.tokens.end(), t.begin(), t.end() - 1);
    prefill.chunks.push_back({slot, 0, length});
    decode.tokens.push_back(t.back());
    decode.chunks.push_back({slot, length, 1});
  }
  ForwardResult r;
  Status st = model.forward(prefill, cache, &r);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  be.counts = {};
  st = model.forward(decode, cache, &r);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return be.counts;
}

TEST(CacheLaunches, DecodeStepCallsDoNotGrowWithTheBatch) {
  TinyModel tm(micro_model_config(), Numerics::reference());
  const BackendCallCounts one = decode_step_calls(tm, 1);
  const BackendCallCounts six = decode_step_calls(tm, 6);
  EXPECT_GT(one.decode_kv_rows_at, 0);
  EXPECT_GT(one.encode_kv_rows_at, 0);
  EXPECT_EQ(six.copy_2d, one.copy_2d);
  EXPECT_EQ(six.copy_spans, one.copy_spans);
  EXPECT_EQ(six.encode_kv_rows_at, one.encode_kv_rows_at);
  EXPECT_EQ(six.decode_kv_rows_at, one.decode_kv_rows_at);
}

}  // namespace
}  // namespace dsv4
