// An engine over an in-memory random checkpoint, and helpers to run requests to the end.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "model/model_loader.h"
#include "model/presets.h"
#include "model/random_weights.h"
#include "runtime/engine_impl.h"

namespace dsv4::testing {

inline std::unique_ptr<LoadedModel> in_memory_model(const ModelConfig& config, uint64_t seed = 1) {
  auto ckpt = std::make_shared<InMemoryCheckpoint>(config, seed);
  auto m = std::make_unique<LoadedModel>();
  m->directory = "(in memory)";
  m->config = config;
  Result<std::unique_ptr<ModelWeights>> w = bind_model_weights(config, *ckpt);
  EXPECT_TRUE(w.is_ok()) << w.status().to_string();
  m->weights = std::move(w).value();
  m->storage = ckpt;
  m->tensors = ckpt;
  return m;
}

inline std::unique_ptr<EngineImpl> make_engine(EngineConfig c, const ModelConfig& model = tiny_model_config(1024)) {
  if (c.n_threads == 0) c.n_threads = 2;
  Result<std::unique_ptr<EngineImpl>> e = EngineImpl::create(c, in_memory_model(model));
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

// The smallest KV budget that buys n_pages pages for max_num_seqs sequences, found by asking
// the engine's own budget planner.
inline int64_t kv_bytes_for_pages(const ModelConfig& m, int64_t page_tokens, int64_t max_num_seqs, int64_t n_pages,
                                  const Numerics& numerics = Numerics::reference()) {
  const KvLayout l = *KvLayout::make(kv_geometry(m, PagedKvFormats::for_numerics(numerics)), page_tokens);
  int64_t lo = 0, hi = max_num_seqs * (l.slot_bytes + l.snapshot_bytes) + (n_pages + 1) * (l.page_bytes + l.snapshot_bytes);
  while (lo + 1 < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    Result<KvBudget> b = plan_kv_budget(l, mid, 0.0, 0, max_num_seqs);
    (b.is_ok() && b->n_pages >= n_pages ? hi : lo) = mid;
  }
  return hi;
}

// Everything a finished request produced, per choice.
struct Completion {
  std::vector<std::vector<GeneratedToken>> tokens;
  std::vector<FinishReason> finish;
  std::vector<std::string> stop_reason;
  Usage usage;
};

inline Completion drain(RequestStream& s, int32_t n = 1) {
  Completion c;
  c.tokens.resize(static_cast<size_t>(n));
  c.finish.assign(static_cast<size_t>(n), FinishReason::kNone);
  c.stop_reason.resize(static_cast<size_t>(n));
  StreamEvent ev;
  while (s.next(&ev)) {
    auto& t = c.tokens[static_cast<size_t>(ev.choice)];
    t.insert(t.end(), ev.tokens.begin(), ev.tokens.end());
    if (ev.finish != FinishReason::kNone) {
      c.finish[static_cast<size_t>(ev.choice)] = ev.finish;
      c.stop_reason[static_cast<size_t>(ev.choice)] = ev.stop_reason;
    }
  }
  c.usage = s.usage();
  return c;
}

inline std::vector<int32_t> token_ids(const std::vector<GeneratedToken>& t) {
  std::vector<int32_t> ids;
  for (const GeneratedToken& g : t) ids.push_back(g.token);
  return ids;
}

inline std::vector<int32_t> random_prompt(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  for (auto& v : t) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<int32_t>(2 + (s >> 33) % static_cast<uint64_t>(vocab - 2));
  }
  return t;
}

inline GenerationRequest greedy(std::vector<int32_t> prompt, int32_t max_tokens, int32_t logprobs = 3) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0;
  r.sampling.max_tokens = max_tokens;
  r.sampling.ignore_eos = true;
  r.sampling.logprobs = logprobs;
  return r;
}

// Token ids and logprobs bit for bit.
inline bool same_tokens(const std::vector<GeneratedToken>& a, const std::vector<GeneratedToken>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].token != b[i].token || std::memcmp(&a[i].logprob, &b[i].logprob, sizeof(float)) != 0) return false;
    if (a[i].top.size() != b[i].top.size()) return false;
    for (size_t j = 0; j < a[i].top.size(); ++j)
      if (a[i].top[j].token != b[i].top[j].token ||
          std::memcmp(&a[i].top[j].logprob, &b[i].top[j].logprob, sizeof(float)) != 0)
        return false;
  }
  return true;
}

}  // namespace dsv4::testing
