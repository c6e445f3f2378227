#include "cuda/norm.h"

#include "cuda/norm.cuh"

namespace dsv4k::cuda {

int rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
            int64_t ldy, Round round, void* stream) {
  return static_cast<int>(
      launch_rmsnorm(x, n_rows, dim, ldx, w, eps, y, ldy, round, static_cast<dsv4cu::Stream>(stream)));
}

int head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps, Round round,
                 void* stream) {
  return static_cast<int>(
      launch_head_rmsnorm(x, n_rows, n_heads, head_dim, ldx, eps, round, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
