// PagedKvCache: the model's KvCache interface over the paged hybrid layout of src/kv.
//
// Compressed attention and indexer rows live in pages (page tables come from the
// scheduler); each sequence slot holds its window rings, compressor carry, row counts
// and length; snapshots hold the state a prefix-cache hit restores at a page boundary.
// Rows are stored in the most compact format that is lossless for the numerics in use:
// with the reference's simulations on, 584-byte FP8 rows and 68-byte FP4 indexer rows
// (spec §4.1); bf16 or fp32 rows otherwise. MTP blocks (ratio 0) keep a window ring per
// slot and their own stream length.
//
// All of it lives in the backend's memory (on the device for the CUDA backend): rows are
// encoded and decoded by the backend at byte offsets the cache computes on the host from
// its page tables, one launch per call; rows_gather_selected, whose row indices stay on the
// device, uploads the page tables instead and lets the backend compute the offsets. Used by
// the engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "backend/backend_array.h"
#include "kv/kv_layout.h"
#include "kv/page_pool.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace dsv4 {

struct PagedKvFormats {
  KvRowFormat attn = KvRowFormat::kFp8;
  KvRowFormat index = KvRowFormat::kFp4;
  // The most compact lossless formats for these numerics.
  static PagedKvFormats for_numerics(const Numerics& n);
};

// The KV geometry of a model's main layers with the given row formats.
KvGeometry kv_geometry(const ModelConfig& c, const PagedKvFormats& f);

class PagedKvCache final : public KvCache {
 public:
  // Fails (with the sizes) when the backend cannot hold the pools.
  static Result<std::unique_ptr<PagedKvCache>> make(const ModelConfig& config, const KvLayout& layout,
                                                    PagedKvFormats formats, Backend& backend, int64_t n_pages,
                                                    int32_t n_slots, int32_t n_snapshots);

  const KvLayout& layout() const { return layout_; }
  int64_t memory_bytes() const;

  // The page table of a slot (the scheduler's, copied before each step).
  void set_pages(int32_t slot, std::span<const PageId> pages);
  // A slot starting a sequence from nothing: empty windows, carry kv 0 / score -inf.
  void reset_slot(int32_t slot);
  // Copies slot `from` (windows, carry, counts, length) into `to`.
  void copy_slot(int32_t from, int32_t to);
  void copy_page(PageId from, PageId to);
  // The state of `slot` at the page boundary it has just reached -> snapshot.
  void take_snapshot(int32_t slot, int32_t snapshot);
  // A fresh slot resuming at `boundary` from a snapshot (pages come from set_pages).
  void restore_snapshot(int32_t slot, int32_t snapshot, int64_t boundary);

  // KvCache
  int64_t length(int32_t slot, CacheStream stream) const override;
  void set_length(int32_t slot, CacheStream stream, int64_t n) override;
  using KvCache::window_write;
  using KvCache::window_read;
  using KvCache::rows_append;
  using KvCache::rows_read;
  void window_write(int64_t layer, std::span<const CacheRun> runs, const float* rows) override;
  void window_read(int64_t layer, std::span<const CacheRun> runs, float* rows) const override;
  void rows_append(int64_t layer, RowKind kind, std::span<const CacheRun> runs, const float* rows) override;
  int64_t rows_count(int64_t layer, RowKind kind, int32_t slot) const override;
  void rows_read(int64_t layer, RowKind kind, std::span<const CacheRun> runs, float* out) const override;
  void rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                   float* out) const override;
  void rows_gather_selected(int64_t layer, RowKind kind, const int32_t* slots, int64_t n, const int32_t* idx,
                            int64_t k, float* out) const override;
  CompressorCarry compressor_carry(int64_t layer, RowKind kind, int32_t slot) override;

 private:
  PagedKvCache(const ModelConfig& config, const KvLayout& layout, PagedKvFormats formats, Backend& backend,
               int32_t n_slots);
  struct SlotMeta {
    int64_t length = 0;
    int64_t length_mtp = 0;
    std::vector<int64_t> rows;        // [n_layers, 2] attention and indexer row counts
    std::vector<PageId> pages;
  };
  // Byte offsets into the slot pool and the page pool.
  int64_t slot_offset(int32_t slot) const { return static_cast<int64_t>(slot) * layout_.slot_bytes; }
  int64_t window_offset(int64_t layer, int32_t slot, int64_t pos) const;
  // Where rows of `kind` of `layer` sit within a page.
  dsv4k::PagedRows paged_rows(int64_t layer, RowKind kind) const;
  // Offset of row `index` of `kind` of `layer` in the page pool, through the slot's pages.
  int64_t row_offset(int64_t layer, RowKind kind, int32_t slot, int64_t index) const;
  // offsets_host_ = the byte offsets of the runs' window rows / compressed rows, run after
  // run; returns their number.
  int64_t window_offsets(int64_t layer, std::span<const CacheRun> runs) const;
  int64_t row_offsets(int64_t layer, RowKind kind, std::span<const CacheRun> runs) const;
  // Uploads the host offsets of a call (offsets_host_) for the backend.
  const int64_t* upload_offsets() const;
  uint8_t* pages() const { return static_cast<uint8_t*>(pages_->data()); }
  uint8_t* slots() const { return static_cast<uint8_t*>(slots_->data()); }
  uint8_t* snapshots() const { return snapshots_ ? static_cast<uint8_t*>(snapshots_->data()) : nullptr; }
  int64_t rope(RowKind kind) const { return kind == RowKind::kAttention ? config_.qk_rope_head_dim : 0; }
  KvRowFormat format(RowKind kind) const { return kind == RowKind::kAttention ? formats_.attn : formats_.index; }
  int64_t dim(RowKind kind) const { return kind == RowKind::kAttention ? config_.head_dim : config_.index_head_dim; }
  int64_t row_bytes(RowKind kind) const {
    return kind == RowKind::kAttention ? layout_.geometry.attn_row_bytes : layout_.geometry.index_row_bytes;
  }
  void init_carry(int32_t slot, int64_t layer);

  const ModelConfig& config_;
  KvLayout layout_;
  PagedKvFormats formats_;
  Backend& backend_;
  int64_t n_layers_;  // main layers then MTP blocks
  std::unique_ptr<BackendMemory> pages_;      // [n_pages, page_bytes]
  std::unique_ptr<BackendMemory> slots_;      // [n_slots, slot_bytes]
  std::unique_ptr<BackendMemory> snapshots_;  // [n_snapshots, snapshot_bytes]; null when none
  std::vector<SlotMeta> meta_;
  // One call's row offsets, on the host and uploaded, or computed by the backend (reused:
  // uploads and launches are ordered after the launches that read the previous list).
  mutable std::vector<int64_t> offsets_host_;
  mutable BackendArray<int64_t> offsets_;
  // rows_gather_selected's page tables and row counts per token, on the host and uploaded.
  mutable std::vector<int64_t> page_base_host_, counts_host_;  // [n, max_pages], [n]
  mutable BackendArray<int64_t> page_base_, counts_;
};

}  // namespace dsv4
