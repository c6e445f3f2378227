// StagingRing: page-locked host memory through which small host -> device copies are queued.
//
// The forward pass uploads many small host arrays per step (KV row offsets, compressor jobs,
// rotary tables, token ids). From pageable memory, cudaMemcpyAsync may synchronize with the
// stream before staging the bytes (CUDA runtime API, "API synchronization behavior"): the
// host would wait for every kernel queued so far at each such upload, and the GPU would then
// idle while the host prepares the next launches. Copied into this ring first, the bytes
// leave from pinned memory, which the DMA engine reads in stream order without the host
// waiting; the caller's buffer is free on return, as before.
//
// A region is written again only after the copy that read it has run: each region gets a
// fence (a CUDA event on the stream) when its copy is queued, and acquiring space waits for
// the fences of the regions it overlaps. Those are the oldest ones, long past in steady
// state. The fences are behind an interface, so the ring's bookkeeping is tested on the host.
//
// Not for copies captured into a CUDA graph: a replay would read the ring as it is then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "dsv4/status.h"

namespace dsv4::cuda {

// Points in a stream's work, recorded and waited for by handle.
class StagingFences {
 public:
  virtual ~StagingFences() = default;
  // A fence after everything queued so far.
  virtual Result<int64_t> record() = 0;
  // Returns once the fence has passed; the handle is then free for reuse.
  virtual Status wait(int64_t fence) = 0;
};

class StagingRing {
 public:
  // Regions start at multiples of this (so any element type is aligned in them).
  static constexpr size_t kAlign = 256;

  // `capacity` bytes at `base` (pinned memory that outlives the ring).
  StagingRing(uint8_t* base, size_t capacity, StagingFences& fences);

  size_t capacity() const { return capacity_; }

  // A region of `bytes` (1 .. capacity) that no queued copy reads any more. Call queued()
  // once the copy out of it is queued, before the next acquire.
  Result<uint8_t*> acquire(size_t bytes);
  // The region acquired last is read by the work queued so far: fences it.
  Status queued();

  // Regions fenced and not yet known to be free (for tests).
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Region {
    size_t begin = 0;
    size_t end = 0;
    int64_t fence = 0;
  };
  // Waits for fences, oldest first, until none of the remaining regions overlaps [begin, end).
  Status drain_overlapping(size_t begin, size_t end);

  uint8_t* base_;
  size_t capacity_;
  StagingFences& fences_;
  std::deque<Region> in_flight_;  // oldest first
  size_t head_ = 0;               // where the next region starts (before wrapping)
  size_t pending_begin_ = 0, pending_end_ = 0;
  bool pending_ = false;
};

}  // namespace dsv4::cuda
