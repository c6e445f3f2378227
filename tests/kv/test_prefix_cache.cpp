#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "kv/prefix_cache.h"

namespace dsv4 {
namespace {

constexpr int64_t kP = 4;  // tiny pages keep the cases readable

std::vector<int32_t> seq(int32_t start, int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

// A sequence that computed `tokens` into freshly allocated pages and registered them.
std::vector<PageId> compute(PagePool& pool, PrefixCache& cache, const std::vector<int32_t>& tokens, bool snapshots) {
  std::vector<PageId> pages;
  for (int64_t i = 0; i < static_cast<int64_t>(tokens.size()) / kP; ++i) {
    pages.push_back(*pool.allocate());
    const PageId reg = cache.insert(tokens, pages, i);
    if (snapshots && reg >= 0) cache.snapshot_for(reg);
  }
  return pages;
}

TEST(PrefixCache, HitEndsAtTheDeepestSnapshot) {
  PagePool pool(16);
  PrefixCache cache(pool, kP, 8);
  const std::vector<int32_t> a = seq(0, 12);
  std::vector<PageId> pages;
  for (int64_t i = 0; i < 3; ++i) {
    pages.push_back(*pool.allocate());
    ASSERT_EQ(cache.insert(a, pages, i), pages.back());
  }
  cache.snapshot_for(pages[1]);  // only the boundary after page 1 is resumable
  PrefixMatch m = cache.lookup(a, 12);
  EXPECT_EQ(m.n_tokens, 8);
  EXPECT_EQ(m.pages, (std::vector<PageId>{pages[0], pages[1]}));
  EXPECT_EQ(m.snapshot, cache.snapshot_of(pages[1]));
  // max_tokens caps the match (a request must compute at least one token itself).
  EXPECT_EQ(cache.lookup(a, 7).n_tokens, 0);
  EXPECT_TRUE(cache.check_invariants());
}

TEST(PrefixCache, DifferentTokensOrDifferentParentsDoNotMatch) {
  PagePool pool(16);
  PrefixCache cache(pool, kP, 8);
  compute(pool, cache, seq(0, 8), true);
  std::vector<int32_t> b = seq(0, 8);
  b[5] = 99;  // second page differs
  EXPECT_EQ(cache.lookup(b, 8).n_tokens, 4);
  std::vector<int32_t> c = seq(0, 8);
  c[0] = 99;  // first page differs: the equal second page has another parent
  EXPECT_EQ(cache.lookup(c, 8).n_tokens, 0);
}

TEST(PrefixCache, DuplicatePagesRegisterOnceAndChainThroughTheCachedCopy) {
  PagePool pool(16);
  PrefixCache cache(pool, kP, 8);
  const std::vector<int32_t> a = seq(0, 8);
  const std::vector<PageId> first = compute(pool, cache, a, false);
  // A second sequence computes the same first page privately, then a new second page.
  std::vector<int32_t> b = seq(0, 8);
  b[6] = 77;
  std::vector<PageId> mine{*pool.allocate()};
  EXPECT_EQ(cache.insert(b, mine, 0), first[0]);  // the cached equal page wins
  EXPECT_FALSE(pool.registered(mine[0]));
  mine.push_back(*pool.allocate());
  EXPECT_EQ(cache.insert(b, mine, 1), mine[1]);  // chained under first[0]
  cache.snapshot_for(mine[1]);
  EXPECT_EQ(cache.lookup(b, 8).n_tokens, 8);
  EXPECT_EQ(cache.lookup(b, 8).pages, (std::vector<PageId>{first[0], mine[1]}));
}

TEST(PrefixCache, AcquirePinsPagesAndReleaseMakesThemEvictable) {
  PagePool pool(4);
  PrefixCache cache(pool, kP, 4);
  const std::vector<int32_t> a = seq(0, 8);
  const std::vector<PageId> pages = compute(pool, cache, a, true);
  for (PageId p : pages) pool.release(p);  // the sequence ended
  EXPECT_EQ(pool.n_cached(), 2);
  PrefixMatch m = cache.lookup(a, 8);
  ASSERT_EQ(m.n_tokens, 8);
  cache.acquire(m);
  EXPECT_EQ(pool.n_used(), 2);
  // Two more pages exist; allocating three must fail: the matched pages are pinned.
  EXPECT_TRUE(pool.allocate().has_value());
  EXPECT_TRUE(pool.allocate().has_value());
  EXPECT_FALSE(pool.allocate().has_value());
  EXPECT_TRUE(cache.check_invariants());
}

TEST(PrefixCache, EvictingAPageForgetsItAndItsDescendants) {
  PagePool pool(3);
  PrefixCache cache(pool, kP, 4);
  const std::vector<int32_t> a = seq(0, 12);
  const std::vector<PageId> pages = compute(pool, cache, a, true);
  pool.release(pages[2]);
  pool.release(pages[1]);
  pool.release(pages[0]);  // page 0 is now the most recently released
  // Allocating evicts page 2 first (least recent), then page 1: lookups shrink accordingly.
  (void)pool.allocate();
  EXPECT_EQ(cache.lookup(a, 12).n_tokens, 8);
  (void)pool.allocate();
  EXPECT_EQ(cache.lookup(a, 12).n_tokens, 4);
  EXPECT_TRUE(cache.check_invariants());
  EXPECT_TRUE(pool.check_invariants());
}

TEST(PrefixCache, EvictedParentDropsCachedChildrenToTheFreeList) {
  PagePool pool(3);
  PrefixCache cache(pool, kP, 4);
  const std::vector<int32_t> a = seq(0, 8);
  const std::vector<PageId> pages = compute(pool, cache, a, true);
  pool.release(pages[0]);  // parent released first: evicted first
  pool.release(pages[1]);
  (void)pool.allocate();   // the free page
  (void)pool.allocate();   // evicts the parent; its child leaves the cache too
  EXPECT_EQ(pool.n_cached(), 0);
  EXPECT_EQ(cache.stats().n_registered, 0);
  EXPECT_EQ(cache.lookup(a, 8).n_tokens, 0);
  EXPECT_TRUE(cache.check_invariants());
}

TEST(PrefixCache, SnapshotSlotsAreRecycledLeastRecentlyUsedFirst) {
  PagePool pool(16);
  PrefixCache cache(pool, kP, 2);
  const std::vector<int32_t> a = seq(0, 4), b = seq(100, 4), c = seq(200, 4);
  const PageId pa = compute(pool, cache, a, true)[0];
  const PageId pb = compute(pool, cache, b, true)[0];
  cache.acquire(cache.lookup(a, 4));  // a is used again: b is now the least recent
  const PageId pc = compute(pool, cache, c, true)[0];
  EXPECT_GE(cache.snapshot_of(pa), 0);
  EXPECT_EQ(cache.snapshot_of(pb), -1);
  EXPECT_GE(cache.snapshot_of(pc), 0);
  EXPECT_EQ(cache.lookup(b, 4).n_tokens, 0);  // no snapshot, no resumable hit
  EXPECT_TRUE(cache.check_invariants());
}

TEST(PrefixCache, RandomWorkloadKeepsInvariantsAndNeverServesWrongTokens) {
  PagePool pool(24);
  PrefixCache cache(pool, kP, 6);
  std::mt19937 rng(11);
  struct Seq {
    std::vector<int32_t> tokens;
    std::vector<PageId> pages;
  };
  std::vector<Seq> live;
  for (int step = 0; step < 3000; ++step) {
    if (live.size() < 4 && rng() % 2) {
      Seq s;
      const int64_t n = kP * (1 + static_cast<int64_t>(rng() % 4));
      for (int64_t i = 0; i < n; ++i) s.tokens.push_back(static_cast<int32_t>(rng() % 3));  // many shared prefixes
      PrefixMatch m = cache.lookup(s.tokens, n - 1);
      // A hit must reproduce exactly the tokens it claims.
      for (size_t i = 0; i < m.pages.size(); ++i) ASSERT_TRUE(pool.registered(m.pages[i]));
      cache.acquire(m);
      s.pages = m.pages;
      bool ok = true;
      for (int64_t i = static_cast<int64_t>(s.pages.size()); i < n / kP; ++i) {
        auto p = pool.allocate();
        if (!p) {
          ok = false;
          break;
        }
        s.pages.push_back(*p);
        const PageId reg = cache.insert(s.tokens, s.pages, i);
        if (reg >= 0 && rng() % 2) cache.snapshot_for(reg);
      }
      if (!ok) {
        for (PageId p : s.pages) pool.release(p);
      } else {
        live.push_back(std::move(s));
      }
    } else if (!live.empty()) {
      const size_t i = rng() % live.size();
      for (PageId p : live[i].pages) pool.release(p);
      live.erase(live.begin() + static_cast<long>(i));
    }
    ASSERT_TRUE(pool.check_invariants()) << step;
    ASSERT_TRUE(cache.check_invariants()) << step;
  }
  for (auto& s : live)
    for (PageId p : s.pages) pool.release(p);
  EXPECT_EQ(pool.n_used(), 0);
}

}  // namespace
}  // namespace dsv4
