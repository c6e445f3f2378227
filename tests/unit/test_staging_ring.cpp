// The pinned upload ring's bookkeeping (staging_ring.h) with fences simulated on the host: a
// region is never handed out while a copy that has not run may still read any byte of it,
// regions are aligned and inside the ring, and misuse is a precise error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "backend/cuda/staging_ring.h"

namespace dsv4::cuda {
namespace {

// A simulated stream: fence i passes once the "device" has run past it. Waiting runs the
// device up to the fence, as cudaEventSynchronize returns once the stream has got there.
class FakeFences final : public StagingFences {
 public:
  Result<int64_t> record() override { return next_++; }
  Status wait(int64_t fence) override {
    ++waits;
    if (fence >= next_) return internal_error("waiting for a fence never recorded");
    passed_ = std::max(passed_, fence + 1);
    return Status::ok();
  }
  bool passed(int64_t fence) const { return fence < passed_; }
  // The device catches up on its own (the usual case: the copies ran long ago).
  void run_to(int64_t fence) { passed_ = std::max(passed_, std::min(fence, next_)); }
  int64_t recorded() const { return next_; }
  int64_t waits = 0;

 private:
  int64_t next_ = 0;
  int64_t passed_ = 0;
};

constexpr size_t kCapacity = 64 * 1024;

TEST(StagingRing, NeverHandsOutBytesAQueuedCopyMayStillRead) {
  std::vector<uint8_t> memory(kCapacity);
  FakeFences fences;
  StagingRing ring(memory.data(), kCapacity, fences);
  // Regions whose copies have been queued: fence -> [begin, end).
  std::map<int64_t, std::pair<size_t, size_t>> live;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) {
    // Mostly small uploads, now and then one of a third or all of the ring.
    const uint64_t pick = rng() % 100;
    const size_t bytes = pick == 0 ? kCapacity : pick < 5 ? kCapacity / 3 : 1 + rng() % 3000;
    if (rng() % 4 == 0) fences.run_to(static_cast<int64_t>(rng() % static_cast<uint64_t>(fences.recorded() + 1)));
    Result<uint8_t*> r = ring.acquire(bytes);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto begin = static_cast<size_t>(*r - memory.data());
    const size_t end = begin + bytes;
    ASSERT_EQ(begin % StagingRing::kAlign, 0u);
    ASSERT_LE(end, kCapacity);
    for (auto it = live.begin(); it != live.end();) {
      if (fences.passed(it->first)) {
        it = live.erase(it);
        continue;
      }
      ASSERT_FALSE(it->second.first < end && begin < it->second.second)
          << "upload " << i << " [" << begin << ", " << end << ") overlaps an unfinished copy of [" << it->second.first
          << ", " << it->second.second << ")";
      ++it;
    }
    ASSERT_TRUE(ring.queued().is_ok());
    live[fences.recorded() - 1] = {begin, end};
  }
  // The ring waits only when it comes round to a region again, not per upload.
  EXPECT_LT(fences.waits, 5000);
  EXPECT_LE(ring.in_flight(), kCapacity / StagingRing::kAlign);
}

TEST(StagingRing, SmallUploadsFollowEachOtherAndWrapAtTheEnd) {
  std::vector<uint8_t> memory(kCapacity);
  FakeFences fences;
  StagingRing ring(memory.data(), kCapacity, fences);
  std::vector<size_t> starts;
  for (int i = 0; i < 70; ++i) {  // 70 x 1 KiB > 64 KiB: one wrap
    Result<uint8_t*> r = ring.acquire(1000);
    ASSERT_TRUE(r.is_ok());
    starts.push_back(static_cast<size_t>(*r - memory.data()));
    ASSERT_TRUE(ring.queued().is_ok());
  }
  EXPECT_EQ(starts[0], 0u);
  EXPECT_EQ(starts[1], 1024u);  // 1000 rounded up to the alignment
  EXPECT_EQ(starts[64], 0u);    // 64 regions of 1 KiB fill the ring
  EXPECT_EQ(fences.waits, 6);   // regions 0..5 are reused by uploads 64..69
}

TEST(StagingRing, MisuseIsAPreciseError) {
  std::vector<uint8_t> memory(kCapacity);
  FakeFences fences;
  StagingRing ring(memory.data(), kCapacity, fences);
  EXPECT_EQ(ring.acquire(0).status().code(), StatusCode::kInvalidArgument);
  const Status too_big = ring.acquire(kCapacity + 1).status();
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.message().find("do not fit a ring of 65536"), std::string::npos) << too_big.message();
  EXPECT_EQ(ring.queued().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ring.acquire(10).is_ok());
  EXPECT_EQ(ring.acquire(10).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ring.queued().is_ok());
  EXPECT_TRUE(ring.acquire(kCapacity).is_ok()) << "the whole ring, once every copy has run";
}

}  // namespace
}  // namespace dsv4::cuda
