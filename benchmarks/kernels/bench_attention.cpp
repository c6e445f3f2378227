// Single-query (decode) benchmarks of the fast attention-side kernels on Flash shapes, one
// thread (the backend splits these ops by query rows, so one decode token is one task):
//   sparse_attention: 64 heads × 512 dims over 640 candidates (128 window + 512 top-k);
//   indexer_scores:   64 heads × 128 dims over 4096 compressed keys (16k tokens of context).
// GFLOP/s counts 2 flops per multiply-add of the QK and P·V products (resp. the key dots).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/features.h"

namespace dsv4bench {
namespace {

std::vector<float> pseudo_random(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (float& f : v) {
    seed = seed * 1664525u + 1013904223u;
    f = static_cast<float>(static_cast<int32_t>(seed >> 8) % 2001 - 1000) / 1000.0f;
  }
  return v;
}

void bm_sparse_attention(benchmark::State& state) {
  if (!dsv4k::cpu::avx512_kernels_supported()) {
    state.SkipWithError("CPU lacks the AVX-512 kernels' extensions");
    return;
  }
  const int64_t n_heads = 64, d = 512, n_kv = 4096, n_cand = 640;
  const std::vector<float> q = pseudo_random(static_cast<size_t>(n_heads * d), 1);
  const std::vector<float> kv = pseudo_random(static_cast<size_t>(n_kv * d), 2);
  const std::vector<float> sink = pseudo_random(static_cast<size_t>(n_heads), 3);
  std::vector<int32_t> cand(static_cast<size_t>(n_cand));
  for (int64_t j = 0; j < n_cand; ++j) cand[static_cast<size_t>(j)] = static_cast<int32_t>((j * 613) % n_kv);
  std::vector<float> out(static_cast<size_t>(n_heads * d));
  const dsv4k::AttentionShape shape{n_heads, d, 0.044194174f};
  for (auto _ : state) {
    dsv4k::cpu::avx512::sparse_attention(q.data(), 1, n_heads * d, shape, kv.data(), d, cand.data(), n_cand, sink.data(),
                                         out.data(), n_heads * d, dsv4k::Round::kBf16);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * static_cast<double>(n_heads * d * n_cand) *
                                                     static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void bm_indexer_scores(benchmark::State& state) {
  if (!dsv4k::cpu::avx512_kernels_supported()) {
    state.SkipWithError("CPU lacks the AVX-512 kernels' extensions");
    return;
  }
  const int64_t n_heads = 64, d = 128, n_keys = 4096;
  const std::vector<float> q = pseudo_random(static_cast<size_t>(n_heads * d), 4);
  const std::vector<float> w = pseudo_random(static_cast<size_t>(n_heads), 5);
  const std::vector<float> keys = pseudo_random(static_cast<size_t>(n_keys * d), 6);
  const int64_t visible = n_keys;
  std::vector<float> scores(static_cast<size_t>(n_keys));
  for (auto _ : state) {
    dsv4k::cpu::avx512::indexer_scores(q.data(), 1, n_heads * d, n_heads, d, w.data(), keys.data(), n_keys, &visible,
                                       scores.data(), dsv4k::Round::kBf16);
    benchmark::DoNotOptimize(scores.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n_heads * d * n_keys) *
                                                     static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

void register_attention_benchmarks() {
  benchmark::RegisterBenchmark("sparse_attention/h64_d512_cand640/q1", bm_sparse_attention);
  benchmark::RegisterBenchmark("indexer_scores/h64_d128_keys4096/q1", bm_indexer_scores);
}

}  // namespace dsv4bench
