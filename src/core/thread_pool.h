// A fixed pool of worker threads for data-parallel loops inside one op.
//
// Work is split into contiguous index ranges claimed from an atomic counter, and the
// calling thread works too. Which thread computes an index never changes the result:
// kernels must make every output element's arithmetic independent of the partition,
// which is what keeps a sequence's results identical alone and in any batch.
//
// A decode step is hundreds of short parallel loops, so dispatch latency matters more
// than idle CPU: between loops the workers spin for a short while (kSpin) before they
// block, and the caller spins for the workers' completion instead of blocking.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dsv4 {

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no worker threads at all.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) over disjoint ranges covering [0, n), each at most `grain` long
  // (grain >= 1). Blocks until all ranges are done. Not reentrant: fn must not call back
  // into the same pool, and one thread at a time may call parallel_for.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Hardware threads available to this process (at least 1).
  static int hardware_threads();

  // How long an idle worker keeps polling for the next loop before it sleeps.
  static constexpr std::chrono::microseconds kSpin{500};

 private:
  void worker_loop();
  void run_ranges();
  // Waits until the generation differs from `seen` (or stop); returns the new one.
  uint64_t wait_for_work(uint64_t seen);

  int n_threads_;
  std::vector<std::thread> workers_;

  // The current job; written by the caller before it publishes a new generation.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  std::atomic<int64_t> next_{0};

  std::atomic<uint64_t> generation_{0};  // bumped (release) once per parallel_for
  std::atomic<int> n_busy_{0};           // workers still inside the current generation
  std::atomic<bool> stop_{false};

  // Sleeping workers wait here; the caller only takes the mutex when someone sleeps.
  std::mutex mutex_;
  std::condition_variable wake_;
  int n_sleeping_ = 0;  // guarded by mutex_
};

}  // namespace dsv4
