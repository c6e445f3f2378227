#include "kv/kv_layout.h"

#include <cstdio>

namespace dsv4 {

int64_t carry_floats(int64_t ratio, int64_t dim) {
  if (ratio == 0) return 0;
  const int64_t slots = ratio == 4 ? 2 * ratio : ratio;
  const int64_t width = ratio == 4 ? 2 * dim : dim;
  return 2 * slots * width;  // kv and score
}

Result<KvLayout> KvLayout::make(const KvGeometry& g, int64_t page_tokens) {
  if (page_tokens <= 0 || page_tokens % 128 != 0)
    return invalid_argument("page size must be a positive multiple of 128 tokens, got " + std::to_string(page_tokens));
  if (g.attn_row_bytes <= 0 || g.index_row_bytes <= 0 || g.window <= 0)
    return invalid_argument("KV geometry needs positive row sizes and window");
  KvLayout l;
  l.geometry = g;
  l.page_tokens = page_tokens;
  int64_t page = 0, window = 0, carry = 0, snap_carry = 0;
  for (int64_t ratio : g.ratios) {
    if (ratio != 0 && ratio != 4 && ratio != 128)
      return invalid_argument("compress ratio must be 0, 4 or 128, got " + std::to_string(ratio));
    KvLayerLayout ll;
    ll.ratio = ratio;
    ll.attn_rows_per_page = ratio == 0 ? 0 : page_tokens / ratio;
    ll.index_rows_per_page = ratio == 4 ? page_tokens / 4 : 0;
    ll.page_offset = page;
    page += ll.attn_rows_per_page * g.attn_row_bytes;
    ll.index_page_offset = page;
    page += ll.index_rows_per_page * g.index_row_bytes;
    ll.window_offset = window;
    window += g.window * g.attn_row_bytes;
    ll.carry_offset = carry;
    ll.carry_bytes = 4 * (carry_floats(ratio, g.head_dim) + (ratio == 4 ? carry_floats(ratio, g.index_head_dim) : 0));
    carry += ll.carry_bytes;
    // At a page boundary only the ratio-4 compressors still need their previous block:
    // half of their carry (the current block is empty).
    ll.snapshot_carry_offset = snap_carry;
    ll.snapshot_carry_bytes = ratio == 4 ? ll.carry_bytes / 2 : 0;
    snap_carry += ll.snapshot_carry_bytes;
    l.layers.push_back(ll);
  }
  // Align each region to 64 bytes so rows can be read with aligned vector loads.
  auto align = [](int64_t b) { return (b + 63) / 64 * 64; };
  l.page_bytes = align(page);
  l.window_bytes = align(window);
  l.slot_bytes = l.window_bytes + align(carry);
  l.snapshot_bytes = l.window_bytes + align(snap_carry);
  for (KvLayerLayout& ll : l.layers) ll.carry_offset += l.window_bytes;
  for (KvLayerLayout& ll : l.layers) ll.snapshot_carry_offset += l.window_bytes;
  return l;
}

std::string KvLayout::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "page %lld tokens = %.1f KiB (%.1f B/token); sequence slot %.2f MiB; snapshot %.2f MiB",
                static_cast<long long>(page_tokens), static_cast<double>(page_bytes) / 1024.0, bytes_per_token(),
                static_cast<double>(slot_bytes) / (1 << 20), static_cast<double>(snapshot_bytes) / (1 << 20));
  return buf;
}

}  // namespace dsv4
