// PagePool: reference-counted KV pages with an LRU of cached pages.
//
// A page is free, in use (referenced by running sequences), or cached: unreferenced but
// still registered in the prefix cache so that a later request can reuse it. allocate()
// takes a free page first and otherwise evicts the least recently released cached page,
// telling the eviction listener (the prefix cache) to forget it. Every page carries an
// epoch that changes on each allocation, so that stale references to a reused page id
// can be recognized.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace dsv4 {

using PageId = int32_t;

class PagePool {
 public:
  explicit PagePool(int64_t n_pages);

  int64_t n_pages() const { return static_cast<int64_t>(refs_.size()); }
  int64_t n_used() const { return n_used_; }           // referenced
  int64_t n_cached() const { return n_cached_; }       // unreferenced, kept for the prefix cache
  int64_t n_free() const { return n_pages() - n_used_ - n_cached_; }  // never used or released uncached
  int64_t n_available() const { return n_pages() - n_used_; }         // allocatable (free + evictable)

  // A page with reference count 1: a free one, else the least recently released cached one.
  std::optional<PageId> allocate();
  void retain(PageId p);
  void release(PageId p);
  int32_t ref_count(PageId p) const { return refs_[static_cast<size_t>(p)]; }
  uint64_t epoch(PageId p) const { return epochs_[static_cast<size_t>(p)]; }

  // A registered page becomes cached instead of free when its last reference goes.
  void set_registered(PageId p, bool registered);
  // Unregisters a page whatever its state; a cached page becomes free at once.
  void unregister(PageId p);
  bool registered(PageId p) const { return registered_[static_cast<size_t>(p)]; }

  // Called with a cached page just before allocate() reuses it.
  void set_eviction_listener(std::function<void(PageId)> listener) { on_evict_ = std::move(listener); }

  // Consistency of the counters and lists (tests and debug builds).
  bool check_invariants() const;

 private:
  // Intrusive doubly linked lists over page ids; kNone terminates.
  static constexpr PageId kNone = -1;
  struct List {
    PageId head = kNone;
    PageId tail = kNone;
    int64_t size = 0;
  };
  void push_back(List& l, PageId p);
  void unlink(List& l, PageId p);

  std::vector<int32_t> refs_;
  std::vector<uint64_t> epochs_;
  std::vector<bool> registered_;
  std::vector<PageId> prev_, next_;
  enum class State : uint8_t { kInUse, kFree, kCached };
  std::vector<State> where_;
  List free_;
  List lru_;  // cached pages, least recently released first
  int64_t n_used_ = 0;
  int64_t n_cached_ = 0;
  uint64_t next_epoch_ = 1;
  std::function<void(PageId)> on_evict_;
};

}  // namespace dsv4
