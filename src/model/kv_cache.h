// KvCache: how the layers reach per-sequence state (spec §4.1), behind an interface so
// that the contiguous store of this module and the paged cache of src/kv can be swapped
// without touching the layers.
//
// Four kinds of state per layer and sequence:
//  - the raw window: the last `sliding_window` KV rows (head_dim wide), by absolute position;
//  - compressed attention rows (ratio 4 and 128 layers), by row index;
//  - indexer key rows (ratio 4 layers), by row index;
//  - the compressors' carry state: fp32 projections (kv, score) of the tokens that a
//    future row still needs (ratio 4: previous + current block; ratio 128: current block).
// Rows are stored as the fp32 values the reference would hold (bf16 values, after the FP8
// simulation when it is on), so any layout that stores them losslessly is equivalent.
//
// Layer ids 0 .. num_hidden_layers-1 are the main layers; num_hidden_layers + i is MTP
// block i, which has its own window and its own length (its positions trail the main
// model's by one token).
#pragma once

#include <cstdint>
#include <span>

#include "dsv4/status.h"

namespace dsv4 {

enum class RowKind : uint8_t { kAttention, kIndexer };

// Which position counter a forward advances: the main model's or the MTP block's.
enum class CacheStream : uint8_t { kMain, kMtp };

// Carry state of one compressor of one sequence: n_slots token slots, each `width` fp32
// values of kv and of score. Slot i of a ratio-R compressor holds the token at block
// offset i (ratio 4: slots 0..3 previous block, 4..7 current block).
struct CompressorCarry {
  float* kv = nullptr;     // [n_slots, width]
  float* score = nullptr;  // [n_slots, width]
  int64_t n_slots = 0;
  int64_t width = 0;
};

// Slots and width of a ratio-R compressor's carry: ratio 4 overlaps two blocks of
// 2x-wide projections (previous + current block), ratio 128 keeps the current block.
inline int64_t compressor_carry_slots(int64_t ratio) { return ratio == 4 ? 2 * ratio : ratio; }
inline int64_t compressor_carry_width(int64_t ratio, int64_t row_dim) { return ratio == 4 ? 2 * row_dim : row_dim; }

// A run of one sequence's rows: window positions [first, first + n), or compressed row
// indices [first, first + n), of the sequence in `slot`. A batched call takes a list of runs
// and the rows of all of them in one buffer, run after run, so that a device backend moves
// the rows of a whole step in one launch however many sequences it holds.
struct CacheRun {
  int32_t slot = 0;
  int64_t first = 0;
  int64_t n = 0;
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Tokens already processed for `slot` on `stream` (= the next absolute position).
  virtual int64_t length(int32_t slot, CacheStream stream) const = 0;
  virtual void set_length(int32_t slot, CacheStream stream, int64_t n) = 0;

  // Rows move between the cache and buffers in the backend's memory (the forward pass's
  // activations); runs, row lists and counts are host values. Each call moves all the rows
  // of its runs, so that a device backend does it in one launch.
  //
  // Window rows: rows [Σ n, head_dim] to / from the window positions of the runs, run after
  // run. A run's n is at most sliding_window (only the last sliding_window positions can ever
  // be read back); a read names positions among the last sliding_window written for its slot.
  // A write names each ring row once: a slot's runs together span at most sliding_window
  // positions.
  virtual void window_write(int64_t layer, std::span<const CacheRun> runs, const float* rows) = 0;
  virtual void window_read(int64_t layer, std::span<const CacheRun> runs, float* rows) const = 0;
  void window_write(int64_t layer, int32_t slot, int64_t pos, int64_t n, const float* rows) {
    const CacheRun run{slot, pos, n};
    window_write(layer, std::span(&run, 1), rows);
  }
  void window_read(int64_t layer, int32_t slot, int64_t pos, int64_t n, float* rows) const {
    const CacheRun run{slot, pos, n};
    window_read(layer, std::span(&run, 1), rows);
  }

  // Compressed rows of `kind` (attention rows are head_dim wide, indexer rows
  // index_head_dim), rows [Σ n, width] run after run. Rows are written in order: each run's
  // `first` must equal its slot's current count (counting the earlier runs of the call).
  virtual void rows_append(int64_t layer, RowKind kind, std::span<const CacheRun> runs, const float* rows) = 0;
  virtual int64_t rows_count(int64_t layer, RowKind kind, int32_t slot) const = 0;
  // Each run's rows, each below its slot's rows_count.
  virtual void rows_read(int64_t layer, RowKind kind, std::span<const CacheRun> runs, float* out) const = 0;
  void rows_append(int64_t layer, RowKind kind, int32_t slot, int64_t index, int64_t n, const float* rows) {
    const CacheRun run{slot, index, n};
    rows_append(layer, kind, std::span(&run, 1), rows);
  }
  // Copies rows [begin, end) into out [end-begin, width].
  void rows_read(int64_t layer, RowKind kind, int32_t slot, int64_t begin, int64_t end, float* out) const {
    const CacheRun run{slot, begin, end > begin ? end - begin : 0};
    rows_read(layer, kind, std::span(&run, 1), out);
  }
  // Copies the rows listed in idx (a host array of n entries, each < rows_count) into out [n, width].
  virtual void rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                           float* out) const = 0;
  // The same for the tokens of a step, with the selection left in the backend's memory (the
  // indexer's top-k, never read on the host, so that no device -> host synchronization
  // happens): out [n·k, width] row t·k + j = row idx[t·k + j] of the sequence in slots[t],
  // for t < n, j < k. slots is a host array of n slots (a sequence's tokens repeat its slot);
  // idx [n, k] is in the backend's memory. Entries are not checked on the host: -1 (nothing
  // selected), and any index not below the sequence's rows_count, give a row of zeros.
  virtual void rows_gather_selected(int64_t layer, RowKind kind, const int32_t* slots, int64_t n,
                                    const int32_t* idx, int64_t k, float* out) const = 0;

  // The carry arrays live in the backend's memory: read and written with its copies.
  virtual CompressorCarry compressor_carry(int64_t layer, RowKind kind, int32_t slot) = 0;
};

}  // namespace dsv4
