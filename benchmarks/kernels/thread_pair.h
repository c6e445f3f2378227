// Two threads for the benchmarks: the caller and one persistent worker, started once, so
// that a ~100 µs GEMV is not dominated by thread creation. run(f) calls f(0) on the caller
// and f(1) on the worker and returns when both are done (the worker spins briefly, then
// yields, between jobs).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace dsv4bench {

class ThreadPair {
 public:
  ThreadPair();
  ~ThreadPair();
  ThreadPair(const ThreadPair&) = delete;
  ThreadPair& operator=(const ThreadPair&) = delete;

  void run(const std::function<void(int)>& f);

 private:
  void worker_loop();

  std::atomic<uint64_t> posted_{0};
  std::atomic<uint64_t> finished_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* job_ = nullptr;
  std::thread worker_;
};

// The process-wide pair (created on first use).
ThreadPair& thread_pair();

}  // namespace dsv4bench
