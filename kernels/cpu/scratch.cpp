// Per-thread grow-only scratch buffers (see scratch.h). Portable code: no ISA flags.
#include "scratch.h"

#include <cstdlib>
#include <new>

namespace dsv4k::cpu {
namespace {

struct ThreadScratch {
  void* ptr[kScratchSlots] = {};
  size_t cap[kScratchSlots] = {};
  ~ThreadScratch() {
    for (void* p : ptr) std::free(p);
  }
};

thread_local ThreadScratch t_scratch;

}  // namespace

void* thread_scratch(ScratchSlot slot, size_t bytes) {
  const int s = static_cast<int>(slot);
  if (bytes <= t_scratch.cap[s] && t_scratch.ptr[s] != nullptr) return t_scratch.ptr[s];
  // Grow geometrically so that a slowly growing batch does not reallocate every step.
  size_t cap = t_scratch.cap[s] * 2;
  if (cap < bytes) cap = bytes;
  cap = (cap + 63) & ~static_cast<size_t>(63);
  std::free(t_scratch.ptr[s]);
  t_scratch.ptr[s] = std::aligned_alloc(64, cap);
  if (t_scratch.ptr[s] == nullptr) {
    t_scratch.cap[s] = 0;
    throw std::bad_alloc();
  }
  t_scratch.cap[s] = cap;
  return t_scratch.ptr[s];
}

}  // namespace dsv4k::cpu
