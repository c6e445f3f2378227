// StandaloneKvCache: the paged cache for code that runs the model without the engine
// (dsv4 logits / run, model-level tests and benchmarks): a fixed number of sequences,
// each with its own pages for up to max_tokens tokens, and no prefix sharing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/paged_kv_cache.h"

namespace dsv4 {

class StandaloneKvCache final : public KvCache {
 public:
  // Storage for n_seqs sequences of at most max_tokens tokens, in the most compact
  // lossless formats for `numerics`.
  StandaloneKvCache(const ModelConfig& config, const Numerics& numerics, Backend& backend, int32_t n_seqs,
                    int64_t max_tokens);

  // A fresh, empty sequence; fails (-1) when all n_seqs slots are taken.
  int32_t add_sequence();
  void remove_sequence(int32_t slot);
  int64_t memory_bytes() const { return cache_->memory_bytes(); }

  int64_t length(int32_t slot, CacheStream stream) const override { return cache_->length(slot, stream); }
  void set_length(int32_t slot, CacheStream stream, int64_t n) override { cache_->set_length(slot, stream, n); }
  using KvCache::window_write;
  using KvCache::window_read;
  using KvCache::rows_append;
  using KvCache::rows_read;
  void window_write(int64_t layer, std::span<const CacheRun> runs, const float* rows) override {
    cache_->window_write(layer, runs, rows);
  }
  void window_read(int64_t layer, std::span<const CacheRun> runs, float* rows) const override {
    cache_->window_read(layer, runs, rows);
  }
  void rows_append(int64_t layer, RowKind kind, std::span<const CacheRun> runs, const float* rows) override {
    cache_->rows_append(layer, kind, runs, rows);
  }
  int64_t rows_count(int64_t layer, RowKind kind, int32_t slot) const override {
    return cache_->rows_count(layer, kind, slot);
  }
  void rows_read(int64_t layer, RowKind kind, std::span<const CacheRun> runs, float* out) const override {
    cache_->rows_read(layer, kind, runs, out);
  }
  void rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                   float* out) const override {
    cache_->rows_gather(layer, kind, slot, idx, n, out);
  }
  void rows_gather_selected(int64_t layer, RowKind kind, const int32_t* slots, int64_t n, const int32_t* idx,
                            int64_t k, float* out) const override {
    cache_->rows_gather_selected(layer, kind, slots, n, idx, k, out);
  }
  CompressorCarry compressor_carry(int64_t layer, RowKind kind, int32_t slot) override {
    return cache_->compressor_carry(layer, kind, slot);
  }

 private:
  std::unique_ptr<PagedKvCache> cache_;
  int64_t pages_per_seq_ = 0;
  std::vector<bool> used_;
};

}  // namespace dsv4
