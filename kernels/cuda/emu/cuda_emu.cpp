// The host emulation of the CUDA execution model (see cuda_emu.h).
//
// Every CUDA thread of the running block is a fiber: a ucontext with its own stack, switched
// cooperatively on the OS thread that called launch(). A fiber runs until it blocks at a
// barrier (block or warp) or returns from the kernel; then it hands the OS thread directly to
// the next runnable fiber of the block in round-robin order. No locks are needed, and no
// system calls beyond the signal-mask update inside swapcontext.
#include "emu/cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define DSV4_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DSV4_EMU_ASAN 1
#endif
#endif

#if defined(DSV4_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace dsv4cu::emu {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "cuda_emu: %s\n", what);
  std::abort();
}

// Kernels keep a few KiB of locals at most, but a failing gtest expectation formats its
// message on the fiber's stack too. ASan's redzones (and GCC not sharing stack slots between
// scopes under it) make frames several times larger.
#if defined(DSV4_EMU_ASAN)
constexpr size_t kStackBytes = size_t{1} << 20;
#else
constexpr size_t kStackBytes = size_t{256} << 10;
#endif

// A reusable barrier whose party count drops when a thread returns from the kernel, the
// way bar.sync counts exited threads as arrived. The caller of arrive() or leave() that
// completes it is the one to call release().
struct Barrier {
  unsigned live = 0;
  unsigned arrived = 0;
  uint64_t generation = 0;

  bool arrive() { return ++arrived == live; }
  bool leave() {
    --live;
    return arrived > 0 && arrived == live;
  }
  void release() {
    arrived = 0;
    ++generation;
  }
};

// The exchange buffers are doubled, indexed by the barrier generation's parity: a lane can
// only write buffer p again after the next barrier, which every live lane reaches only after
// reading buffer p. So one barrier per warp operation suffices (halving the switches).
struct Warp {
  Barrier barrier;
  unsigned lanes = 0;     // threads of the launch in this warp
  uint32_t active = 0;    // lanes that have not returned
  uint32_t took_part[2] = {};  // per buffer: the live lanes when its exchange completed
  uint64_t slots[2][32] = {};   // values being exchanged
  unsigned char gather[2][32 * kMaxGatherBytes] = {};  // warp_all_gather's contributions

  // The exchange buffer of the warp operation that the caller is arriving at.
  unsigned buffer() const { return static_cast<unsigned>(barrier.generation & 1u); }

  void release() {
    // Every live lane has arrived; a lane that returns after this point still took part.
    took_part[buffer()] = active;
    barrier.release();
  }
};

struct Fiber {
  ucontext_t context;
  unsigned char* mapping = nullptr;  // guard page, then the stack
  size_t mapping_bytes = 0;
  ThreadState state;
  const Barrier* waiting_on = nullptr;  // blocked until this barrier's generation moves on
  uint64_t waiting_generation = 0;
  bool finished = false;
  void* fake_stack = nullptr;  // ASan's fake stack of the fiber while it is switched out

  Fiber() {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    mapping_bytes = kStackBytes + page;
    void* p = mmap(nullptr, mapping_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (p == MAP_FAILED) die("cannot map a fiber stack");
    mapping = static_cast<unsigned char*>(p);
    // Stacks grow down: an overflow runs into the guard page and faults instead of
    // silently corrupting the neighbouring fiber's stack.
    if (mprotect(mapping, page, PROT_NONE) != 0) die("cannot protect a fiber stack's guard page");
    if (getcontext(&context) != 0) die("getcontext failed");
  }
  ~Fiber() { munmap(mapping, mapping_bytes); }
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  unsigned char* stack() const { return mapping + (mapping_bytes - kStackBytes); }
  bool runnable() const { return !finished && (waiting_on == nullptr || waiting_on->generation != waiting_generation); }
};

struct Scheduler;

// The state of one launch, shared by its threads.
struct BlockRun {
  dim3 grid;
  dim3 block;
  unsigned n_threads = 0;
  uint64_t n_blocks = 0;
  uint64_t block_linear = 0;
  size_t dynamic_bytes = 0;
  const std::function<void()>* body = nullptr;
  Scheduler* scheduler = nullptr;
  Barrier block_barrier;
  unsigned finished = 0;
};

// What one OS thread keeps for the launches it makes; reused from one launch to the next.
// Launches from different OS threads never share any of it.
struct Scheduler {
  std::vector<std::unique_ptr<Fiber>> fibers;  // unique_ptr: a ucontext_t must not move
  std::vector<Warp> warps;
  std::vector<unsigned char> arena;
  size_t arena_dirty = 0;  // bytes of the arena handed out since it was last filled
  BlockRun* run = nullptr;
  unsigned current = 0;  // the running fiber

  ucontext_t launcher;
#if defined(DSV4_EMU_ASAN)
  void* launcher_fake_stack = nullptr;
  const void* launcher_stack_bottom = nullptr;
  size_t launcher_stack_bytes = 0;
  bool entered_from_launcher = false;
#endif
};

// The running fiber's ThreadState, null outside a launch. A plain pointer so that the
// builtins' hot path (every threadIdx) needs no thread_local initialization guard.
thread_local ThreadState* tls_current = nullptr;
thread_local ThreadState tls_outside;  // what thread_state() gives outside any launch

Scheduler& this_threads_scheduler() {
  thread_local Scheduler scheduler;
  return scheduler;
}

BlockRun& run_of_caller() {
  if (tls_current == nullptr) die("a device builtin was called outside a kernel launch");
  return *static_cast<BlockRun*>(tls_current->block);
}

// ---- switching -------------------------------------------------------------------------
// ASan tracks one stack per OS thread; the annotations tell it which stack is live, so that
// it neither reports frames of another fiber's stack nor loses fake stacks.

void switch_context(ucontext_t* from, [[maybe_unused]] void** from_fake_stack, const ucontext_t* to,
                    [[maybe_unused]] const void* to_bottom, [[maybe_unused]] size_t to_bytes) {
#if defined(DSV4_EMU_ASAN)
  __sanitizer_start_switch_fiber(from_fake_stack, to_bottom, to_bytes);
#endif
  if (swapcontext(from, to) != 0) die("swapcontext failed");
#if defined(DSV4_EMU_ASAN)
  __sanitizer_finish_switch_fiber(*from_fake_stack, nullptr, nullptr);
#endif
}

// Leaves a fiber that has returned from the kernel for good.
[[noreturn]] void exit_to(const ucontext_t* to, [[maybe_unused]] const void* to_bottom,
                          [[maybe_unused]] size_t to_bytes) {
#if defined(DSV4_EMU_ASAN)
  // The frames still on this stack are never returned from: clear their poisoning, or the
  // fiber's next kernel run on the reused stack would trip over stale redzones.
  __asan_handle_no_return();
  __sanitizer_start_switch_fiber(nullptr, to_bottom, to_bytes);
#endif
  setcontext(to);
  die("setcontext failed");
}

// The next fiber after the current one, round robin, that can run; n_threads when none.
unsigned next_runnable(const Scheduler& s) {
  const unsigned n = s.run->n_threads;
  for (unsigned k = 1; k <= n; ++k) {
    const unsigned i = (s.current + k) % n;
    if (s.fibers[i]->runnable()) return i;
  }
  return n;
}

[[noreturn]] void deadlock(const Scheduler& s) {
  const BlockRun& run = *s.run;
  unsigned at_block = 0, at_warp = 0;
  for (unsigned i = 0; i < run.n_threads; ++i) {
    const Fiber& f = *s.fibers[i];
    if (f.finished) continue;
    if (f.waiting_on == &run.block_barrier) {
      ++at_block;
    } else {
      ++at_warp;
    }
  }
  const dim3 b = s.fibers[0]->state.block_idx;
  std::fprintf(stderr,
               "cuda_emu: deadlock in block (%u,%u,%u): %u threads wait at __syncthreads and %u at warp operations, "
               "and none can go on (a barrier or warp operation that some live thread of its block or warp never "
               "reaches)\n",
               b.x, b.y, b.z, at_block, at_warp);
  std::abort();
}

void resume(Scheduler& s, unsigned i) {
  s.current = i;
  tls_current = &s.fibers[i]->state;
}

// Blocks the running fiber until `barrier` is released by the other parties.
void block_on(Scheduler& s, const Barrier& barrier) {
  Fiber& me = *s.fibers[s.current];
  me.waiting_on = &barrier;
  me.waiting_generation = barrier.generation;
  const unsigned next = next_runnable(s);
  if (next == s.run->n_threads) deadlock(s);
  Fiber& to = *s.fibers[next];
  resume(s, next);
  switch_context(&me.context, &me.fake_stack, &to.context, to.stack(), kStackBytes);
  me.waiting_on = nullptr;
}

void fiber_main() {
  Scheduler& s = this_threads_scheduler();
#if defined(DSV4_EMU_ASAN)
  const void* from_bottom = nullptr;
  size_t from_bytes = 0;
  __sanitizer_finish_switch_fiber(nullptr, &from_bottom, &from_bytes);
  if (s.entered_from_launcher) {
    s.launcher_stack_bottom = from_bottom;
    s.launcher_stack_bytes = from_bytes;
    s.entered_from_launcher = false;
  }
#endif
  BlockRun& run = *s.run;
  try {
    (*run.body)();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_emu: a kernel thread threw: %s\n", e.what());
    std::abort();
  } catch (...) {
    die("a kernel thread threw");
  }
  const unsigned tid = s.current;
  Fiber& me = *s.fibers[tid];
  me.finished = true;
  ++run.finished;
  if (run.block_barrier.leave()) run.block_barrier.release();
  Warp& warp = s.warps[tid / 32];
  warp.active &= ~(1u << (tid % 32));
  if (warp.barrier.leave()) warp.release();

  const unsigned next = next_runnable(s);
  if (next < run.n_threads) {
    resume(s, next);
    exit_to(&s.fibers[next]->context, s.fibers[next]->stack(), kStackBytes);
  }
  if (run.finished != run.n_threads) deadlock(s);
#if defined(DSV4_EMU_ASAN)
  exit_to(&s.launcher, s.launcher_stack_bottom, s.launcher_stack_bytes);
#else
  exit_to(&s.launcher, nullptr, 0);
#endif
}

void run_block(Scheduler& s, BlockRun& run) {
  const uint64_t b = run.block_linear;
  const dim3 block_idx(static_cast<unsigned>(b % run.grid.x), static_cast<unsigned>((b / run.grid.x) % run.grid.y),
                       static_cast<unsigned>(b / (uint64_t{run.grid.x} * run.grid.y)));
  run.block_barrier.live = run.n_threads;
  run.block_barrier.arrived = 0;
  run.finished = 0;
  for (unsigned w = 0; w * 32 < run.n_threads; ++w) {
    Warp& warp = s.warps[w];
    warp.lanes = std::min(32u, run.n_threads - w * 32);
    warp.barrier.live = warp.lanes;
    warp.barrier.arrived = 0;
    warp.active = warp.lanes == 32 ? 0xFFFFFFFFu : ((1u << warp.lanes) - 1u);
  }
  // Shared memory starts undefined on hardware: fill it with NaN bytes so that a kernel
  // reading what it never wrote shows up in the comparisons. Bytes past what was handed out
  // still hold the fill.
  std::fill(s.arena.begin(), s.arena.begin() + static_cast<std::ptrdiff_t>(s.arena_dirty),
            static_cast<unsigned char>(0xFF));
  s.arena_dirty = 0;
  for (unsigned t = 0; t < run.n_threads; ++t) {
    Fiber& f = *s.fibers[t];
    ThreadState& st = f.state;
    st.block = &run;
    st.linear_tid = t;
    st.block_dim = run.block;
    st.grid_dim = run.grid;
    st.thread_idx = dim3(t % run.block.x, (t / run.block.x) % run.block.y, t / (run.block.x * run.block.y));
    st.block_idx = block_idx;
    st.shared_cursor = 0;
    f.finished = false;
    f.waiting_on = nullptr;
    f.fake_stack = nullptr;
    // The context was initialized by getcontext once; makecontext only points it at a fresh
    // start of fiber_main on the (reused) stack.
    f.context.uc_stack.ss_sp = f.stack();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_main, 0);
#if defined(DSV4_EMU_ASAN)
    // ASan's swapcontext interceptor unpoisons the target's whole uc_stack around every
    // switch (remapping its 128 KiB of shadow: it took the ASan emu suite from 6 s to 54 s)
    // and thereby also wipes the redzones of a waiting fiber's live frames. The fiber
    // annotations in switch_context() make that unnecessary, and glibc reads uc_stack only
    // in makecontext, so hide it from the interceptor; exit_to() unpoisons what a finished
    // fiber leaves behind.
    f.context.uc_stack.ss_sp = nullptr;
    f.context.uc_stack.ss_size = 0;
#endif
  }
  resume(s, 0);
#if defined(DSV4_EMU_ASAN)
  s.entered_from_launcher = true;
  switch_context(&s.launcher, &s.launcher_fake_stack, &s.fibers[0]->context, s.fibers[0]->stack(), kStackBytes);
#else
  switch_context(&s.launcher, nullptr, &s.fibers[0]->context, nullptr, 0);
#endif
}

}  // namespace

ThreadState& thread_state() {
  ThreadState* st = tls_current;
  return st != nullptr ? *st : tls_outside;
}

namespace {

// The calling thread's recording, null when it does not record. Like the scheduler, per OS
// thread: a capture on one thread leaves other threads' launches alone.
thread_local std::unique_ptr<std::vector<Recording::Step>> tls_recording;
thread_local uint64_t tls_launches_issued = 0;

void check_launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes) {
  const uint64_t n_threads = uint64_t{block.x} * block.y * block.z;
  const uint64_t n_blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (n_threads == 0 || n_blocks == 0) die("launch with an empty grid or block");
  if (n_threads > 1024) die("launch with more than 1024 threads per block");
  if (block.z > 64) die("launch with blockDim.z > 64");
  if (grid.y > 65535 || grid.z > 65535) die("launch with gridDim.y or gridDim.z > 65535");
  if (dynamic_shared_bytes > kMaxSharedBytes) die("launch with more dynamic shared memory than a block can have");
  if (tls_current != nullptr) die("a kernel launched another kernel (dynamic parallelism is not emulated)");
}

// Runs a checked launch now.
void run_grid(dim3 grid, dim3 block, size_t dynamic_shared_bytes, const std::function<void()>& body) {
  const uint64_t n_threads = uint64_t{block.x} * block.y * block.z;
  const uint64_t n_blocks = uint64_t{grid.x} * grid.y * grid.z;
  Scheduler& s = this_threads_scheduler();
  while (s.fibers.size() < n_threads) s.fibers.push_back(std::make_unique<Fiber>());
  const size_t n_warps = (n_threads + 31) / 32;
  if (s.warps.size() < n_warps) s.warps.resize(n_warps);
  if (s.arena.empty()) s.arena.assign(kMaxSharedBytes, static_cast<unsigned char>(0xFF));

  BlockRun run;
  run.grid = grid;
  run.block = block;
  run.n_threads = static_cast<unsigned>(n_threads);
  run.n_blocks = n_blocks;
  run.dynamic_bytes = dynamic_shared_bytes;
  run.body = &body;
  run.scheduler = &s;
  s.run = &run;
  for (uint64_t b = 0; b < n_blocks; ++b) {
    run.block_linear = b;
    run_block(s, run);
  }
  s.run = nullptr;
  tls_current = nullptr;
}

}  // namespace

void launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, std::function<void()> body) {
  // Checked when launched, as the runtime checks a launch made during a capture.
  check_launch(grid, block, dynamic_shared_bytes);
  ++tls_launches_issued;
  if (tls_recording) {
    tls_recording->push_back(Recording::Step{true, grid, block, dynamic_shared_bytes, std::move(body)});
    return;
  }
  run_grid(grid, block, dynamic_shared_bytes, body);
}

void Recording::replay() const {
  if (tls_recording) {
    tls_recording->insert(tls_recording->end(), steps_.begin(), steps_.end());
    return;
  }
  for (const Step& step : steps_) {
    if (!step.kernel) {
      step.body();
      continue;
    }
    check_launch(step.grid, step.block, step.dynamic_shared_bytes);
    run_grid(step.grid, step.block, step.dynamic_shared_bytes, step.body);
  }
}

void begin_recording() {
  if (tls_recording) die("begin_recording while this thread already records");
  if (tls_current != nullptr) die("begin_recording inside a kernel");
  tls_recording = std::make_unique<std::vector<Recording::Step>>();
}

Recording end_recording() {
  if (!tls_recording) die("end_recording while this thread does not record");
  Recording out(std::move(*tls_recording));
  tls_recording.reset();
  return out;
}

bool recording() { return tls_recording != nullptr; }

uint64_t launches_issued() { return tls_launches_issued; }

void host_step(std::function<void()> step) {
  if (tls_recording) {
    tls_recording->push_back(Recording::Step{false, dim3(), dim3(), 0, std::move(step)});
    return;
  }
  step();
}

void syncthreads() {
  BlockRun& run = run_of_caller();
  if (run.block_barrier.arrive()) {
    run.block_barrier.release();
    return;
  }
  block_on(*run.scheduler, run.block_barrier);
}

namespace {

// Arrives at the calling thread's warp barrier and returns once every live lane has.
void warp_arrive_and_wait(Scheduler& s, Warp& warp) {
  if (warp.barrier.arrive()) {
    warp.release();
  } else {
    block_on(s, warp.barrier);
  }
}

Warp& warp_of_caller(BlockRun& run) { return run.scheduler->warps[tls_current->linear_tid / 32]; }

}  // namespace

void* shared_static(size_t bytes, size_t align) {
  BlockRun& run = run_of_caller();
  ThreadState& st = *tls_current;
  size_t offset = run.dynamic_bytes + st.shared_cursor;
  offset = (offset + align - 1) / align * align;
  Scheduler& s = *run.scheduler;
  if (offset + bytes > s.arena.size()) die("static + dynamic shared memory exceed what a block can have");
  st.shared_cursor = offset + bytes - run.dynamic_bytes;
  s.arena_dirty = std::max(s.arena_dirty, offset + bytes);
  return s.arena.data() + offset;
}

void* shared_dynamic() {
  BlockRun& run = run_of_caller();
  Scheduler& s = *run.scheduler;
  s.arena_dirty = std::max(s.arena_dirty, run.dynamic_bytes);
  return s.arena.data();
}

uint64_t warp_exchange(uint64_t value, unsigned src_lane) {
  BlockRun& run = run_of_caller();
  Warp& warp = warp_of_caller(run);
  const unsigned p = warp.buffer();
  warp.slots[p][tls_current->linear_tid % 32] = value;
  warp_arrive_and_wait(*run.scheduler, warp);
  return warp.slots[p][src_lane % 32];
}

uint32_t warp_ballot(bool predicate) {
  BlockRun& run = run_of_caller();
  Warp& warp = warp_of_caller(run);
  const unsigned lane = tls_current->linear_tid % 32;
  const unsigned p = warp.buffer();
  warp.slots[p][lane] = predicate ? (uint64_t{1} << lane) : 0;
  warp_arrive_and_wait(*run.scheduler, warp);
  uint32_t bits = 0;
  for (unsigned l = 0; l < 32; ++l) {
    if (warp.took_part[p] & (1u << l)) bits |= static_cast<uint32_t>(warp.slots[p][l]);
  }
  return bits;
}

void warp_all_gather(const void* mine, void* all, size_t bytes) {
  if (bytes > kMaxGatherBytes) die("warp_all_gather of more than kMaxGatherBytes per lane");
  BlockRun& run = run_of_caller();
  Warp& warp = warp_of_caller(run);
  const unsigned lane = tls_current->linear_tid % 32;
  const unsigned p = warp.buffer();
  std::memcpy(warp.gather[p] + lane * bytes, mine, bytes);
  warp_arrive_and_wait(*run.scheduler, warp);
  unsigned char* out = static_cast<unsigned char*>(all);
  for (unsigned l = 0; l < 32; ++l) {
    if (warp.took_part[p] & (1u << l)) std::memcpy(out + l * bytes, warp.gather[p] + l * bytes, bytes);
  }
}

uint32_t warp_active_mask() {
  BlockRun& run = run_of_caller();
  return warp_of_caller(run).active;
}

}  // namespace dsv4cu::emu
