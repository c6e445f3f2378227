// Machine ceilings for the kernel benchmarks (see machine_limits.h). Portable code: the
// AVX-512 loops live in machine_loops.cpp, called only when the kernels are supported.
#include "machine_limits.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "machine_loops.h"
#include "thread_pair.h"

namespace dsv4bench {
namespace {

double g_bandwidth = 0.0;
double g_peak = 0.0;

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double measure_read_bandwidth_gbs() {
  const size_t bytes = size_t{1} << 30;
  const size_t n = bytes / sizeof(float);
  float* buf = static_cast<float*>(std::aligned_alloc(64, bytes));
  std::memset(buf, 0, bytes);  // touch every page before timing
  volatile float sink = 0.0f;
  double best = 0.0;
  for (int rep = 0; rep < 10; ++rep) {
    const double t0 = seconds_now();
    thread_pair().run([&](int t) {
      const float* half = buf + n / 2 * static_cast<size_t>(t);
      const float s = rep % 2 == 0 ? sum_buffer(half, n / 2) : sum_buffer_prefetched(half, n / 2);
      if (s != 0.0f) sink = s;
    });
    const double gbs = static_cast<double>(bytes) / (seconds_now() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  std::free(buf);
  g_bandwidth = best;
  return best;
}

double measure_fma_peak_gflops() {
  const int64_t iters = 20'000'000;
  volatile float sink = 0.0f;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = seconds_now();
    thread_pair().run([&](int) {
      const float s = fma_chains(iters);
      if (s == 12345.0f) sink = s;
    });
    const double gflops = 2.0 * 2 * 16 * 16 * static_cast<double>(iters) / (seconds_now() - t0) / 1e9;
    if (gflops > best) best = gflops;
  }
  g_peak = best;
  return best;
}

double read_bandwidth_gbs() { return g_bandwidth; }
double fma_peak_gflops() { return g_peak; }

}  // namespace dsv4bench
