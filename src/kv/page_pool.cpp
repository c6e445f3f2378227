#include "kv/page_pool.h"

#include "core/check.h"

namespace dsv4 {

PagePool::PagePool(int64_t n_pages)
    : refs_(static_cast<size_t>(n_pages), 0), epochs_(static_cast<size_t>(n_pages), 0),
      registered_(static_cast<size_t>(n_pages), false), prev_(static_cast<size_t>(n_pages), kNone),
      next_(static_cast<size_t>(n_pages), kNone), where_(static_cast<size_t>(n_pages), State::kFree) {
  for (PageId p = 0; p < static_cast<PageId>(n_pages); ++p) push_back(free_, p);
}

void PagePool::push_back(List& l, PageId p) {
  prev_[static_cast<size_t>(p)] = l.tail;
  next_[static_cast<size_t>(p)] = kNone;
  if (l.tail != kNone) next_[static_cast<size_t>(l.tail)] = p;
  else l.head = p;
  l.tail = p;
  ++l.size;
}

void PagePool::unlink(List& l, PageId p) {
  const PageId a = prev_[static_cast<size_t>(p)], b = next_[static_cast<size_t>(p)];
  if (a != kNone) next_[static_cast<size_t>(a)] = b;
  else l.head = b;
  if (b != kNone) prev_[static_cast<size_t>(b)] = a;
  else l.tail = a;
  prev_[static_cast<size_t>(p)] = next_[static_cast<size_t>(p)] = kNone;
  --l.size;
}

std::optional<PageId> PagePool::allocate() {
  PageId p = kNone;
  if (free_.head != kNone) {
    p = free_.head;
    unlink(free_, p);
  } else if (lru_.head != kNone) {
    p = lru_.head;
    unlink(lru_, p);
    --n_cached_;
    // The listener unregisters it from the prefix cache before anyone can see it reused.
    if (on_evict_) on_evict_(p);
    registered_[static_cast<size_t>(p)] = false;
  } else {
    return std::nullopt;
  }
  where_[static_cast<size_t>(p)] = State::kInUse;
  refs_[static_cast<size_t>(p)] = 1;
  epochs_[static_cast<size_t>(p)] = next_epoch_++;
  ++n_used_;
  return p;
}

void PagePool::retain(PageId p) {
  DSV4_CHECK(p >= 0 && p < static_cast<PageId>(refs_.size()));
  int32_t& r = refs_[static_cast<size_t>(p)];
  if (r == 0) {
    // Only a cached page can come back to life (a prefix-cache hit); free pages have no
    // content anyone could want.
    DSV4_CHECK_MSG(where_[static_cast<size_t>(p)] == State::kCached, "retain of a free page");
    unlink(lru_, p);
    --n_cached_;
    where_[static_cast<size_t>(p)] = State::kInUse;
    ++n_used_;
  }
  ++r;
}

void PagePool::release(PageId p) {
  DSV4_CHECK(p >= 0 && p < static_cast<PageId>(refs_.size()));
  int32_t& r = refs_[static_cast<size_t>(p)];
  DSV4_CHECK_MSG(r > 0, "release of an unreferenced page");
  if (--r > 0) return;
  --n_used_;
  if (registered_[static_cast<size_t>(p)]) {
    where_[static_cast<size_t>(p)] = State::kCached;
    push_back(lru_, p);
    ++n_cached_;
  } else {
    where_[static_cast<size_t>(p)] = State::kFree;
    push_back(free_, p);
  }
}

void PagePool::set_registered(PageId p, bool registered) {
  DSV4_CHECK_MSG(refs_[static_cast<size_t>(p)] > 0, "only a page in use can be (un)registered");
  registered_[static_cast<size_t>(p)] = registered;
}

void PagePool::unregister(PageId p) {
  registered_[static_cast<size_t>(p)] = false;
  if (where_[static_cast<size_t>(p)] == State::kCached) {
    unlink(lru_, p);
    --n_cached_;
    where_[static_cast<size_t>(p)] = State::kFree;
    push_back(free_, p);
  }
}

bool PagePool::check_invariants() const {
  int64_t used = 0, cached = 0, freed = 0;
  for (size_t i = 0; i < refs_.size(); ++i) {
    if (refs_[i] < 0) return false;
    switch (where_[i]) {
      case State::kInUse:
        if (refs_[i] == 0) return false;
        ++used;
        break;
      case State::kFree:
        if (refs_[i] != 0) return false;
        ++freed;
        break;
      case State::kCached:
        if (refs_[i] != 0 || !registered_[i]) return false;
        ++cached;
        break;
    }
  }
  return used == n_used_ && cached == n_cached_ && cached == lru_.size && freed == free_.size;
}

}  // namespace dsv4
