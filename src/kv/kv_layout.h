// KvLayout: how DeepSeek-V4's per-layer state maps onto pages, slots and snapshots
// (spec §4, DESIGN.md §3). Host-only arithmetic; no memory is touched here.
//
//  - A page holds `page_tokens` tokens (a multiple of 128) of every layer's compressed
//    state: page_tokens/4 attention rows + page_tokens/4 indexer rows on ratio-4 layers,
//    page_tokens/128 attention rows on ratio-128 layers, nothing on ratio-0 layers.
//    Pages are page-major: one page's bytes hold all layers, layer after layer.
//  - A slot holds one running sequence's own state: the raw window ring (sliding_window
//    rows per layer) and the compressors' fp32 carry (kv and score).
//  - A snapshot holds what a prefix-cache hit must restore at a page boundary: the window
//    rows of every layer and the ratio-4 compressors' previous block. At a boundary that
//    is a multiple of 128 every other carry is empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"

namespace dsv4 {

struct KvGeometry {
  std::vector<int64_t> ratios;   // per cache layer (main layers, then MTP blocks): 0, 4 or 128
  int64_t head_dim = 0;          // attention row width
  int64_t index_head_dim = 0;    // indexer row width
  int64_t window = 0;            // raw window rows
  int64_t attn_row_bytes = 0;    // stored size of one attention/window row (format-dependent)
  int64_t index_row_bytes = 0;   // stored size of one indexer row
};

struct KvLayerLayout {
  int64_t ratio = 0;
  int64_t attn_rows_per_page = 0;
  int64_t index_rows_per_page = 0;
  int64_t page_offset = 0;        // where this layer's rows start in a page
  int64_t index_page_offset = 0;  // where its indexer rows start
  int64_t window_offset = 0;      // where its window ring starts in a slot / snapshot
  int64_t carry_offset = 0;       // where its compressor carry starts in a slot (bytes)
  int64_t carry_bytes = 0;        // attention + indexer compressor carry (fp32 kv and score)
  int64_t snapshot_carry_offset = 0;  // where its ratio-4 previous block starts in a snapshot
  int64_t snapshot_carry_bytes = 0;
};

struct KvLayout {
  KvGeometry geometry;
  int64_t page_tokens = 0;
  std::vector<KvLayerLayout> layers;
  int64_t page_bytes = 0;       // all layers' rows of one page
  int64_t slot_bytes = 0;       // one sequence's windows + carries
  int64_t snapshot_bytes = 0;   // windows + ratio-4 previous blocks
  int64_t window_bytes = 0;     // the windows part of slot_bytes

  static Result<KvLayout> make(const KvGeometry& g, int64_t page_tokens);

  int64_t pages_for(int64_t n_tokens) const { return (n_tokens + page_tokens - 1) / page_tokens; }
  // Page bytes per token of context (compressed state only, amortized).
  double bytes_per_token() const { return static_cast<double>(page_bytes) / static_cast<double>(page_tokens); }
  // Everything one sequence of n_tokens occupies: its pages and its slot.
  int64_t sequence_bytes(int64_t n_tokens) const { return pages_for(n_tokens) * page_bytes + slot_bytes; }
  // A human-readable account (for start-up logs).
  std::string describe() const;
};

// Fp32 carry of a ratio-R compressor producing rows of width `dim`: slots x width floats,
// for kv and for score. Ratio 4 overlaps blocks: 8 slots (previous + current block) of
// twice the row width.
int64_t carry_floats(int64_t ratio, int64_t dim);

}  // namespace dsv4
