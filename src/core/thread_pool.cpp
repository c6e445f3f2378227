#include "core/thread_pool.h"

#include <algorithm>

#include "core/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DSV4_CPU_RELAX() _mm_pause()
#else
#define DSV4_CPU_RELAX() std::this_thread::yield()
#endif

namespace dsv4 {

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void ThreadPool::run_ranges() {
  for (;;) {
    int64_t begin = next_.fetch_add(job_grain_, std::memory_order_relaxed);
    if (begin >= job_n_) return;
    (*job_)(begin, std::min(job_n_, begin + job_grain_));
  }
}

uint64_t ThreadPool::wait_for_work(uint64_t seen) {
  const auto spin_until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    const uint64_t g = generation_.load(std::memory_order_acquire);
    if (g != seen || stop_.load(std::memory_order_relaxed)) return g;
    // Every 64 polls: check the clock, and yield so that an oversubscribed core can run
    // the thread this one is waiting for.
    if ((i & 63) == 63) {
      if (std::chrono::steady_clock::now() > spin_until) break;
      std::this_thread::yield();
    }
    DSV4_CPU_RELAX();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  ++n_sleeping_;
  // The generation is re-checked under the mutex, which the caller takes after bumping
  // it: a wake-up cannot be lost between the check and the wait.
  wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
  --n_sleeping_;
  return generation_.load(std::memory_order_acquire);
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_work(seen);
    if (stop_.load()) return;
    run_ranges();
    n_busy_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  DSV4_CHECK(grain >= 1);
  if (n <= 0) return;
  // Small loops (or a single-thread pool) run inline: waking workers costs more than it saves.
  if (workers_.empty() || n <= grain) {
    for (int64_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  next_.store(0, std::memory_order_relaxed);
  n_busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);  // publishes the job fields
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (n_sleeping_ > 0) wake_.notify_all();
  }
  run_ranges();
  // Workers are running this job right now (or waking up): spin, do not sleep, but yield
  // now and then in case a worker is waiting for this core.
  for (int i = 0; n_busy_.load(std::memory_order_acquire) > 0; ++i) {
    if ((i & 63) == 63) std::this_thread::yield();
    DSV4_CPU_RELAX();
  }
  job_ = nullptr;
}

}  // namespace dsv4
