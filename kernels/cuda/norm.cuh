// RMS normalizations on the GPU (spec §2.1, §2.4.1, §2.9); the contracts are dsv4k::ref::rmsnorm and
// dsv4k::ref::head_rmsnorm (kernels/include/dsv4k/norm.h).
//
// Both references accumulate the sum of squares in double. The kernels do too: a float square is
// exact in double, so a parallel double sum differs from the sequential one by ~1e-13 relative,
// far below the fp32 rounding of the mean. The scale and the outputs then follow the reference's
// operations one for one, so the results are bit-identical to the reference except on the
// (rare) rows whose mean lands within that distance of an fp32 rounding boundary.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace norm_detail {

// Sum over the block (blockDim.x a multiple of 32), the same value in every thread. Called once
// per kernel: the shared array is declared here.
DSV4_DEVICE double block_sum_f64(double v) {
  DSV4_SHARED_ARRAY(double, partial, 32);
  const unsigned warp = threadIdx.x / 32u;
  const unsigned n_warps = blockDim.x / 32u;
  v = dsv4cu::warp_sum_f64(v);
  if (dsv4cu::lane_id() == 0) partial[warp] = v;
  __syncthreads();
  double total = 0.0;
  for (unsigned i = 0; i < n_warps; ++i) total += partial[i];
  return total;
}

}  // namespace norm_detail

inline constexpr int kNormMaxThreads = 256;
inline constexpr int kHeadNormWarpsPerBlock = 4;

// One block per row.
DSV4_GLOBAL void rmsnorm_kernel(const float* x, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
                                int64_t ldy, Round round) {
  const int64_t r = static_cast<int64_t>(blockIdx.x);
  const float* xr = x + r * ldx;
  float* yr = y + r * ldy;
  const int64_t step = static_cast<int64_t>(blockDim.x);
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += step) {
    const double v = static_cast<double>(xr[i]);
    ss += v * v;
  }
  ss = norm_detail::block_sum_f64(ss);
  const float inv = 1.0f / sqrtf(static_cast<float>(ss / static_cast<double>(dim)) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += step) yr[i] = round_to(xr[i] * inv * bf16_to_f32(w[i]), round);
}

// One warp per (row, head): head_dim is 512 (16 values a lane), so no block barrier is needed.
// In place: every lane reads its values before the reduction and writes only those values.
DSV4_GLOBAL void head_rmsnorm_kernel(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx,
                                     float eps, Round round) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32u) + threadIdx.x / 32u;
  if (item >= n_rows * n_heads) return;  // whole warps leave together: the shuffles stay full
  const int64_t r = item / n_heads;
  const int64_t h = item % n_heads;
  float* q = x + r * ldx + h * head_dim;
  const int64_t lane = dsv4cu::lane_id();
  double ss = 0.0;
  for (int64_t i = lane; i < head_dim; i += 32) ss += static_cast<double>(round_to(q[i] * q[i], round));
  ss = dsv4cu::warp_sum_f64(ss);
  // The reference's bf16 tensor ops each round: mean, +eps, rsqrt, product.
  const float mean = round_to(static_cast<float>(ss / static_cast<double>(head_dim)), round);
  const float denom = round_to(mean + eps, round);
  const float inv = round_to(1.0f / sqrtf(denom), round);
  for (int64_t i = lane; i < head_dim; i += 32) q[i] = round_to(q[i] * inv, round);
}

inline cudaError_t launch_rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w,
                                  float eps, float* y, int64_t ldy, Round round, dsv4cu::Stream stream) {
  if (n_rows <= 0 || dim <= 0) return cudaSuccess;
  const int64_t threads = dim >= kNormMaxThreads ? kNormMaxThreads : dsv4cu::ceil_div(dim, 32) * 32;
  return dsv4cu::launch(rmsnorm_kernel, dim3(static_cast<unsigned>(n_rows)), dim3(static_cast<unsigned>(threads)),
                        0, stream, x, dim, ldx, w, eps, y, ldy, round);
}

inline cudaError_t launch_head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx,
                                       float eps, Round round, dsv4cu::Stream stream) {
  const int64_t items = n_rows * n_heads;
  if (items <= 0 || head_dim <= 0) return cudaSuccess;
  const int64_t blocks = dsv4cu::ceil_div(items, kHeadNormWarpsPerBlock);
  return dsv4cu::launch(head_rmsnorm_kernel, dim3(static_cast<unsigned>(blocks)),
                        dim3(32u * kHeadNormWarpsPerBlock), 0, stream, x, n_rows, n_heads, head_dim, ldx, eps,
                        round);
}

}  // namespace dsv4k::cuda
