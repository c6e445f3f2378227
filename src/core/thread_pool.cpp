#include "core/thread_pool.h"

#include <algorithm>

#include "core/check.h"

namespace dsv4 {

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
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

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_ranges();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--n_busy_ == 0) done_.notify_one();
    }
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_grain_ = grain;
    next_.store(0, std::memory_order_relaxed);
    n_busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  run_ranges();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return n_busy_ == 0; });
  job_ = nullptr;
}

}  // namespace dsv4
