#include "runtime/paged_kv_cache.h"

#include <algorithm>
#include <limits>
#include <string>

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
                           Backend& backend, int32_t n_slots)
    : config_(config), layout_(layout), formats_(formats), backend_(backend),
      n_layers_(static_cast<int64_t>(config.compress_ratios.size())), meta_(static_cast<size_t>(n_slots)) {}

Result<std::unique_ptr<PagedKvCache>> PagedKvCache::make(const ModelConfig& config, const KvLayout& layout,
                                                         PagedKvFormats formats, Backend& backend, int64_t n_pages,
                                                         int32_t n_slots, int32_t n_snapshots) {
  std::unique_ptr<PagedKvCache> c(new PagedKvCache(config, layout, formats, backend, n_slots));
  auto pool = [&](const char* what, int64_t count, int64_t each, std::unique_ptr<BackendMemory>* out) -> Status {
    const size_t bytes = static_cast<size_t>(count) * static_cast<size_t>(each);
    if (bytes == 0) return Status::ok();
    Result<std::unique_ptr<BackendMemory>> m = backend.allocate(bytes);
    if (!m.is_ok())
      return resource_exhausted(std::string("KV cache ") + what + " (" + std::to_string(count) + " x " +
                                std::to_string(each) + " bytes): " + m.status().message());
    *out = std::move(m).value();
    return Status::ok();
  };
  DSV4_RETURN_IF_ERROR(pool("pages", std::max<int64_t>(n_pages, 1), layout.page_bytes, &c->pages_));
  DSV4_RETURN_IF_ERROR(pool("sequence slots", std::max<int32_t>(n_slots, 1), layout.slot_bytes, &c->slots_));
  DSV4_RETURN_IF_ERROR(pool("snapshots", n_snapshots, layout.snapshot_bytes, &c->snapshots_));
  for (int32_t s = 0; s < n_slots; ++s) c->reset_slot(s);
  return c;
}

int64_t PagedKvCache::memory_bytes() const {
  int64_t b = 0;
  for (const auto* m : {&pages_, &slots_, &snapshots_})
    if (*m) b += static_cast<int64_t>((*m)->bytes());
  return b;
}

void PagedKvCache::set_pages(int32_t slot, std::span<const PageId> pages) {
  meta_[static_cast<size_t>(slot)].pages.assign(pages.begin(), pages.end());
}

void PagedKvCache::init_carry(int32_t slot, int64_t layer) {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  if (ll.carry_bytes == 0) return;
  float* c = reinterpret_cast<float*>(slots() + slot_offset(slot) + ll.carry_offset);
  // Per compressor: kv then score. An unfilled slot pools with weight 0: kv 0, score -inf.
  auto init = [&](int64_t n) {
    backend_.fill(c, n, 0.0f);
    backend_.fill(c + n, n, -std::numeric_limits<float>::infinity());
    c += 2 * n;
  };
  init(carry_floats(ll.ratio, config_.head_dim) / 2);
  if (ll.ratio == 4) init(carry_floats(ll.ratio, config_.index_head_dim) / 2);
}

void PagedKvCache::reset_slot(int32_t slot) {
  SlotMeta& m = meta_[static_cast<size_t>(slot)];
  m.length = 0;
  m.length_mtp = 0;
  m.rows.assign(static_cast<size_t>(2 * n_layers_), 0);
  m.pages.clear();
  backend_.zero(slots() + slot_offset(slot), static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) init_carry(slot, l);
}

void PagedKvCache::copy_slot(int32_t from, int32_t to) {
  backend_.copy(slots() + slot_offset(to), slots() + slot_offset(from), static_cast<size_t>(layout_.slot_bytes));
  SlotMeta& t = meta_[static_cast<size_t>(to)];
  const SlotMeta& f = meta_[static_cast<size_t>(from)];
  t.length = f.length;
  t.length_mtp = f.length_mtp;
  t.rows = f.rows;
}

void PagedKvCache::copy_page(PageId from, PageId to) {
  const size_t pb = static_cast<size_t>(layout_.page_bytes);
  backend_.copy(pages() + static_cast<size_t>(to) * pb, pages() + static_cast<size_t>(from) * pb, pb);
}

namespace {

// Bytes of the first half of one ratio-4 carry array (slots 0..3, the previous block): all a
// resumed sequence needs, since the current block is empty at a page boundary. The carry
// holds four arrays (attention kv, score, indexer kv, score); a snapshot their first halves.
int64_t carry_half_bytes(int64_t dim) { return carry_floats(4, dim) / 4 * 4; }

}  // namespace

void PagedKvCache::take_snapshot(int32_t slot, int32_t snapshot) {
  uint8_t* snap = snapshots() + static_cast<size_t>(snapshot) * static_cast<size_t>(layout_.snapshot_bytes);
  const uint8_t* base = slots() + slot_offset(slot);
  // At a boundary that is a multiple of 128 the ring slots hold the last window rows in
  // position order, so the rings copy verbatim.
  backend_.copy(snap, base, static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) {
    const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(l)];
    if (ll.snapshot_carry_bytes == 0) continue;
    const uint8_t* src = base + ll.carry_offset;
    uint8_t* dst = snap + ll.snapshot_carry_offset;
    for (int64_t dim : {config_.head_dim, config_.index_head_dim}) {
      const size_t half = static_cast<size_t>(carry_half_bytes(dim));
      backend_.copy_2d(dst, half, src, 2 * half, half, 2);  // kv and score
      dst += 2 * half;
      src += 4 * half;
    }
  }
}

void PagedKvCache::restore_snapshot(int32_t slot, int32_t snapshot, int64_t boundary) {
  const uint8_t* snap = snapshots() + static_cast<size_t>(snapshot) * static_cast<size_t>(layout_.snapshot_bytes);
  std::vector<PageId> pages = std::move(meta_[static_cast<size_t>(slot)].pages);
  reset_slot(slot);
  SlotMeta& m = meta_[static_cast<size_t>(slot)];
  m.pages = std::move(pages);
  uint8_t* base = slots() + slot_offset(slot);
  backend_.copy(base, snap, static_cast<size_t>(layout_.window_bytes));
  for (int64_t l = 0; l < n_layers_; ++l) {
    const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(l)];
    if (ll.ratio > 0) m.rows[static_cast<size_t>(2 * l)] = boundary / ll.ratio;
    if (ll.ratio == 4) m.rows[static_cast<size_t>(2 * l + 1)] = boundary / 4;
    if (ll.snapshot_carry_bytes == 0) continue;
    const uint8_t* src = snap + ll.snapshot_carry_offset;
    uint8_t* dst = base + ll.carry_offset;
    for (int64_t dim : {config_.head_dim, config_.index_head_dim}) {
      const size_t half = static_cast<size_t>(carry_half_bytes(dim));
      backend_.copy_2d(dst, 2 * half, src, half, half, 2);
      src += 2 * half;
      dst += 4 * half;
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

int64_t PagedKvCache::window_offset(int64_t layer, int32_t slot, int64_t pos) const {
  return slot_offset(slot) + layout_.layers[static_cast<size_t>(layer)].window_offset +
         (pos % config_.sliding_window) * layout_.geometry.attn_row_bytes;
}

const int64_t* PagedKvCache::upload_offsets() const {
  offsets_.assign(backend_, offsets_host_);
  return offsets_.data();
}

int64_t PagedKvCache::window_offsets(int64_t layer, std::span<const CacheRun> runs) const {
  DSV4_CHECK(layer < n_layers_);
  offsets_host_.clear();
  for (const CacheRun& r : runs) {
    DSV4_CHECK(r.n >= 0 && r.n <= config_.sliding_window);
    for (int64_t i = 0; i < r.n; ++i) offsets_host_.push_back(window_offset(layer, r.slot, r.first + i));
  }
  return static_cast<int64_t>(offsets_host_.size());
}

void PagedKvCache::window_write(int64_t layer, std::span<const CacheRun> runs, const float* rows) {
  const int64_t n = window_offsets(layer, runs);
  if (n == 0) return;
  backend_.encode_kv_rows_at(formats_.attn, rows, n, config_.head_dim, config_.head_dim, config_.qk_rope_head_dim,
                             slots(), upload_offsets());
}

void PagedKvCache::window_read(int64_t layer, std::span<const CacheRun> runs, float* rows) const {
  const int64_t n = window_offsets(layer, runs);
  if (n == 0) return;
  backend_.decode_kv_rows_at(formats_.attn, slots(), upload_offsets(), n, config_.head_dim, config_.qk_rope_head_dim,
                             rows, config_.head_dim);
}

dsv4k::PagedRows PagedKvCache::paged_rows(int64_t layer, RowKind kind) const {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  const bool attn = kind == RowKind::kAttention;
  const dsv4k::PagedRows r{attn ? ll.attn_rows_per_page : ll.index_rows_per_page,
                           attn ? ll.page_offset : ll.index_page_offset, row_bytes(kind)};
  DSV4_CHECK(r.rows_per_page > 0);
  return r;
}

int64_t PagedKvCache::row_offset(int64_t layer, RowKind kind, int32_t slot, int64_t index) const {
  const dsv4k::PagedRows r = paged_rows(layer, kind);
  const std::vector<PageId>& pages = meta_[static_cast<size_t>(slot)].pages;
  const int64_t page_index = index / r.rows_per_page;
  DSV4_CHECK_MSG(page_index < static_cast<int64_t>(pages.size()), "KV row beyond the sequence's pages");
  return static_cast<int64_t>(pages[static_cast<size_t>(page_index)]) * layout_.page_bytes + r.first_row +
         (index % r.rows_per_page) * r.row_bytes;
}

int64_t PagedKvCache::row_offsets(int64_t layer, RowKind kind, std::span<const CacheRun> runs) const {
  offsets_host_.clear();
  for (const CacheRun& r : runs) {
    DSV4_CHECK(r.n >= 0);
    for (int64_t i = 0; i < r.n; ++i) offsets_host_.push_back(row_offset(layer, kind, r.slot, r.first + i));
  }
  return static_cast<int64_t>(offsets_host_.size());
}

void PagedKvCache::rows_append(int64_t layer, RowKind kind, std::span<const CacheRun> runs, const float* rows) {
  for (const CacheRun& r : runs) {
    int64_t& count =
        meta_[static_cast<size_t>(r.slot)].rows[static_cast<size_t>(2 * layer + (kind == RowKind::kIndexer))];
    DSV4_CHECK(r.first == count);
    count += r.n;
  }
  const int64_t n = row_offsets(layer, kind, runs);
  if (n == 0) return;
  backend_.encode_kv_rows_at(format(kind), rows, n, dim(kind), dim(kind), rope(kind), pages(), upload_offsets());
}

int64_t PagedKvCache::rows_count(int64_t layer, RowKind kind, int32_t slot) const {
  return meta_[static_cast<size_t>(slot)].rows[static_cast<size_t>(2 * layer + (kind == RowKind::kIndexer))];
}

void PagedKvCache::rows_read(int64_t layer, RowKind kind, std::span<const CacheRun> runs, float* out) const {
  for (const CacheRun& r : runs) DSV4_CHECK(r.first >= 0 && r.first + r.n <= rows_count(layer, kind, r.slot));
  const int64_t n = row_offsets(layer, kind, runs);
  if (n == 0) return;
  backend_.decode_kv_rows_at(format(kind), pages(), upload_offsets(), n, dim(kind), rope(kind), out, dim(kind));
}

void PagedKvCache::rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                               float* out) const {
  if (n == 0) return;
  const int64_t count = rows_count(layer, kind, slot);
  offsets_host_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    DSV4_CHECK(idx[i] >= 0 && idx[i] < count);
    offsets_host_[static_cast<size_t>(i)] = row_offset(layer, kind, slot, idx[i]);
  }
  backend_.decode_kv_rows_at(format(kind), pages(), upload_offsets(), n, dim(kind), rope(kind), out, dim(kind));
}

void PagedKvCache::rows_gather_selected(int64_t layer, RowKind kind, const int32_t* slots, int64_t n,
                                        const int32_t* idx, int64_t k, float* out) const {
  if (n == 0 || k == 0) return;
  const dsv4k::PagedRows r = paged_rows(layer, kind);
  // The page tables as byte offsets, one row per token (-1 past a sequence's last page), so
  // that the device resolves every entry on its own.
  size_t max_pages = 1;
  for (int64_t t = 0; t < n; ++t) max_pages = std::max(max_pages, meta_[static_cast<size_t>(slots[t])].pages.size());
  page_base_host_.assign(static_cast<size_t>(n) * max_pages, -1);
  counts_host_.resize(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    const std::vector<PageId>& pages = meta_[static_cast<size_t>(slots[t])].pages;
    int64_t* base = page_base_host_.data() + static_cast<size_t>(t) * max_pages;
    for (size_t p = 0; p < pages.size(); ++p) base[p] = static_cast<int64_t>(pages[p]) * layout_.page_bytes;
    counts_host_[static_cast<size_t>(t)] = rows_count(layer, kind, slots[t]);
  }
  page_base_.assign(backend_, page_base_host_);
  counts_.assign(backend_, counts_host_);
  offsets_.resize(backend_, static_cast<size_t>(n * k));
  backend_.selected_row_offsets(idx, n, k, page_base_.data(), static_cast<int64_t>(max_pages), counts_.data(), r,
                                offsets_.data());
  backend_.decode_kv_rows_at(format(kind), pages(), offsets_.data(), n * k, dim(kind), rope(kind), out, dim(kind));
}

CompressorCarry PagedKvCache::compressor_carry(int64_t layer, RowKind kind, int32_t slot) {
  const KvLayerLayout& ll = layout_.layers[static_cast<size_t>(layer)];
  DSV4_CHECK(ll.ratio > 0 && (kind == RowKind::kAttention || ll.ratio == 4));
  const int64_t d = dim(kind);
  const int64_t n_slots = compressor_carry_slots(ll.ratio);
  const int64_t width = compressor_carry_width(ll.ratio, d);
  float* base = reinterpret_cast<float*>(slots() + slot_offset(slot) + ll.carry_offset);
  if (kind == RowKind::kIndexer) base += 2 * compressor_carry_slots(ll.ratio) * compressor_carry_width(ll.ratio, config_.head_dim);
  return {base, base + n_slots * width, n_slots, width};
}

}  // namespace dsv4
