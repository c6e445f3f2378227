// ContiguousKvCache: the simple KvCache: every sequence owns growable per-layer arrays.
//
// It is exact (rows are kept as fp32 values) and has no capacity planning; the paged,
// compact cache of src/kv replaces it in serving. It remains the reference store for
// tests and for single-sequence tools such as `dsv4 logits`.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/kv_cache.h"

namespace dsv4 {

class ContiguousKvCache final : public KvCache {
 public:
  explicit ContiguousKvCache(const ModelConfig& config);

  // Creates an empty sequence and returns its slot.
  int32_t add_sequence();
  // Frees a slot; its id may be reused by a later add_sequence().
  void remove_sequence(int32_t slot);
  // A new slot holding a copy of `slot`'s state.
  int32_t fork(int32_t slot);
  bool has_sequence(int32_t slot) const;

  int64_t length(int32_t slot, CacheStream stream) const override;
  void set_length(int32_t slot, CacheStream stream, int64_t n) override;
  void window_write(int64_t layer, int32_t slot, int64_t pos, const float* row) override;
  void window_read(int64_t layer, int32_t slot, int64_t pos, float* row) const override;
  void rows_append(int64_t layer, RowKind kind, int32_t slot, int64_t index, const float* row) override;
  int64_t rows_count(int64_t layer, RowKind kind, int32_t slot) const override;
  void rows_read(int64_t layer, RowKind kind, int32_t slot, int64_t begin, int64_t end, float* out) const override;
  void rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                   float* out) const override;
  CompressorCarry compressor_carry(int64_t layer, RowKind kind, int32_t slot) override;

 private:
  struct LayerState {
    std::vector<float> window;         // [sliding_window, head_dim] ring by pos % sliding_window
    std::vector<int64_t> window_pos;   // [sliding_window] position held by each ring slot, -1 if none
    std::vector<float> rows;           // [n_rows, head_dim]
    std::vector<float> index_rows;     // [n_index_rows, index_head_dim]
    std::vector<float> carry_kv;       // attention compressor carry [n_slots, width]
    std::vector<float> carry_score;
    std::vector<float> index_carry_kv; // indexer compressor carry
    std::vector<float> index_carry_score;
  };
  struct Sequence {
    bool live = false;
    int64_t length_main = 0;
    int64_t length_mtp = 0;
    std::vector<LayerState> layers;  // main layers then MTP blocks
  };

  void init_sequence(Sequence& s) const;
  const LayerState& layer_state(int64_t layer, int32_t slot) const;
  LayerState& layer_state(int64_t layer, int32_t slot);
  int64_t row_width(RowKind kind) const;

  ModelConfig config_;
  std::vector<Sequence> seqs_;
};

// Slots and width of a ratio-R compressor's carry (ratio 4 overlaps: 2 blocks, 2x width).
int64_t compressor_carry_slots(int64_t ratio);
int64_t compressor_carry_width(int64_t ratio, int64_t row_dim);

}  // namespace dsv4
