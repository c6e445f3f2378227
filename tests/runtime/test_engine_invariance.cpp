// A request's tokens and logprobs are identical alone, in a batch of 32 mixed requests,
// after preemption and recompute, and on a prefix-cache hit vs a miss; seeded sampling is
// identical alone and in a batch.
#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace dsv4 {
namespace {

using namespace dsv4::testing;

EngineConfig base_config() {
  EngineConfig c;
  c.kv_cache_bytes = int64_t{256} << 20;
  c.max_num_seqs = 40;
  c.max_num_batched_tokens = 512;
  return c;
}

Completion run_alone(const GenerationRequest& r, EngineConfig c = base_config()) {
  std::unique_ptr<EngineImpl> e = make_engine(c);
  auto s = e->submit(r);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return drain(**s, r.sampling.n);
}

TEST(EngineInvariance, GreedyAloneEqualsInABatchOf32) {
  const GenerationRequest probe = greedy(random_prompt(300, 1024, 1), 24);
  const Completion alone = run_alone(probe);
  ASSERT_EQ(alone.tokens[0].size(), 24u);

  std::unique_ptr<EngineImpl> e = make_engine(base_config());
  std::vector<std::shared_ptr<RequestStream>> others;
  for (int i = 0; i < 31; ++i)
    others.push_back(*e->submit(greedy(random_prompt(1 + (i * 37) % 400, 1024, 100 + i), 1 + i % 20)));
  auto s = e->submit(probe);
  ASSERT_TRUE(s.is_ok());
  const Completion batched = drain(**s);
  for (auto& o : others) drain(*o);
  EXPECT_TRUE(same_tokens(alone.tokens[0], batched.tokens[0]))
      << "alone " << ::testing::PrintToString(token_ids(alone.tokens[0])) << " vs batched "
      << ::testing::PrintToString(token_ids(batched.tokens[0]));
}

TEST(EngineInvariance, PreemptedAndResumedEqualsUninterrupted) {
  const GenerationRequest probe = greedy(random_prompt(200, 1024, 2), 40);
  const Completion alone = run_alone(probe);
  // A cache of a few pages: the probe (arriving last) is preempted by the earlier requests'
  // growth and recomputes its prompt and generated tokens when resumed.
  EngineConfig c = base_config();
  c.page_tokens = 128;
  c.max_num_seqs = 4;
  c.enable_prefix_caching = false;
  c.kv_cache_bytes = kv_bytes_for_pages(tiny_model_config(1024), 128, 4, 8);
  std::unique_ptr<EngineImpl> e = make_engine(c);
  ASSERT_EQ(e->info().kv_pages, 8);
  std::vector<std::shared_ptr<RequestStream>> others;
  for (int i = 0; i < 3; ++i) others.push_back(*e->submit(greedy(random_prompt(250, 1024, 50 + i), 200)));
  auto s = e->submit(probe);
  ASSERT_TRUE(s.is_ok());
  const Completion got = drain(**s);
  for (auto& o : others) drain(*o);
  EXPECT_GT(e->metrics().preemptions, 0) << "the test must actually preempt";
  EXPECT_TRUE(same_tokens(alone.tokens[0], got.tokens[0]));
}

TEST(EngineInvariance, PrefixHitEqualsMissAndReportsCachedTokens) {
  EngineConfig c = base_config();
  c.page_tokens = 128;
  const std::vector<int32_t> shared = random_prompt(400, 1024, 3);
  std::vector<int32_t> p1 = shared, p2 = shared;
  for (int32_t t : random_prompt(30, 1024, 4)) p2.push_back(t);
  // Miss: a fresh engine.
  const Completion miss = run_alone(greedy(p2, 20), c);
  EXPECT_EQ(miss.usage.cached_prompt_tokens, 0);
  // Hit: the same engine first serves p1, whose prefill snapshots its last page boundary.
  std::unique_ptr<EngineImpl> e = make_engine(c);
  drain(**e->submit(greedy(p1, 4)));
  const Completion hit = drain(**e->submit(greedy(p2, 20)));
  EXPECT_EQ(hit.usage.cached_prompt_tokens, 384);  // 3 pages of 128
  EXPECT_TRUE(same_tokens(miss.tokens[0], hit.tokens[0]));
  EXPECT_GT(e->metrics().prefix_cache_hits, 0);
}

TEST(EngineInvariance, SeededSamplingAloneEqualsInABatch) {
  GenerationRequest probe;
  probe.prompt = random_prompt(150, 1024, 5);
  probe.sampling.temperature = 0.9;
  probe.sampling.top_p = 0.95;
  probe.sampling.seed = 1234;
  probe.sampling.max_tokens = 30;
  probe.sampling.ignore_eos = true;
  const Completion alone = run_alone(probe);
  std::unique_ptr<EngineImpl> e = make_engine(base_config());
  std::vector<std::shared_ptr<RequestStream>> others;
  for (int i = 0; i < 16; ++i) {
    GenerationRequest o = probe;
    o.prompt = random_prompt(20 + 30 * i, 1024, 200 + i);
    o.sampling.seed.reset();
    others.push_back(*e->submit(o));
  }
  const Completion batched = drain(**e->submit(probe));
  for (auto& o : others) drain(*o);
  EXPECT_EQ(token_ids(alone.tokens[0]), token_ids(batched.tokens[0]));
}

TEST(EngineInvariance, ChoicesOfAnNGreaterThanOneRequestEqualSeparateRequests) {
  GenerationRequest r;
  r.prompt = random_prompt(260, 1024, 6);
  r.sampling.temperature = 1.0;
  r.sampling.seed = 99;
  r.sampling.max_tokens = 12;
  r.sampling.ignore_eos = true;
  r.sampling.n = 3;
  const Completion together = run_alone(r);
  ASSERT_EQ(together.usage.completion_tokens, 36);
  // Choice k of a seeded request is reproducible alone: same seed, same choice stream.
  std::unique_ptr<EngineImpl> e = make_engine(base_config());
  const Completion again = drain(**e->submit(r), 3);
  for (int k = 0; k < 3; ++k)
    EXPECT_EQ(token_ids(together.tokens[static_cast<size_t>(k)]), token_ids(again.tokens[static_cast<size_t>(k)]));
  EXPECT_NE(token_ids(together.tokens[0]), token_ids(together.tokens[1]));
}

}  // namespace
}  // namespace dsv4
