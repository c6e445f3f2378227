// Pinned staging for small uploads (see staging_ring.h).
#include "backend/cuda/staging_ring.h"

#include <string>

namespace dsv4::cuda {

StagingRing::StagingRing(uint8_t* base, size_t capacity, StagingFences& fences)
    : base_(base), capacity_(capacity), fences_(fences) {}

Result<uint8_t*> StagingRing::acquire(size_t bytes) {
  if (pending_) return failed_precondition("staging ring: acquire before the last region's copy was queued");
  if (bytes == 0 || bytes > capacity_)
    return invalid_argument("staging ring: " + std::to_string(bytes) + " bytes do not fit a ring of " +
                            std::to_string(capacity_));
  size_t begin = (head_ + kAlign - 1) / kAlign * kAlign;
  // A region does not wrap: past the end it starts over at 0 (the tail stays unused this lap).
  if (begin >= capacity_ || bytes > capacity_ - begin) begin = 0;
  const size_t end = begin + bytes;
  DSV4_RETURN_IF_ERROR(drain_overlapping(begin, end));
  pending_begin_ = begin;
  pending_end_ = end;
  pending_ = true;
  head_ = end;
  return base_ + begin;
}

Status StagingRing::queued() {
  if (!pending_) return failed_precondition("staging ring: no region acquired");
  Result<int64_t> fence = fences_.record();
  if (!fence.is_ok()) return fence.status();
  in_flight_.push_back({pending_begin_, pending_end_, *fence});
  pending_ = false;
  return Status::ok();
}

Status StagingRing::drain_overlapping(size_t begin, size_t end) {
  const auto overlaps = [&](const Region& r) { return r.begin < end && begin < r.end; };
  for (;;) {
    bool any = false;
    for (const Region& r : in_flight_) any = any || overlaps(r);
    if (!any) return Status::ok();
    // Fences pass in queue order: waiting for the oldest first never waits longer than needed.
    DSV4_RETURN_IF_ERROR(fences_.wait(in_flight_.front().fence));
    in_flight_.pop_front();
  }
}

}  // namespace dsv4::cuda
