// The host emulation of the CUDA execution model (see cuda_emu.h).
#include "emu/cuda_emu.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dsv4cu::emu {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "cuda_emu: %s\n", what);
  std::abort();
}

// A reusable barrier whose party count drops when a thread returns from the kernel, the
// way bar.sync counts exited threads as arrived.
struct Barrier {
  std::condition_variable cv;
  unsigned live = 0;
  unsigned arrived = 0;
  uint64_t generation = 0;

  void release() {
    arrived = 0;
    ++generation;
    cv.notify_all();
  }
  void wait(std::unique_lock<std::mutex>& lock) {
    const uint64_t g = generation;
    if (++arrived == live) {
      release();
      return;
    }
    cv.wait(lock, [&] { return generation != g; });
  }
  void leave() {
    --live;
    if (arrived > 0 && arrived == live) release();
  }
};

struct Warp {
  Barrier barrier;
  unsigned lanes = 0;           // threads of the launch in this warp
  uint32_t active = 0;          // lanes that have not returned
  uint64_t slots[32] = {};      // values being exchanged
  unsigned char gather[32 * kMaxGatherBytes] = {};  // warp_all_gather's contributions
};

// The state of one launch, shared by its threads.
struct BlockRun {
  dim3 grid;
  dim3 block;
  unsigned n_threads = 0;
  uint64_t n_blocks = 0;
  size_t dynamic_bytes = 0;
  std::vector<unsigned char> arena;
  const std::function<void()>* body = nullptr;

  std::mutex mutex;
  Barrier block_barrier;
  std::vector<std::unique_ptr<Warp>> warps;
  std::condition_variable next_block_cv;
  uint64_t current_block = 0;
  unsigned done = 0;

  void reset_block() {
    block_barrier.live = n_threads;
    block_barrier.arrived = 0;
    for (auto& w : warps) {
      w->barrier.live = w->lanes;
      w->barrier.arrived = 0;
      w->active = w->lanes == 32 ? 0xFFFFFFFFu : ((1u << w->lanes) - 1u);
    }
    // Shared memory starts undefined on hardware: fill it with NaN bytes so that a kernel
    // reading what it never wrote shows up in the comparisons.
    std::fill(arena.begin(), arena.end(), static_cast<unsigned char>(0xFF));
    done = 0;
  }
};

thread_local ThreadState tls_state;

BlockRun& run_of_caller() {
  if (tls_state.block == nullptr) die("a device builtin was called outside a kernel launch");
  return *static_cast<BlockRun*>(tls_state.block);
}

void thread_main(BlockRun& run, unsigned tid) {
  ThreadState& st = tls_state;
  st.block = &run;
  st.linear_tid = tid;
  st.block_dim = run.block;
  st.grid_dim = run.grid;
  st.thread_idx = dim3(tid % run.block.x, (tid / run.block.x) % run.block.y, tid / (run.block.x * run.block.y));
  Warp& warp = *run.warps[tid / 32];
  for (uint64_t b = 0; b < run.n_blocks; ++b) {
    st.block_idx = dim3(static_cast<unsigned>(b % run.grid.x), static_cast<unsigned>((b / run.grid.x) % run.grid.y),
                        static_cast<unsigned>(b / (uint64_t{run.grid.x} * run.grid.y)));
    st.shared_cursor = 0;
    (*run.body)();
    std::unique_lock<std::mutex> lock(run.mutex);
    run.block_barrier.leave();
    warp.active &= ~(1u << (tid % 32));
    warp.barrier.leave();
    if (++run.done == run.n_threads) {
      ++run.current_block;
      if (run.current_block < run.n_blocks) run.reset_block();
      run.next_block_cv.notify_all();
    } else {
      run.next_block_cv.wait(lock, [&] { return run.current_block > b; });
    }
  }
  st = ThreadState{};
}

}  // namespace

ThreadState& thread_state() { return tls_state; }

void launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, const std::function<void()>& body) {
  const uint64_t n_threads = uint64_t{block.x} * block.y * block.z;
  const uint64_t n_blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (n_threads == 0 || n_blocks == 0) die("launch with an empty grid or block");
  if (n_threads > 1024) die("launch with more than 1024 threads per block");
  if (block.z > 64) die("launch with blockDim.z > 64");
  if (grid.y > 65535 || grid.z > 65535) die("launch with gridDim.y or gridDim.z > 65535");
  if (dynamic_shared_bytes > kMaxSharedBytes) die("launch with more dynamic shared memory than a block can have");
  if (tls_state.block != nullptr) die("a kernel launched another kernel (dynamic parallelism is not emulated)");

  BlockRun run;
  run.grid = grid;
  run.block = block;
  run.n_threads = static_cast<unsigned>(n_threads);
  run.n_blocks = n_blocks;
  run.dynamic_bytes = dynamic_shared_bytes;
  run.arena.resize(kMaxSharedBytes);
  run.body = &body;
  for (unsigned first = 0; first < run.n_threads; first += 32) {
    auto w = std::make_unique<Warp>();
    w->lanes = std::min(32u, run.n_threads - first);
    run.warps.push_back(std::move(w));
  }
  run.reset_block();
  std::vector<std::thread> threads;
  threads.reserve(run.n_threads);
  for (unsigned t = 0; t < run.n_threads; ++t) threads.emplace_back(thread_main, std::ref(run), t);
  for (std::thread& t : threads) t.join();
}

void syncthreads() {
  BlockRun& run = run_of_caller();
  std::unique_lock<std::mutex> lock(run.mutex);
  run.block_barrier.wait(lock);
}

void* shared_static(size_t bytes, size_t align) {
  BlockRun& run = run_of_caller();
  size_t offset = run.dynamic_bytes + tls_state.shared_cursor;
  offset = (offset + align - 1) / align * align;
  if (offset + bytes > run.arena.size()) die("static + dynamic shared memory exceed what a block can have");
  tls_state.shared_cursor = offset + bytes - run.dynamic_bytes;
  return run.arena.data() + offset;
}

void* shared_dynamic() { return run_of_caller().arena.data(); }

uint64_t warp_exchange(uint64_t value, unsigned src_lane) {
  BlockRun& run = run_of_caller();
  Warp& warp = *run.warps[tls_state.linear_tid / 32];
  std::unique_lock<std::mutex> lock(run.mutex);
  warp.slots[tls_state.linear_tid % 32] = value;
  warp.barrier.wait(lock);
  const uint64_t out = warp.slots[src_lane % 32];
  // Nobody may overwrite a slot before every lane has read it.
  warp.barrier.wait(lock);
  return out;
}

uint32_t warp_ballot(bool predicate) {
  const unsigned lane = tls_state.linear_tid % 32;
  const uint64_t mine = predicate ? (uint64_t{1} << lane) : 0;
  BlockRun& run = run_of_caller();
  Warp& warp = *run.warps[tls_state.linear_tid / 32];
  std::unique_lock<std::mutex> lock(run.mutex);
  warp.slots[lane] = mine;
  warp.barrier.wait(lock);
  uint32_t bits = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (warp.active & (1u << l)) bits |= static_cast<uint32_t>(warp.slots[l]);
  }
  warp.barrier.wait(lock);
  return bits;
}

void warp_all_gather(const void* mine, void* all, size_t bytes) {
  if (bytes > kMaxGatherBytes) die("warp_all_gather of more than kMaxGatherBytes per lane");
  BlockRun& run = run_of_caller();
  Warp& warp = *run.warps[tls_state.linear_tid / 32];
  const unsigned lane = tls_state.linear_tid % 32;
  std::unique_lock<std::mutex> lock(run.mutex);
  std::memcpy(warp.gather + lane * bytes, mine, bytes);
  warp.barrier.wait(lock);
  unsigned char* out = static_cast<unsigned char*>(all);
  for (unsigned l = 0; l < 32; ++l) {
    if (warp.active & (1u << l)) std::memcpy(out + l * bytes, warp.gather + l * bytes, bytes);
  }
  // Nobody may overwrite a contribution before every lane has read it.
  warp.barrier.wait(lock);
}

uint32_t warp_active_mask() {
  BlockRun& run = run_of_caller();
  std::lock_guard<std::mutex> lock(run.mutex);
  return run.warps[tls_state.linear_tid / 32]->active;
}

}  // namespace dsv4cu::emu
