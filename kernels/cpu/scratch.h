// Per-thread scratch memory for the optimized CPU kernels (internal header).
//
// Kernels stage packed activations in buffers that live as long as the calling thread and
// only grow, so that a decode step does not allocate. The function is compiled in a
// portable translation unit on purpose: the AVX-512 translation units must not instantiate
// standard-library templates (a COMDAT copy built with AVX-512 flags could be the one the
// linker keeps for portable code).
#pragma once

#include <cstddef>

namespace dsv4k::cpu {

// Independent buffers one kernel call may use at the same time.
enum class ScratchSlot : int { kActs = 0, kAux = 1, kAux2 = 2 };
constexpr int kScratchSlots = 3;

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread. The contents are
// unspecified; the pointer stays valid until the next call with the same slot on this thread.
void* thread_scratch(ScratchSlot slot, size_t bytes);

}  // namespace dsv4k::cpu
