// PrefixCache: full KV pages keyed by a hash chain of their tokens, plus snapshots of the
// per-sequence state (window rows, ratio-4 compressor carry) at page boundaries.
//
// A page i of a prompt is identified by its parent page (the cached page holding tokens
// [0, i·P)) and its own P tokens; the hash of that pair indexes the table, and a hit is
// confirmed by comparing the parent identity and the tokens themselves, so a hash
// collision can never serve another prompt's state. Parent identities carry the page's
// allocation epoch: entries under a page that was evicted and reused never match.
//
// A request can resume only where the window and carry state were snapshotted, so a hit
// ends at the deepest matched page whose end has a snapshot. Snapshots live in a fixed
// number of slots, recycled least recently used first.
//
// Host-only bookkeeping: page and snapshot contents are the engine's.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/page_pool.h"

namespace dsv4 {

struct PrefixMatch {
  std::vector<PageId> pages;  // the matched prefix's pages, in order
  int32_t snapshot = -1;      // snapshot slot at the end of the last page (-1: no match)
  int64_t n_tokens = 0;       // pages.size() · page_tokens
};

struct PrefixCacheStats {
  int64_t n_registered = 0;      // pages in the table
  int64_t n_snapshots_used = 0;
  int64_t lookups = 0;
  int64_t lookup_tokens = 0;     // tokens asked for
  int64_t hit_tokens = 0;        // tokens found
};

class PrefixCache {
 public:
  // Installs itself as the pool's eviction listener.
  PrefixCache(PagePool& pool, int64_t page_tokens, int64_t n_snapshots);

  int64_t page_tokens() const { return page_tokens_; }
  int64_t n_snapshots() const { return static_cast<int64_t>(snap_owner_.size()); }

  // The longest prefix of tokens[0, max_tokens) that ends at a registered page with a
  // snapshot. Read-only; acquire() pins the result.
  PrefixMatch lookup(std::span<const int32_t> tokens, int64_t max_tokens);

  // Takes a reference on every page of the match (for a new sequence).
  void acquire(const PrefixMatch& m);

  // Registers page `pages[i]` holding tokens [i·P, (i+1)·P) of `tokens`, under the cached
  // page of the prefix [0, i·P) (which need not be pages[i-1] when that page duplicated
  // an already cached one). Returns the page now registered for that prefix: pages[i], or
  // the equal page that was already cached (-1 if the prefix's parent is not cached).
  PageId insert(std::span<const int32_t> tokens, std::span<const PageId> pages, int64_t i);

  // The snapshot slot of the boundary after registered page p: its existing slot, or a new
  // one (recycling the least recently used). -1 when there are no snapshot slots.
  int32_t snapshot_for(PageId p);
  int32_t snapshot_of(PageId p) const;

  const PrefixCacheStats& stats() const { return stats_; }
  bool check_invariants() const;

 private:
  struct Entry {
    uint64_t key = 0;
    PageId parent = -1;
    uint64_t parent_epoch = 0;
    std::vector<int32_t> tokens;
    int32_t snapshot = -1;
    std::vector<PageId> children;
  };
  uint64_t key_of(PageId parent, uint64_t parent_epoch, std::span<const int32_t> tokens) const;
  PageId find(PageId parent, uint64_t parent_epoch, std::span<const int32_t> tokens) const;
  void forget(PageId p);  // p leaves the table (evicted, or its parent went)
  void touch_snapshot(int32_t s);

  PagePool& pool_;
  int64_t page_tokens_;
  std::unordered_map<PageId, Entry> entries_;
  std::unordered_multimap<uint64_t, PageId> by_key_;
  std::vector<PageId> snap_owner_;     // [n_snapshots] page owning each slot, -1 if free
  std::vector<uint64_t> snap_used_;    // [n_snapshots] last-use tick (LRU)
  uint64_t tick_ = 0;
  PrefixCacheStats stats_;
};

}  // namespace dsv4
