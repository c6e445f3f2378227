// The caching device allocator's policy (device_pool.h), over host memory: rounding and
// alignment, reuse without new segments, best fit, splitting and merging back to whole
// segments, per-stream caches, the out-of-memory retry after releasing the cache, the byte
// budget, the RAII buffer, and concurrent use without overlapping blocks.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "backend/device_pool.h"

namespace dsv4 {
namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * 1024;
void* const kStreamA = reinterpret_cast<void*>(uintptr_t{0x10});
void* const kStreamB = reinterpret_cast<void*>(uintptr_t{0x20});

void* must(Result<void*> r) {
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : nullptr;
}

TEST(DevicePool, RoundsTo512BytesAndReusesFreedBlocks) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* a = must(pool.allocate(1000, kStreamA));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % DevicePool::kAlignment, 0u);
  EXPECT_EQ(pool.stats().allocated_bytes, 1024u);
  EXPECT_EQ(pool.stats().reserved_bytes, DevicePool::kSegmentGranule);
  pool.free(a);
  EXPECT_EQ(pool.stats().allocated_bytes, 0u);
  void* b = must(pool.allocate(900, kStreamA));
  EXPECT_EQ(b, a);  // the freed block, merged back and split again at the same place
  EXPECT_EQ(pool.stats().n_segment_allocs, 1);
  EXPECT_EQ(raw.outstanding(), DevicePool::kSegmentGranule);
  pool.free(b);
  void* z = must(pool.allocate(0, kStreamA));
  EXPECT_EQ(z, nullptr);
}

TEST(DevicePool, PicksTheSmallestFreeBlockThatFits) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* big = must(pool.allocate(256 * kKiB, kStreamA));
  void* sep1 = must(pool.allocate(4 * kKiB, kStreamA));
  void* small = must(pool.allocate(128 * kKiB, kStreamA));
  void* sep2 = must(pool.allocate(4 * kKiB, kStreamA));
  pool.free(big);
  pool.free(small);  // separated by live blocks: neither merges
  EXPECT_EQ(must(pool.allocate(100 * kKiB, kStreamA)), small);
  EXPECT_EQ(must(pool.allocate(200 * kKiB, kStreamA)), big);
  EXPECT_EQ(pool.stats().n_segment_allocs, 1);
  (void)sep1;
  (void)sep2;
}

TEST(DevicePool, FreedNeighboursMergeBackIntoAWholeSegment) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* a = must(pool.allocate(512 * kKiB, kStreamA));
  void* b = must(pool.allocate(512 * kKiB, kStreamA));
  void* c = must(pool.allocate(1 * kMiB, kStreamA));  // exactly fills the 2 MiB segment
  EXPECT_EQ(pool.stats().n_segment_allocs, 1);
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), static_cast<ptrdiff_t>(512 * kKiB));
  pool.free(b);
  pool.free(a);  // merges with b
  pool.release_cached();
  EXPECT_EQ(pool.stats().n_segment_releases, 0);  // c still lives in the segment
  pool.free(c);  // merges with a+b: the segment is whole again
  void* whole = must(pool.allocate(2 * kMiB, kStreamA));
  EXPECT_EQ(whole, a);
  EXPECT_EQ(pool.stats().n_segment_allocs, 1);
  pool.free(whole);
  pool.release_cached();
  EXPECT_EQ(pool.stats().reserved_bytes, 0u);
  EXPECT_EQ(pool.stats().n_segment_releases, 1);
  EXPECT_EQ(raw.outstanding(), 0u);
}

TEST(DevicePool, StreamsDoNotShareCachedBlocks) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* a = must(pool.allocate(64 * kKiB, kStreamA));
  pool.free(a);
  void* b = must(pool.allocate(64 * kKiB, kStreamB));
  EXPECT_NE(b, a);
  EXPECT_EQ(pool.stats().n_segment_allocs, 2);
  EXPECT_EQ(must(pool.allocate(64 * kKiB, kStreamA)), a);
}

TEST(DevicePool, LargeRequestsGetTheirOwnRoundedSegment) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* a = must(pool.allocate(5 * kMiB + 1, kStreamA));
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(pool.stats().reserved_bytes, 6 * kMiB);
  EXPECT_EQ(pool.stats().allocated_bytes, 5 * kMiB + 512);
}

TEST(DevicePool, OutOfMemoryReleasesTheCacheAndRetriesThenFailsPrecisely) {
  HostRawAllocator raw(4 * kMiB);
  DevicePool pool(raw);
  void* a = must(pool.allocate(2 * kMiB, kStreamA));
  pool.free(a);  // cached on stream A: 2 MiB of the 4 MiB limit
  void* b = must(pool.allocate(4 * kMiB, kStreamB));  // only fits once A's cache is released
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(pool.stats().n_segment_releases, 1);
  Result<void*> c = pool.allocate(1 * kKiB, kStreamB);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("could not allocate 1024 B from host memory"), std::string::npos) << m;
  EXPECT_NE(m.find("the pool holds 4.0 MiB, 4.0 MiB of it in use"), std::string::npos) << m;
  EXPECT_EQ(pool.stats().n_failures, 1);
  pool.free(b);
  EXPECT_TRUE(pool.allocate(1 * kKiB, kStreamB).is_ok());  // served from the freed segment
}

TEST(DevicePool, ByteBudgetBoundsTheSegmentsHeld) {
  HostRawAllocator raw;
  DevicePoolOptions o;
  o.max_reserved_bytes = 4 * kMiB;
  DevicePool pool(raw, o);
  EXPECT_TRUE(pool.allocate(3 * kMiB, kStreamA).is_ok());
  Result<void*> r = pool.allocate(1 * kMiB, kStreamA);  // the 3 MiB request took a 4 MiB segment
  EXPECT_TRUE(r.is_ok());
  Result<void*> over = pool.allocate(1 * kMiB, kStreamA);
  ASSERT_FALSE(over.is_ok());
  EXPECT_NE(over.status().message().find("budget 4.0 MiB"), std::string::npos) << over.status().message();
  EXPECT_FALSE(pool.allocate(SIZE_MAX - 10, kStreamA).is_ok());
}

TEST(DevicePool, PoolBufferGivesItsBlockBack) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  {
    Result<PoolBuffer> r = allocate_buffer(pool, 3000, kStreamA);
    ASSERT_TRUE(r.is_ok());
    PoolBuffer moved = std::move(r).value();
    EXPECT_EQ(moved.bytes(), 3000u);
    EXPECT_EQ(pool.stats().allocated_bytes, 3072u);
    PoolBuffer other;
    other = std::move(moved);
    EXPECT_EQ(moved.get(), nullptr);
    std::memset(other.as<char>(), 1, other.bytes());
  }
  EXPECT_EQ(pool.stats().allocated_bytes, 0u);
}

// The count of blocks given back is the CUDA backend's memory epoch: every block given back
// counts once, whether by free() or by a PoolBuffer, and nothing else moves it.
TEST(DevicePool, CountsEveryBlockGivenBack) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  void* a = must(pool.allocate(1000, kStreamA));
  Result<PoolBuffer> b = allocate_buffer(pool, 2000, kStreamA);
  ASSERT_TRUE(b.is_ok());
  (void)must(pool.allocate(0, kStreamA));
  pool.free(nullptr);  // not a block
  pool.release_cached();
  EXPECT_EQ(pool.n_frees(), 0u);
  pool.free(a);
  EXPECT_EQ(pool.n_frees(), 1u);
  {
    PoolBuffer moved = std::move(b).value();  // a move hands the block on, it gives nothing back
    EXPECT_EQ(pool.n_frees(), 1u);
  }
  EXPECT_EQ(pool.n_frees(), 2u);
  EXPECT_EQ(pool.stats().n_frees, 2);
}

TEST(DevicePool, ConcurrentUseNeverHandsOutOverlappingBlocks) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  auto worker = [&](int id) {
    std::mt19937 rng(static_cast<uint32_t>(id));
    std::vector<std::pair<unsigned char*, size_t>> live;
    for (int i = 0; i < 2000; ++i) {
      if (live.size() < 16 && (live.empty() || rng() % 2 == 0)) {
        const size_t n = 1 + rng() % (96 * kKiB);
        auto* p = static_cast<unsigned char*>(must(pool.allocate(n, kStreamA)));
        std::memset(p, id, n);
        live.emplace_back(p, n);
      } else {
        const size_t k = rng() % live.size();
        auto [p, n] = live[k];
        for (size_t j = 0; j < n; j += 97) ASSERT_EQ(p[j], static_cast<unsigned char>(id)) << "block overwritten";
        pool.free(p);
        live.erase(live.begin() + static_cast<ptrdiff_t>(k));
      }
    }
    for (auto [p, n] : live) pool.free(p);
  };
  std::thread t1(worker, 1), t2(worker, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(pool.stats().allocated_bytes, 0u);
  pool.release_cached();
  EXPECT_EQ(raw.outstanding(), 0u);
}

TEST(DevicePoolDeathTest, FreeingAForeignPointerIsABug) {
  HostRawAllocator raw;
  DevicePool pool(raw);
  int x = 0;
  EXPECT_DEATH(pool.free(&x), "did not hand out");
}

}  // namespace
}  // namespace dsv4
