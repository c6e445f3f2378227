#include "read_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace dsv4::bench {

double measure_read_bandwidth(int n_threads, size_t bytes, int repeats) {
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;  // touch every page
  std::atomic<uint64_t> sink{0};
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t) {
      threads.emplace_back([&, t] {
        const size_t b = n * static_cast<size_t>(t) / static_cast<size_t>(n_threads);
        const size_t e = n * static_cast<size_t>(t + 1) / static_cast<size_t>(n_threads);
        // Eight independent accumulators keep the loop load-bound, not add-latency-bound.
        uint64_t acc[8] = {};
        size_t i = b;
        for (; i + 8 <= e; i += 8)
          for (int j = 0; j < 8; ++j) acc[j] += buf[i + static_cast<size_t>(j)];
        for (; i < e; ++i) acc[0] += buf[i];
        uint64_t s = 0;
        for (uint64_t a : acc) s += a;
        sink += s;
      });
    }
    for (auto& th : threads) th.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / secs);
  }
  if (sink.load() == 42) std::fputs("", stderr);  // keep the sums alive
  return best;
}

}  // namespace dsv4::bench
