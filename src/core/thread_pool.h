// A fixed pool of worker threads for data-parallel loops inside one op.
//
// Work is split into contiguous index ranges claimed from an atomic counter, and the
// calling thread works too. Which thread computes an index never changes the result:
// kernels must make every output element's arithmetic independent of the partition,
// which is what keeps a sequence's results identical alone and in any batch.
#pragma once

#include <atomic>
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
  // into the same pool.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Hardware threads available to this process (at least 1).
  static int hardware_threads();

 private:
  void worker_loop();
  void run_ranges();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;  // bumped once per parallel_for; workers wait for a new one
  bool stop_ = false;
  int n_busy_ = 0;           // workers still inside the current generation

  // The current job, valid while a parallel_for is in flight.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  std::atomic<int64_t> next_{0};
};

}  // namespace dsv4
