#include "runtime/paged_kv_cache.h"

#include <cstring>
#include <limits>

#include "core/check.h"
#include "model/kv_cache.h"

namespace dsv4 {

PagedKvFormats PagedKvFormats::for_numerics(const Numerics& n) {
  PagedKvFormats f;
  // Compact rows are exact only for the values the reference's simulations produce:
  // bf16 activations with the FP8 / FP4 round trips applied.
  if (!n.bf16_activations) {
    f.attn = KvRowFormat::kF32;
    f.index = KvRowFormat::kF32;
    return f;
  }
  f.attn = n.simulate_kv_fp8 ? KvRowFormat::kFp8 : KvRowFormat::kBf16;
  f.index = n.simulate_indexer_fp4 ? KvRowFormat::kFp4 : KvRowFormat::kBf16;
  return f;
}

KvGeometry kv_geometry(const ModelConfig& c, const PagedKvFormats& f) {
  KvGeometry g;
  // Main layers, then the MTP blocks (ratio 0: a window ring each).
  g.ratios = c.compress_ratios;
  g.head_dim = c.head_dim;
  g.index_head_dim = c.index_head_dim;
  g.window = c.sliding_window;
  g.attn_row_bytes = kv_row_bytes(f.attn, c.head_dim, c.qk_rope_head_dim);
  g.index_row_bytes = kv_row_bytes(f.index, c.index_head_dim, 0);
  return g;
}

PagedKvCache::PagedKvCache(const ModelConfig& config, const KvLayout& layout, PagedKvFormats formats,
                           Backend& backend, int64_t n_pages, int32_t n_slots, int32_t n_snapshots)
    : config_(config), layout_(layout), formats_(formats), backend_(backend),
      n_layers_(static_cast<int64_t>(config.compress_ratios.size())), meta_(static_cast<size_t>(n_slots)) {
  // Rows are always written before they are read, and snapshots before they are restored:
  // leave the pools untouched so that memory is committed only as it fills.
  pages_.resize_uninitialized(static_cast<size_t>(n_pages * layout_.page_bytes));
  slots_.resize(static_cast<size_t>(n_slots) * static_cast<size_t>(layout_.slot_bytes));
  snapshots_.resize_uninitialized(static_cast<size_t>(n_snapshots) * static_cast<size_t>(layout_.snapshot_bytes));
  for (int32_t s = 0; s < n_slots; ++s) reset_slot(s);
}

int64_t PagedKvCache::memory_bytes() const {
  return static_cast<int64_t>(pages_.size() + slots_.size() + snapshots_.size());
}

void PagedKvCache::set_pages(int32_t slot, std::span<const PageId> pages) {
  meta_[static_cast<size_t>(slot)].pages.assign(pages.begin(), pages.end());
}

void PagedKvCache::init_carry(int32_t slot, int64_t layer) {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  if (ll.carry_bytes == 0) return;
  float* c = reinterpret_cast<float*>(slot_base(slot) + ll.carry_offset);
  // Per compressor: kv then score. An unfilled slot pools with weight 0: kv 0, score -inf.
  auto init = [&](float*& p, int64_t n) {
    std::memset(p, 0, static_cast<size_t>(n) * sizeof(float));
    p += n;
    for (int64_t i = 0; i < n; ++i) p[i] = -std::numeric_limits<float>::infinity();
    p += n;
  };
  init(c, carry_floats(ll.ratio, config_.head_dim) / 2);
  if (ll.ratio == 4) init(c, carry_floats(ll.ratio, config_.index_head_dim) / 2);
}

void PagedKvCache::reset_slot(int32_t slot) {
  SlotMeta& m = meta_[static_cast<size_t>(slot)];
  m.length = 0;
  m.length_mtp = 0;
  m.rows.assign(static_cast<size_t>(2 * n_layers_), 0);
  m.pages.clear();
  std::memset(slot_base(slot), 0, static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) init_carry(slot, l);
}

void PagedKvCache::copy_slot(int32_t from, int32_t to) {
  std::memcpy(slot_base(to), slot_base(from), static_cast<size_t>(layout_.slot_bytes));
  SlotMeta& t = meta_[static_cast<size_t>(to)];
  const SlotMeta& f = meta_[static_cast<size_t>(from)];
  t.length = f.length;
  t.length_mtp = f.length_mtp;
  t.rows = f.rows;
}

void PagedKvCache::copy_page(PageId from, PageId to) {
  std::memcpy(pages_.data() + static_cast<size_t>(to) * static_cast<size_t>(layout_.page_bytes),
              pages_.data() + static_cast<size_t>(from) * static_cast<size_t>(layout_.page_bytes),
              static_cast<size_t>(layout_.page_bytes));
}

void PagedKvCache::take_snapshot(int32_t slot, int32_t snapshot) {
  uint8_t* snap = snapshots_.data() + static_cast<size_t>(snapshot) * static_cast<size_t>(layout_.snapshot_bytes);
  const uint8_t* base = slot_base(slot);
  // At a boundary that is a multiple of 128 the ring slots hold the last window rows in
  // position order, so the rings copy verbatim.
  std::memcpy(snap, base, static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) {
    const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(l)];
    if (ll.snapshot_carry_bytes == 0) continue;
    // Ratio 4: the first half of each carry array (slots 0..3, the previous block) is all
    // a resumed sequence needs; the current block is empty at the boundary.
    const uint8_t* src = base + ll.carry_offset;
    uint8_t* dst = snap + ll.snapshot_carry_offset;
    for (int64_t part = 0; part < 4; ++part) {
      const int64_t dim = part < 2 ? config_.head_dim : config_.index_head_dim;
      const int64_t half = carry_floats(4, dim) / 4 * 4;  // bytes of one array's first half
      std::memcpy(dst, src, static_cast<size_t>(half));
      dst += half;
      src += 2 * half;
    }
  }
}

void PagedKvCache::restore_snapshot(int32_t slot, int32_t snapshot, int64_t boundary) {
  const uint8_t* snap = snapshots_.data() + static_cast<size_t>(snapshot) * static_cast<size_t>(layout_.snapshot_bytes);
  std::vector<PageId> pages = std::move(meta_[static_cast<size_t>(slot)].pages);
  reset_slot(slot);
  SlotMeta& m = meta_[static_cast<size_t>(slot)];
  m.pages = std::move(pages);
  uint8_t* base = slot_base(slot);
  std::memcpy(base, snap, static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) {
    const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(l)];
    if (ll.ratio > 0) m.rows[static_cast<size_t>(2 * l)] = boundary / ll.ratio;
    if (ll.ratio == 4) m.rows[static_cast<size_t>(2 * l + 1)] = boundary / 4;
    if (ll.snapshot_carry_bytes == 0) continue;
    const uint8_t* src = snap + ll.snapshot_carry_offset;
    uint8_t* dst = base + ll.carry_offset;
    for (int64_t part = 0; part < 4; ++part) {
      const int64_t dim = part < 2 ? config_.head_dim : config_.index_head_dim;
      const int64_t half = carry_floats(4, dim) / 4 * 4;
      std::memcpy(dst, src, static_cast<size_t>(half));
      src += half;
      dst += 2 * half;
    }
  }
  m.length = boundary;
}

int64_t PagedKvCache::length(int32_t slot, CacheStream stream) const {
  const SlotMeta& m = meta_[static_cast<size_t>(slot)];
  switch (stream) {
    case CacheStream::kMain: return m.length;
    case CacheStream::kMtp: return m.length_mtp;
  }
  return 0;
}

void PagedKvCache::set_length(int32_t slot, CacheStream stream, int64_t n) {
  SlotMeta& m = meta_[static_cast<size_t>(slot)];
  switch (stream) {
    case CacheStream::kMain: m.length = n; return;
    case CacheStream::kMtp: m.length_mtp = n; return;
  }
}

void PagedKvCache::window_write(int64_t layer, int32_t slot, int64_t pos, const float* row) {
  DSV4_CHECK(layer < n_layers_);
  const int64_t ring = pos % config_.sliding_window;
  uint8_t* dst = slot_base(slot) + layout_.layers[static_cast<size_t>(layer)].window_offset +
                 ring * layout_.geometry.attn_row_bytes;
  backend_.encode_kv_rows(formats_.attn, row, 1, config_.head_dim, config_.head_dim, config_.qk_rope_head_dim, dst);
}

void PagedKvCache::window_read(int64_t layer, int32_t slot, int64_t pos, float* row) const {
  DSV4_CHECK(layer < n_layers_);
  const int64_t ring = pos % config_.sliding_window;
  const uint8_t* src = slot_base(slot) + layout_.layers[static_cast<size_t>(layer)].window_offset +
                       ring * layout_.geometry.attn_row_bytes;
  backend_.decode_kv_rows(formats_.attn, src, 1, config_.head_dim, config_.qk_rope_head_dim, row, config_.head_dim);
}

uint8_t* PagedKvCache::row_address(int64_t layer, RowKind kind, int32_t slot, int64_t index) const {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  const int64_t per_page = kind == RowKind::kAttention ? ll.attn_rows_per_page : ll.index_rows_per_page;
  DSV4_CHECK(per_page > 0);
  const std::vector<PageId>& pages = meta_[static_cast<size_t>(slot)].pages;
  const int64_t page_index = index / per_page;
  DSV4_CHECK_MSG(page_index < static_cast<int64_t>(pages.size()), "KV row beyond the sequence's pages");
  const int64_t offset = (kind == RowKind::kAttention ? ll.page_offset : ll.index_page_offset) +
                         (index % per_page) * row_bytes(kind);
  return const_cast<uint8_t*>(pages_.data()) +
         static_cast<size_t>(pages[static_cast<size_t>(page_index)]) * static_cast<size_t>(layout_.page_bytes) +
         static_cast<size_t>(offset);
}

void PagedKvCache::rows_append(int64_t layer, RowKind kind, int32_t slot, int64_t index, const float* row) {
  int64_t& count = meta_[static_cast<size_t>(slot)].rows[static_cast<size_t>(2 * layer + (kind == RowKind::kIndexer))];
  DSV4_CHECK(index == count);
  backend_.encode_kv_rows(format(kind), row, 1, dim(kind), dim(kind),
                          kind == RowKind::kAttention ? config_.qk_rope_head_dim : 0,
                          row_address(layer, kind, slot, index));
  ++count;
}

int64_t PagedKvCache::rows_count(int64_t layer, RowKind kind, int32_t slot) const {
  return meta_[static_cast<size_t>(slot)].rows[static_cast<size_t>(2 * layer + (kind == RowKind::kIndexer))];
}

void PagedKvCache::rows_read(int64_t layer, RowKind kind, int32_t slot, int64_t begin, int64_t end,
                             float* out) const {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  const int64_t per_page = kind == RowKind::kAttention ? ll.attn_rows_per_page : ll.index_rows_per_page;
  const int64_t d = dim(kind);
  const int64_t rope = kind == RowKind::kAttention ? config_.qk_rope_head_dim : 0;
  // Rows are contiguous within a page: decode page by page.
  for (int64_t i = begin; i < end;) {
    const int64_t run = std::min(end - i, per_page - i % per_page);
    backend_.decode_kv_rows(format(kind), row_address(layer, kind, slot, i), run, d, rope, out + (i - begin) * d, d);
    i += run;
  }
}

void PagedKvCache::rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                               float* out) const {
  const int64_t d = dim(kind);
  const int64_t rope = kind == RowKind::kAttention ? config_.qk_rope_head_dim : 0;
  for (int64_t i = 0; i < n; ++i)
    backend_.decode_kv_rows(format(kind), row_address(layer, kind, slot, idx[i]), 1, d, rope, out + i * d, d);
}

CompressorCarry PagedKvCache::compressor_carry(int64_t layer, RowKind kind, int32_t slot) {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  DSV4_CHECK(ll.ratio > 0 && (kind == RowKind::kAttention || ll.ratio == 4));
  const int64_t d = dim(kind);
  const int64_t n_slots = compressor_carry_slots(ll.ratio);
  const int64_t width = compressor_carry_width(ll.ratio, d);
  float* base = reinterpret_cast<float*>(slot_base(slot) + ll.carry_offset);
  if (kind == RowKind::kIndexer) base += 2 * compressor_carry_slots(ll.ratio) * compressor_carry_width(ll.ratio, config_.head_dim);
  return {base, base + n_slots * width, n_slots, width};
}

}  // namespace dsv4
