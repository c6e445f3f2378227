// A tiny random DSV4 model in memory, for model-level tests: every feature (hash layers,
// both compression ratios, a window shorter than the test sequences, indexer top-k
// smaller than the number of rows, MTP) at toy sizes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "model/model.h"
#include "model/presets.h"
#include "model/random_weights.h"
#include "model/weights.h"
#include "runtime/standalone_kv_cache.h"

namespace dsv4::testing {

struct TinyModel {
  ModelConfig config;
  std::unique_ptr<InMemoryCheckpoint> ckpt;
  std::unique_ptr<ModelWeights> weights;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;

  Numerics numerics;

  explicit TinyModel(Numerics numerics_ = Numerics::reference(), int n_threads = 2,
                     CpuKernels kernels = CpuKernels::kFast, uint64_t seed = 1)
      : TinyModel(tiny_model_config(1024), numerics_, n_threads, kernels, seed) {}
  // Another toy configuration (e.g. micro_model_config()) with random weights.
  TinyModel(const ModelConfig& config_, Numerics numerics_, int n_threads = 2, CpuKernels kernels = CpuKernels::kFast,
            uint64_t seed = 1)
      : config(config_), numerics(numerics_) {
    ckpt = std::make_unique<InMemoryCheckpoint>(config, seed);
    Result<std::unique_ptr<ModelWeights>> w = bind_model_weights(config, *ckpt);
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    weights = std::move(w).value();
    backend = make_cpu_backend({n_threads, kernels});
    model = std::make_unique<Model>(config, *weights, *backend, numerics);
  }

  // The paged cache, as the engine uses it (compact rows in the reference numerics).
  std::unique_ptr<StandaloneKvCache> make_cache(int32_t n_seqs = 8, int64_t max_tokens = 4096) {
    return std::make_unique<StandaloneKvCache>(config, numerics, *backend, n_seqs, max_tokens);
  }
};

// Deterministic pseudo-random token ids in [1, vocab).
inline std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& v : t) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<int32_t>(1 + (s >> 33) % static_cast<uint64_t>(vocab - 1));
  }
  return t;
}

// Runs `tokens` through one sequence in chunks of the given sizes (cycled), returning the
// logits of every position [n, vocab].
inline std::vector<float> run_in_chunks(Model& model, KvCache& cache, int32_t slot,
                                        const std::vector<int32_t>& tokens, const std::vector<int64_t>& sizes) {
  std::vector<float> all;
  int64_t pos = cache.length(slot, CacheStream::kMain);
  size_t next = 0;
  size_t ci = 0;
  while (next < tokens.size()) {
    const int64_t n = std::min<int64_t>(sizes[ci++ % sizes.size()], static_cast<int64_t>(tokens.size() - next));
    ForwardBatch b;
    b.tokens.assign(tokens.begin() + static_cast<long>(next), tokens.begin() + static_cast<long>(next) + n);
    b.chunks = {{slot, pos, n}};
    b.logits = LogitsMode::kAll;
    ForwardResult r;
    Status st = model.forward(b, cache, &r);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    all.insert(all.end(), r.logits.begin(), r.logits.end());
    pos += n;
    next += static_cast<size_t>(n);
  }
  return all;
}

}  // namespace dsv4::testing
