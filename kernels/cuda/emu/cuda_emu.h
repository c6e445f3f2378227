// A host emulation of the CUDA execution model, just enough to run dsv4's SIMT kernel bodies
// as plain C++ on a machine without a GPU (issue: CUDA backend, "verification without a GPU").
//
// A kernel body written against kernels/cuda/compat.cuh compiles unchanged here. A launch
// runs the grid's blocks one at a time, in order, on the OS thread that calls launch(); the
// threads of a block are fibers (one per CUDA thread, each with its own stack) that this OS
// thread switches between cooperatively: a thread runs until it waits at a barrier or a warp
// operation, or returns. Barriers, warp shuffles and shared memory behave as on a GPU:
//   - threadIdx / blockIdx / blockDim / gridDim are per-thread values;
//   - __syncthreads() is a block barrier; a thread that has returned from the kernel no
//     longer counts, as on hardware, so `if (i >= n) return;` before a barrier is fine;
//   - __shfl_*_sync exchange values within a warp of 32 consecutive threads; every lane
//     of the warp that has not returned must take part (the kernels use full masks);
//   - shared memory (DSV4_SHARED_ARRAY, DSV4_DYNAMIC_SHARED) is one arena per block: every
//     thread executes the same declarations in the same order and so gets the same address;
//   - atomics are real atomics (launches from different OS threads may run at once; each OS
//     thread has its own fibers and emulator state).
// Recording (what a CUDA graph capture is to the GPU): while an OS thread records
// (begin_recording .. end_recording), its launches are checked and appended to the recording
// instead of run, and so are its host steps (the copies and fills of emulated device memory
// that the host runtime queues in stream order between kernels). A replay runs them in order.
// A recorded kernel keeps the arguments it was launched with, by value, and reads memory when
// it replays: a replay after the inputs changed sees the new inputs. Recording is per OS
// thread, like the rest of the emulator's state: other threads' launches run as usual.
// A block whose live threads all wait at barriers that cannot complete (some thread waits at
// __syncthreads while others of its warp wait in a shuffle, say) aborts with a message.
// A thread that spins waiting for another thread of its block to write something never
// yields, so such a kernel hangs here; the kernels do not do that (nor may they across blocks,
// which run one after the other).
// What it cannot show: timing, memory coalescing, bank conflicts, the exact results of GPU
// math intrinsics, and most races inside a block: its threads run in a fixed order (thread 0
// up to its first wait, then thread 1, ...), so a missing __syncthreads shows only where a
// thread reads shared memory that a later thread has yet to write. Kernels that must match
// the scalar references bit for bit use IEEE operations (x / y, sqrtf) that nvcc compiles
// exactly by default, never rsqrtf or __expf.
#pragma once

#if defined(__CUDACC__)
#error "cuda_emu.h is the host emulation; CUDA builds use the real runtime"
#endif

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

// ---- qualifiers become no-ops --------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

namespace dsv4cu::emu {

// The per-thread view of the launch: what the CUDA builtins read.
struct ThreadState {
  dim3 thread_idx;
  dim3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  unsigned linear_tid = 0;
  size_t shared_cursor = 0;  // next static shared allocation of this thread, in bytes
  void* block = nullptr;     // the BlockRun this thread belongs to
};

ThreadState& thread_state();

// Runs `body` (one kernel invocation) for every thread of every block of the grid, blocks one
// at a time. `dynamic_shared_bytes` is the launch's dynamic shared memory. Aborts with a message
// on a launch that real hardware would refuse (more than 1024 threads, an empty grid, too
// much shared memory). Returns when the whole grid has run; while the calling thread records,
// returns after the checks with the launch (body and all) appended to the recording.
void launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, std::function<void()> body);

// Work recorded on one OS thread, replayable any number of times on any thread.
class Recording {
 public:
  struct Step {
    bool kernel = true;  // false: a host step, body runs once as plain code
    dim3 grid;
    dim3 block;
    size_t dynamic_shared_bytes = 0;
    std::function<void()> body;
  };

  Recording() = default;
  explicit Recording(std::vector<Step> steps) : steps_(std::move(steps)) {}
  // Runs the steps in order, each kernel with launch()'s checks; while the calling thread
  // records, appends them to its recording instead (a graph launched into a capture).
  void replay() const;
  size_t size() const { return steps_.size(); }

 private:
  std::vector<Step> steps_;
};

// Starts recording on the calling OS thread; aborts if it already records.
void begin_recording();
// Stops recording on the calling OS thread and returns what was recorded; aborts if it does
// not record.
Recording end_recording();
// Whether the calling OS thread records.
bool recording();
// Kernel launches the calling OS thread has issued through launch() (run or recorded; not
// the launches a replay runs): what a GPU's host would have paid a launch call for.
uint64_t launches_issued();
// Runs `step` now, or appends it to the calling thread's recording while it records.
void host_step(std::function<void()> step);

// The largest shared memory per block of the target (H100: 227 KiB opt-in).
inline constexpr size_t kMaxSharedBytes = 227 * 1024;

// Block-level primitives used by the macros and builtins below.
void syncthreads();
void* shared_static(size_t bytes, size_t align);
void* shared_dynamic();
uint64_t warp_exchange(uint64_t value, unsigned src_lane);  // lane reads src_lane's value
uint32_t warp_ballot(bool predicate);
// Every lane of the calling thread's warp gives `bytes` (at most kMaxGatherBytes) at `mine`;
// `all` receives the 32 contributions, lane l's at all + l * bytes (a lane that has returned
// leaves its part of `all` unchanged). A warp barrier like a shuffle: what warp-wide matrix
// instructions (mma.sync, kernels/cuda/mma_e4m3.cuh) need to see every lane's fragment.
inline constexpr size_t kMaxGatherBytes = 64;
void warp_all_gather(const void* mine, void* all, size_t bytes);
// Lanes of the calling thread's warp that are part of the launch and have not returned.
uint32_t warp_active_mask();

template <typename T>
T* shared_array(size_t count) {
  return static_cast<T*>(shared_static(sizeof(T) * count, alignof(T) < 16 ? 16 : alignof(T)));
}

template <typename T>
T shfl(T value, unsigned src_lane) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move up to 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = warp_exchange(bits, src_lane);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace dsv4cu::emu

// ---- builtins ----------------------------------------------------------------------------
#define threadIdx (::dsv4cu::emu::thread_state().thread_idx)
#define blockIdx (::dsv4cu::emu::thread_state().block_idx)
#define blockDim (::dsv4cu::emu::thread_state().block_dim)
#define gridDim (::dsv4cu::emu::thread_state().grid_dim)
inline constexpr int warpSize = 32;

inline void __syncthreads() { ::dsv4cu::emu::syncthreads(); }

template <typename T>
T __shfl_sync(unsigned /*mask*/, T v, int src_lane, int width = 32) {
  const unsigned lane = ::dsv4cu::emu::thread_state().linear_tid % 32u;
  const unsigned base = lane - lane % static_cast<unsigned>(width);
  return ::dsv4cu::emu::shfl(v, base + static_cast<unsigned>(src_lane) % static_cast<unsigned>(width));
}
template <typename T>
T __shfl_xor_sync(unsigned /*mask*/, T v, int lane_mask, int width = 32) {
  const unsigned lane = ::dsv4cu::emu::thread_state().linear_tid % 32u;
  const unsigned w = static_cast<unsigned>(width);
  const unsigned src = lane ^ static_cast<unsigned>(lane_mask);
  // Like hardware: a source outside the caller's segment of `width` lanes returns v.
  const unsigned src_lane = (src / w == lane / w) ? src : lane;
  return ::dsv4cu::emu::shfl(v, src_lane);
}
template <typename T>
T __shfl_down_sync(unsigned /*mask*/, T v, unsigned delta, int width = 32) {
  const unsigned lane = ::dsv4cu::emu::thread_state().linear_tid % 32u;
  const unsigned w = static_cast<unsigned>(width);
  const unsigned src = lane + delta;
  return ::dsv4cu::emu::shfl(v, (src / w == lane / w) ? src : lane);
}
template <typename T>
T __shfl_up_sync(unsigned /*mask*/, T v, unsigned delta, int width = 32) {
  const unsigned lane = ::dsv4cu::emu::thread_state().linear_tid % 32u;
  const unsigned w = static_cast<unsigned>(width);
  const bool inside = lane % w >= delta;
  return ::dsv4cu::emu::shfl(v, inside ? lane - delta : lane);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return ::dsv4cu::emu::warp_ballot(predicate != 0) & mask;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) == (mask & ::dsv4cu::emu::warp_active_mask());
}
inline unsigned __activemask() { return ::dsv4cu::emu::warp_active_mask(); }

// Atomics on global or shared memory (real atomics: launches on other OS threads may touch
// the same memory).
template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <typename T>
T atomicMax(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load();
  while (old < value && !a.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <typename T>
T atomicMin(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load();
  while (value < old && !a.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <typename T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
template <typename T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// Bit reinterpretation and IEEE math that device code uses by the CUDA names.
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
inline int __clz(unsigned x) { return x == 0 ? 32 : __builtin_clz(x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
// expf, sqrtf, fmaxf, fminf, fabsf: the C library's, from <cmath>.
