#include "runtime/standalone_kv_cache.h"

#include <numeric>

#include "core/check.h"

namespace dsv4 {

StandaloneKvCache::StandaloneKvCache(const ModelConfig& config, const Numerics& numerics, Backend& backend,
                                     int32_t n_seqs, int64_t max_tokens)
    : used_(static_cast<size_t>(n_seqs), false) {
  const PagedKvFormats formats = PagedKvFormats::for_numerics(numerics);
  Result<KvLayout> layout = KvLayout::make(kv_geometry(config, formats), 256);
  DSV4_CHECK_MSG(layout.is_ok(), layout.status().to_string());
  pages_per_seq_ = layout->pages_for(max_tokens);
  Result<std::unique_ptr<PagedKvCache>> cache =
      PagedKvCache::make(config, *layout, formats, backend, pages_per_seq_ * n_seqs, n_seqs, 0);
  DSV4_CHECK_MSG(cache.is_ok(), cache.status().to_string());
  cache_ = std::move(cache).value();
}

int32_t StandaloneKvCache::add_sequence() {
  for (size_t s = 0; s < used_.size(); ++s) {
    if (used_[s]) continue;
    used_[s] = true;
    const int32_t slot = static_cast<int32_t>(s);
    // Each sequence owns a fixed run of pages.
    std::vector<PageId> pages(static_cast<size_t>(pages_per_seq_));
    std::iota(pages.begin(), pages.end(), static_cast<PageId>(static_cast<int64_t>(slot) * pages_per_seq_));
    cache_->reset_slot(slot);
    cache_->set_pages(slot, pages);
    return slot;
  }
  return -1;
}

void StandaloneKvCache::remove_sequence(int32_t slot) {
  DSV4_CHECK(slot >= 0 && static_cast<size_t>(slot) < used_.size() && used_[static_cast<size_t>(slot)]);
  used_[static_cast<size_t>(slot)] = false;
}

}  // namespace dsv4
