// The machine ceilings the kernel benchmarks are compared with, measured in the same run:
// the streaming-read bandwidth of two threads over a buffer far larger than L3, and the
// fp32 FMA peak of two threads (AVX-512).
#pragma once

namespace dsv4bench {

// Best of several passes of two threads each summing half of a 1 GiB buffer, with and
// without software prefetch (GB/s = 1e9 B/s).
double measure_read_bandwidth_gbs();
// 2 threads × 16 independent zmm FMA chains (GFLOP/s, 2 flops per lane per FMA).
double measure_fma_peak_gflops();

// The values measured so far in this run (0 until measured).
double read_bandwidth_gbs();
double fma_peak_gflops();

}  // namespace dsv4bench
