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

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Tokens already processed for `slot` on `stream` (= the next absolute position).
  virtual int64_t length(int32_t slot, CacheStream stream) const = 0;
  virtual void set_length(int32_t slot, CacheStream stream, int64_t n) = 0;

  // Rows move between the cache and buffers in the backend's memory (the forward pass's
  // activations); row lists and counts are host values. Each call moves a run of rows, so
  // that a device backend does it in one launch.
  //
  // Window rows of absolute positions [pos, pos + n) from rows [n, head_dim]; n is at most
  // sliding_window (only the last sliding_window positions can ever be read back).
  virtual void window_write(int64_t layer, int32_t slot, int64_t pos, int64_t n, const float* rows) = 0;
  // rows [n, head_dim] = the window rows of positions [pos, pos + n), each one of the last
  // sliding_window positions written for this layer and slot.
  virtual void window_read(int64_t layer, int32_t slot, int64_t pos, int64_t n, float* rows) const = 0;

  // Compressed rows of `kind` (attention rows are head_dim wide, indexer rows
  // index_head_dim). Rows are written in order: rows [index, index + n) from rows [n, width],
  // where `index` must equal the current count.
  virtual void rows_append(int64_t layer, RowKind kind, int32_t slot, int64_t index, int64_t n, const float* rows) = 0;
  virtual int64_t rows_count(int64_t layer, RowKind kind, int32_t slot) const = 0;
  // Copies rows [begin, end) into out [end-begin, width].
  virtual void rows_read(int64_t layer, RowKind kind, int32_t slot, int64_t begin, int64_t end, float* out) const = 0;
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
