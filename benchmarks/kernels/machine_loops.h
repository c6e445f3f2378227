// AVX-512 loops for the machine ceilings (machine_loops.cpp): a streaming read and
// independent FMA chains. Call only when dsv4k::cpu::avx512_kernels_supported().
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsv4bench {

// Sum of n floats (n a multiple of 64, p 64-byte aligned), four independent chains.
float sum_buffer(const float* p, size_t n);
// The same with software prefetching 8 KiB ahead.
float sum_buffer_prefetched(const float* p, size_t n);
// 16 independent zmm FMA chains of `iters` steps each.
float fma_chains(int64_t iters);

}  // namespace dsv4bench
