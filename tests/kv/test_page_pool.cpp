#include <gtest/gtest.h>

#include <random>

#include "kv/page_pool.h"

namespace dsv4 {
namespace {

TEST(PagePool, AllocatesUntilEmptyAndReusesReleasedPages) {
  PagePool pool(3);
  std::vector<PageId> got;
  for (int i = 0; i < 3; ++i) got.push_back(*pool.allocate());
  EXPECT_FALSE(pool.allocate().has_value());
  EXPECT_EQ(pool.n_used(), 3);
  pool.release(got[1]);
  EXPECT_EQ(pool.n_free(), 1);
  EXPECT_EQ(*pool.allocate(), got[1]);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(PagePool, ReferenceCountsKeepSharedPagesAlive) {
  PagePool pool(2);
  const PageId p = *pool.allocate();
  pool.retain(p);
  EXPECT_EQ(pool.ref_count(p), 2);
  pool.release(p);
  EXPECT_EQ(pool.n_used(), 1);
  pool.release(p);
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(PagePool, CachedPagesAreEvictedLeastRecentlyReleasedFirst) {
  PagePool pool(3);
  std::vector<PageId> evicted;
  pool.set_eviction_listener([&](PageId p) { evicted.push_back(p); });
  const PageId a = *pool.allocate(), b = *pool.allocate(), c = *pool.allocate();
  for (PageId p : {a, b, c}) pool.set_registered(p, true);
  pool.release(b);  // b is the oldest cached page
  pool.release(a);
  pool.release(c);
  EXPECT_EQ(pool.n_cached(), 3);
  EXPECT_EQ(pool.n_available(), 3);
  EXPECT_EQ(*pool.allocate(), b);
  EXPECT_EQ(*pool.allocate(), a);
  EXPECT_EQ(evicted, (std::vector<PageId>{b, a}));
  EXPECT_FALSE(pool.registered(b));
  // A cached page that is retained again (a prefix hit) leaves the LRU and is not evicted.
  pool.retain(c);
  EXPECT_FALSE(pool.allocate().has_value());
  EXPECT_TRUE(pool.check_invariants());
}

TEST(PagePool, EpochsChangeOnEveryAllocation) {
  PagePool pool(1);
  const PageId p = *pool.allocate();
  const uint64_t e1 = pool.epoch(p);
  pool.release(p);
  ASSERT_EQ(*pool.allocate(), p);
  EXPECT_NE(pool.epoch(p), e1);
}

TEST(PagePool, RandomOperationsKeepInvariants) {
  PagePool pool(16);
  std::mt19937 rng(7);
  std::vector<PageId> held;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 4);
    if (op == 0) {
      if (auto p = pool.allocate()) {
        held.push_back(*p);
        if (rng() % 2) pool.set_registered(*p, true);
      }
    } else if (op == 1 && !held.empty()) {
      const size_t i = rng() % held.size();
      pool.release(held[i]);
      held.erase(held.begin() + static_cast<long>(i));
    } else if (op == 2 && !held.empty()) {
      const PageId p = held[rng() % held.size()];
      pool.retain(p);
      held.push_back(p);
    } else if (op == 3 && !held.empty()) {
      pool.unregister(held[rng() % held.size()]);
    }
    ASSERT_TRUE(pool.check_invariants()) << "step " << step;
  }
  for (PageId p : held) pool.release(p);
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_TRUE(pool.check_invariants());
}

}  // namespace
}  // namespace dsv4
