#include "kv/prefix_cache.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace dsv4 {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

}  // namespace

PrefixCache::PrefixCache(PagePool& pool, int64_t page_tokens, int64_t n_snapshots)
    : pool_(pool), page_tokens_(page_tokens), snap_owner_(static_cast<size_t>(n_snapshots), -1),
      snap_used_(static_cast<size_t>(n_snapshots), 0) {
  pool_.set_eviction_listener([this](PageId p) { forget(p); });
}

uint64_t PrefixCache::key_of(PageId parent, uint64_t parent_epoch, std::span<const int32_t> tokens) const {
  uint64_t h = mix(static_cast<uint64_t>(static_cast<uint32_t>(parent)), parent_epoch);
  for (int32_t t : tokens) h = mix(h, static_cast<uint32_t>(t));
  return h;
}

PageId PrefixCache::find(PageId parent, uint64_t parent_epoch, std::span<const int32_t> tokens) const {
  auto [b, e] = by_key_.equal_range(key_of(parent, parent_epoch, tokens));
  for (auto it = b; it != e; ++it) {
    const Entry& en = entries_.at(it->second);
    // The hash only narrows the search: identity is the parent and the tokens themselves.
    if (en.parent == parent && en.parent_epoch == parent_epoch &&
        std::equal(en.tokens.begin(), en.tokens.end(), tokens.begin(), tokens.end()))
      return it->second;
  }
  return -1;
}

PrefixMatch PrefixCache::lookup(std::span<const int32_t> tokens, int64_t max_tokens) {
  PrefixMatch m;
  std::vector<PageId> chain;
  PageId parent = -1;
  uint64_t parent_epoch = 0;
  const int64_t n_pages = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size())) / page_tokens_;
  for (int64_t i = 0; i < n_pages; ++i) {
    const PageId p = find(parent, parent_epoch, tokens.subspan(static_cast<size_t>(i * page_tokens_),
                                                               static_cast<size_t>(page_tokens_)));
    if (p < 0) break;
    chain.push_back(p);
    const int32_t s = entries_.at(p).snapshot;
    if (s >= 0) {
      m.pages = chain;
      m.snapshot = s;
      m.n_tokens = (i + 1) * page_tokens_;
    }
    parent = p;
    parent_epoch = pool_.epoch(p);
  }
  ++stats_.lookups;
  stats_.lookup_tokens += max_tokens;
  stats_.hit_tokens += m.n_tokens;
  return m;
}

void PrefixCache::acquire(const PrefixMatch& m) {
  for (PageId p : m.pages) pool_.retain(p);
  if (m.snapshot >= 0) touch_snapshot(m.snapshot);
}

PageId PrefixCache::insert(std::span<const int32_t> tokens, std::span<const PageId> pages, int64_t i) {
  DSV4_CHECK(static_cast<int64_t>(tokens.size()) >= (i + 1) * page_tokens_ && static_cast<int64_t>(pages.size()) > i);
  // Walk to the cached parent of prefix [0, i·P).
  PageId parent = -1;
  uint64_t parent_epoch = 0;
  for (int64_t j = 0; j < i; ++j) {
    parent = find(parent, parent_epoch,
                  tokens.subspan(static_cast<size_t>(j * page_tokens_), static_cast<size_t>(page_tokens_)));
    if (parent < 0) return -1;
    parent_epoch = pool_.epoch(parent);
  }
  const std::span<const int32_t> own = tokens.subspan(static_cast<size_t>(i * page_tokens_), static_cast<size_t>(page_tokens_));
  if (const PageId existing = find(parent, parent_epoch, own); existing >= 0) return existing;
  const PageId p = pages[static_cast<size_t>(i)];
  if (pool_.registered(p)) return p;  // already registered under this prefix
  Entry e;
  e.key = key_of(parent, parent_epoch, own);
  e.parent = parent;
  e.parent_epoch = parent_epoch;
  e.tokens.assign(own.begin(), own.end());
  by_key_.emplace(e.key, p);
  if (parent >= 0) entries_.at(parent).children.push_back(p);
  entries_.emplace(p, std::move(e));
  pool_.set_registered(p, true);
  ++stats_.n_registered;
  return p;
}

void PrefixCache::forget(PageId p) {
  auto it = entries_.find(p);
  if (it == entries_.end()) return;
  Entry e = std::move(it->second);
  entries_.erase(it);
  auto [b, en] = by_key_.equal_range(e.key);
  for (auto k = b; k != en; ++k)
    if (k->second == p) {
      by_key_.erase(k);
      break;
    }
  if (e.snapshot >= 0) {
    snap_owner_[static_cast<size_t>(e.snapshot)] = -1;
    --stats_.n_snapshots_used;
  }
  if (e.parent >= 0) {
    auto pit = entries_.find(e.parent);
    if (pit != entries_.end()) {
      auto& ch = pit->second.children;
      ch.erase(std::remove(ch.begin(), ch.end(), p), ch.end());
    }
  }
  --stats_.n_registered;
  // Descendants are unreachable without their parent: drop them too (a cached one goes
  // straight back to the free list).
  for (PageId c : e.children) {
    forget(c);
    pool_.unregister(c);
  }
}

void PrefixCache::touch_snapshot(int32_t s) { snap_used_[static_cast<size_t>(s)] = ++tick_; }

int32_t PrefixCache::snapshot_of(PageId p) const {
  auto it = entries_.find(p);
  return it == entries_.end() ? -1 : it->second.snapshot;
}

int32_t PrefixCache::snapshot_for(PageId p) {
  if (snap_owner_.empty()) return -1;
  Entry& e = entries_.at(p);
  if (e.snapshot >= 0) {
    touch_snapshot(e.snapshot);
    return e.snapshot;
  }
  // A free slot, else the least recently used one (its owner loses its snapshot).
  size_t best = 0;
  for (size_t s = 0; s < snap_owner_.size(); ++s) {
    if (snap_owner_[s] < 0) {
      best = s;
      break;
    }
    if (snap_used_[s] < snap_used_[best]) best = s;
  }
  if (snap_owner_[best] >= 0) {
    entries_.at(snap_owner_[best]).snapshot = -1;
  } else {
    ++stats_.n_snapshots_used;
  }
  snap_owner_[best] = p;
  e.snapshot = static_cast<int32_t>(best);
  touch_snapshot(e.snapshot);
  return e.snapshot;
}

bool PrefixCache::check_invariants() const {
  int64_t snaps = 0;
  for (const auto& [p, e] : entries_) {
    if (!pool_.registered(p)) return false;
    if (e.snapshot >= 0 && snap_owner_[static_cast<size_t>(e.snapshot)] != p) return false;
    snaps += e.snapshot >= 0;
    if (e.parent >= 0 && entries_.count(e.parent) == 0) return false;
  }
  return snaps == stats_.n_snapshots_used && static_cast<int64_t>(entries_.size()) == stats_.n_registered &&
         static_cast<int64_t>(by_key_.size()) == stats_.n_registered;
}

}  // namespace dsv4
