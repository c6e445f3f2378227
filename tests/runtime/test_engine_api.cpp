// The engine API: validation with precise errors, stop rules, cancellation, accounting,
// a soak test with a small page budget, and the 1M-token context budget.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine_fixture.h"

namespace dsv4 {
namespace {

using namespace dsv4::testing;

EngineConfig small_config() {
  EngineConfig c;
  c.kv_cache_bytes = int64_t{64} << 20;
  c.max_num_seqs = 8;
  c.max_num_batched_tokens = 256;
  return c;
}

TEST(EngineApi, RejectsBadRequestsWithPreciseErrors) {
  std::unique_ptr<EngineImpl> e = make_engine(small_config());
  auto expect = [&](GenerationRequest r, const char* part) {
    auto s = e->submit(std::move(r));
    ASSERT_FALSE(s.is_ok()) << part;
    EXPECT_NE(s.status().message().find(part), std::string::npos) << s.status().message();
  };
  expect(greedy({}, 4), "the prompt is empty");
  expect(greedy({1, 2, 5000}, 4), "prompt token 2 is 5000, outside the vocabulary [0, 1024)");
  GenerationRequest big = greedy({1, 2, 3}, 1048574);
  expect(big, "the prompt (3 tokens) plus max_tokens (1048574) is 1048577 tokens, beyond the maximum context of 1048576");
  GenerationRequest t = greedy({1, 2}, 4);
  t.sampling.temperature = -1.0;
  expect(t, "temperature");
  GenerationRequest stop = greedy({1, 2}, 4);
  stop.sampling.stop = {"x"};
  expect(stop, "stop strings need the tokenizer's token bytes");
  GenerationRequest pages = greedy({1, 2}, 1000000);
  expect(pages, "KV pages");
}

// Decode graphs are CUDA graphs: asking for them on the CPU backend is a configuration
// error that says so, not a silent no-op.
TEST(EngineApi, DecodeGraphsOnTheCpuAreRefusedWithTheReason) {
  EngineConfig c;
  c.n_threads = 2;
  c.decode_graphs = true;
  Result<std::unique_ptr<EngineImpl>> e = EngineImpl::create(c, in_memory_model(tiny_model_config(1024)));
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("decode graphs need a CUDA device"), std::string::npos) << e.status().message();
}

TEST(EngineApi, MaxTokensEndsWithLengthAndUsageCountsEverything) {
  std::unique_ptr<EngineImpl> e = make_engine(small_config());
  const Completion c = drain(**e->submit(greedy(random_prompt(17, 1024, 1), 9)));
  EXPECT_EQ(c.tokens[0].size(), 9u);
  EXPECT_EQ(c.finish[0], FinishReason::kLength);
  EXPECT_EQ(c.usage.prompt_tokens, 17);
  EXPECT_EQ(c.usage.completion_tokens, 9);
  EXPECT_EQ(c.tokens[0][0].top.size(), 3u);
}

TEST(EngineApi, StopTokenEndsWithStopAndIsNotReleased) {
  std::unique_ptr<EngineImpl> e = make_engine(small_config());
  const Completion free_run = drain(**e->submit(greedy(random_prompt(40, 1024, 2), 12)));
  ASSERT_GE(free_run.tokens[0].size(), 6u);
  GenerationRequest r = greedy(random_prompt(40, 1024, 2), 12);
  r.sampling.stop_token_ids = {free_run.tokens[0][5].token};
  const Completion c = drain(**e->submit(r));
  EXPECT_EQ(c.finish[0], FinishReason::kStop);
  // The first occurrence of that token ends the request; it is counted but not released.
  size_t first = 0;
  while (free_run.tokens[0][first].token != r.sampling.stop_token_ids[0]) ++first;
  EXPECT_EQ(c.tokens[0].size(), first);
  EXPECT_EQ(c.usage.completion_tokens, static_cast<int64_t>(first) + 1);
  EXPECT_EQ(c.stop_reason[0], "token " + std::to_string(r.sampling.stop_token_ids[0]));
}

TEST(EngineApi, StopStringsSpanTokensAndReleaseEverythingUpToTheMatch) {
  EngineConfig cfg = small_config();
  // Token t decodes to a two-letter string; a stop string across two tokens is then findable.
  for (int32_t t = 0; t < 1024; ++t)
    cfg.token_bytes.push_back(std::string(1, static_cast<char>('a' + t % 26)) + static_cast<char>('A' + (t / 26) % 26));
  std::unique_ptr<EngineImpl> e = make_engine(cfg);
  const Completion free_run = drain(**e->submit(greedy(random_prompt(30, 1024, 3), 10)));
  std::string text;
  for (const GeneratedToken& g : free_run.tokens[0]) text += cfg.token_bytes[static_cast<size_t>(g.token)];
  // A stop string starting in the middle of token 3 and ending in token 4.
  const std::string stop = text.substr(7, 2);
  GenerationRequest r = greedy(random_prompt(30, 1024, 3), 10);
  r.sampling.stop = {stop};
  const Completion c = drain(**e->submit(r));
  EXPECT_EQ(c.finish[0], FinishReason::kStop);
  EXPECT_EQ(c.stop_reason[0], stop);
  std::string got;
  for (const GeneratedToken& g : c.tokens[0]) got += cfg.token_bytes[static_cast<size_t>(g.token)];
  EXPECT_NE(got.find(stop), std::string::npos);  // the caller trims at the match
  EXPECT_LE(c.tokens[0].size(), 5u);
}

TEST(EngineApi, CancellationFreesEverything) {
  std::unique_ptr<EngineImpl> e = make_engine(small_config());
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 6; ++i) streams.push_back(*e->submit(greedy(random_prompt(100, 1024, 10 + i), 500)));
  StreamEvent ev;
  ASSERT_TRUE(streams[0]->next(&ev));  // running
  for (auto& s : streams) s->cancel();
  for (auto& s : streams) {
    const Completion c = drain(*s);
    EXPECT_EQ(c.finish[0], FinishReason::kCancelled);
  }
  e->wait_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const EngineMetrics m = e->metrics();
  EXPECT_EQ(m.running, 0);
  EXPECT_EQ(m.waiting, 0);
  EXPECT_EQ(m.kv_pages_used, 0);
  EXPECT_EQ(m.requests_cancelled, 6);
}

TEST(EngineApi, OneMillionTokenBudgetIsAcceptedAndAccounted) {
  EngineConfig cfg = small_config();
  cfg.page_tokens = 256;
  // Room for one sequence of 1,048,576 tokens: 4,096 pages.
  cfg.kv_cache_bytes = kv_bytes_for_pages(tiny_model_config(1024), 256, cfg.max_num_seqs, 4096);
  std::unique_ptr<EngineImpl> e = make_engine(cfg);
  EXPECT_EQ(e->info().max_model_len, 1048576);
  EXPECT_GE(e->info().kv_pages, 4096);
  auto ok = e->submit(greedy(random_prompt(10, 1024, 4), 1048566));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  (*ok)->cancel();
  drain(**ok);
  auto too_long = e->submit(greedy(random_prompt(11, 1024, 4), 1048566));
  EXPECT_FALSE(too_long.is_ok());
  EXPECT_NE(too_long.status().message().find("1048577 tokens, beyond the maximum context of 1048576"),
            std::string::npos);
}

}  // namespace
}  // namespace dsv4
