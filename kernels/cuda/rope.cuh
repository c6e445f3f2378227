// Interleaved RoPE on the GPU (spec §2.1, §2.4.3, §2.4.8); the contract is dsv4k::ref::rope_apply
// (kernels/include/dsv4k/rope.h). The cos/sin tables come from the host (ref::rope_table), so the
// rotation itself is exact fp32 arithmetic and bit-identical to the reference.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kRopeThreads = 256;
inline constexpr int64_t kRopeMaxBlocks = 8192;

// One thread per (row, head, pair); consecutive threads take consecutive pairs of a head.
DSV4_GLOBAL void rope_apply_kernel(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head,
                                   int64_t offset, const float* cos_table, const float* sin_table, int64_t n_freq,
                                   bool inverse, Round round) {
  const int64_t total = n_rows * n_heads * n_freq;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t k = idx % n_freq;
    const int64_t rh = idx / n_freq;
    const int64_t h = rh % n_heads;
    const int64_t r = rh / n_heads;
    float* v = x + r * ld_row + h * ld_head + offset;
    const float c = cos_table[r * n_freq + k];
    const float s = inverse ? -sin_table[r * n_freq + k] : sin_table[r * n_freq + k];
    const float a = v[2 * k];
    const float b = v[2 * k + 1];
    v[2 * k] = round_to(dsv4cu::mul_rn(a, c) - dsv4cu::mul_rn(b, s), round);
    v[2 * k + 1] = round_to(dsv4cu::mul_rn(a, s) + dsv4cu::mul_rn(b, c), round);
  }
}

inline cudaError_t launch_rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head,
                                     int64_t offset, const float* cos_table, const float* sin_table,
                                     int64_t n_freq, bool inverse, Round round, dsv4cu::Stream stream) {
  const int64_t total = n_rows * n_heads * n_freq;
  if (n_rows <= 0 || n_heads <= 0 || n_freq <= 0) return cudaSuccess;
  int64_t blocks = dsv4cu::ceil_div(total, kRopeThreads);
  if (blocks > kRopeMaxBlocks) blocks = kRopeMaxBlocks;
  return dsv4cu::launch(rope_apply_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kRopeThreads), 0, stream, x,
                        n_rows, ld_row, n_heads, ld_head, offset, cos_table, sin_table, n_freq, inverse, round);
}

}  // namespace dsv4k::cuda
