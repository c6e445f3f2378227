// The benchmarks' persistent two-thread runner (see thread_pair.h).
#include "thread_pair.h"

namespace dsv4bench {
namespace {

// Spin this many polls before yielding: long enough to catch back-to-back jobs, short
// enough not to starve other processes on a shared 2-core machine.
constexpr int kSpins = 20000;

template <class Pred>
void wait_until(Pred&& ready) {
  for (int i = 0; !ready(); ++i)
    if (i > kSpins) std::this_thread::yield();
}

}  // namespace

ThreadPair::ThreadPair() : worker_([this] { worker_loop(); }) {}

ThreadPair::~ThreadPair() {
  stop_.store(true, std::memory_order_release);
  posted_.fetch_add(1, std::memory_order_acq_rel);
  worker_.join();
}

void ThreadPair::run(const std::function<void(int)>& f) {
  job_ = &f;
  const uint64_t ticket = posted_.fetch_add(1, std::memory_order_acq_rel) + 1;
  f(0);
  wait_until([&] { return finished_.load(std::memory_order_acquire) == ticket; });
}

void ThreadPair::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    wait_until([&] { return posted_.load(std::memory_order_acquire) != seen; });
    seen = posted_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    (*job_)(1);
    finished_.store(seen, std::memory_order_release);
  }
}

ThreadPair& thread_pair() {
  static ThreadPair pair;
  return pair;
}

}  // namespace dsv4bench
