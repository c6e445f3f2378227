#include "cuda/rope.h"

#include "cuda/rope.cuh"

namespace dsv4k::cuda {

int rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
               const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round,
               void* stream) {
  return static_cast<int>(launch_rope_apply(x, n_rows, ld_row, n_heads, ld_head, offset, cos_table, sin_table,
                                            n_freq, inverse, round, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
