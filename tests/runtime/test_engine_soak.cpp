// Soak/property test of the engine (issue 4): 5,000 random requests through a small page
// budget on the micro model.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine_fixture.h"

namespace dsv4 {
namespace {

using namespace dsv4::testing;

// 5,000 random requests (prompt and output lengths, sampling parameters, n, cancellations)
// through a small page budget: every request ends with a reason, and afterwards every
// page and slot is free and nothing is running or waiting.
TEST(EngineSoak, FiveThousandRandomRequests) {
  EngineConfig cfg;
  cfg.max_num_seqs = 16;
  cfg.max_num_batched_tokens = 512;
  cfg.page_tokens = 128;
  cfg.kv_cache_bytes = kv_bytes_for_pages(micro_model_config(), 128, cfg.max_num_seqs, 20);
  for (int32_t t = 0; t < 512; ++t) cfg.token_bytes.push_back(std::string(1, static_cast<char>('a' + t % 26)));
  std::unique_ptr<EngineImpl> e = make_engine(cfg, micro_model_config());
  std::mt19937 rng(2026);
  int64_t n_finished = 0, n_cancelled = 0, n_rejected = 0;
  std::vector<std::shared_ptr<RequestStream>> live;
  auto settle = [&](size_t keep) {
    while (live.size() > keep) {
      const Completion c = drain(*live.front(), 1);
      for (FinishReason f : c.finish) {
        ASSERT_NE(f, FinishReason::kNone);
        ASSERT_NE(f, FinishReason::kError);
        (f == FinishReason::kCancelled ? n_cancelled : n_finished)++;
      }
      live.erase(live.begin());
    }
  };
  for (int i = 0; i < 5000; ++i) {
    GenerationRequest r;
    const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
    r.prompt = random_prompt(n, 512, static_cast<uint64_t>(rng() % 50));  // shared prefixes recur
    r.sampling.max_tokens = 1 + static_cast<int32_t>(rng() % 16);
    r.sampling.temperature = (rng() % 3 == 0) ? 0.0 : 0.5 + static_cast<double>(rng() % 100) / 100.0;
    r.sampling.top_k = static_cast<int32_t>(rng() % 3 == 0 ? rng() % 50 : 0);
    r.sampling.top_p = rng() % 2 ? 1.0 : 0.9;
    r.sampling.presence_penalty = rng() % 4 == 0 ? 0.5 : 0.0;
    if (rng() % 5 == 0) r.sampling.stop = {"ab"};
    if (rng() % 7 == 0) r.sampling.logprobs = 2;
    auto s = e->submit(r);
    if (!s.is_ok()) {
      ++n_rejected;
      continue;
    }
    if (rng() % 10 == 0) (*s)->cancel();
    live.push_back(*s);
    settle(48);
  }
  settle(0);
  e->wait_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const EngineMetrics m = e->metrics();
  EXPECT_EQ(n_finished + n_cancelled + n_rejected, 5000);
  EXPECT_EQ(m.running, 0);
  EXPECT_EQ(m.waiting, 0);
  EXPECT_EQ(m.kv_pages_used, 0);
  EXPECT_GT(m.preemptions, 0);
  EXPECT_GT(m.prefix_cache_hits, 0);
  std::printf("soak: %lld finished, %lld cancelled, %lld rejected; %lld steps, %lld preemptions, "
              "prefix hits %lld of %lld looked-up tokens\n",
              static_cast<long long>(n_finished), static_cast<long long>(n_cancelled),
              static_cast<long long>(n_rejected), static_cast<long long>(m.steps),
              static_cast<long long>(m.preemptions), static_cast<long long>(m.prefix_cache_hits),
              static_cast<long long>(m.prefix_cache_queries));
}

}  // namespace
}  // namespace dsv4
