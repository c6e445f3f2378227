// The machine's sustained DRAM read bandwidth, measured in the same run as a benchmark so
// that achieved figures are reported as a fraction of what this machine does now.
#pragma once

#include <cstddef>

namespace dsv4::bench {

// Best of `repeats` passes of n_threads threads each summing its share of a buffer of
// `bytes` (much larger than the last-level cache). Returns bytes per second.
double measure_read_bandwidth(int n_threads, size_t bytes, int repeats);

}  // namespace dsv4::bench
