// The reference's quantizers on the GPU (spec §2.1); the contracts are dsv4k::ref::quantize_e4m3,
// simulate_e4m3, simulate_e2m1 and hadamard128 (kernels/include/dsv4k/quant.h).
//
// A block maximum does not depend on the order it is taken in, and every value is then encoded
// with the shared codecs of dsv4k/numeric.h, so the quantizers are bit-identical to the
// reference. The Hadamard butterflies are the reference's additions, spread over a warp.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"

namespace dsv4k::cuda {

inline constexpr int kQuantWarpsPerBlock = 4;

namespace quant_detail {

// Max |x| of `block` values, the same in every lane of the warp (NaN is skipped, as std::fmax does).
DSV4_DEVICE float warp_block_amax(const float* xb, int64_t block) {
  float a = 0.0f;
  for (int64_t i = dsv4cu::lane_id(); i < block; i += 32) a = fmaxf(a, fabsf(xb[i]));
  return dsv4cu::warp_max(a);
}

DSV4_DEVICE int64_t warp_item() {
  return static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32u) + threadIdx.x / 32u;
}

inline dim3 grid_for(int64_t items) {
  return dim3(static_cast<unsigned>(dsv4cu::ceil_div(items, kQuantWarpsPerBlock)));
}

}  // namespace quant_detail

// One warp per (row, block).
DSV4_GLOBAL void quantize_e4m3_kernel(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                                      uint8_t* q, float* scale) {
  const int64_t n_blocks = n_cols / block;
  const int64_t item = quant_detail::warp_item();
  if (item >= n_rows * n_blocks) return;  // whole warps leave together
  const int64_t r = item / n_blocks;
  const int64_t b = item % n_blocks;
  const float* xb = x + r * ldx + b * block;
  const int e = pow2_scale_exponent(quant_detail::warp_block_amax(xb, block), kE4M3AmaxFloor, kE4M3InvMax);
  const float inv_s = exp2i(-e);
  uint8_t* qb = q + r * n_cols + b * block;
  for (int64_t i = dsv4cu::lane_id(); i < block; i += 32) {
    const float v = fminf(fmaxf(xb[i] * inv_s, -kE4M3Max), kE4M3Max);
    qb[i] = f32_to_e4m3(v);
  }
  if (dsv4cu::lane_id() == 0) scale[item] = exp2i(e);
}

// In-place quantize-dequantize round trip; one warp per (row, block). kFp4: e2m1, else e4m3.
template <bool kFp4>
DSV4_GLOBAL void simulate_quant_kernel(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) {
  const int64_t n_blocks = n_cols / block;
  const int64_t item = quant_detail::warp_item();
  if (item >= n_rows * n_blocks) return;
  const int64_t r = item / n_blocks;
  const int64_t b = item % n_blocks;
  float* xb = x + r * ldx + b * block;
  const float amax = quant_detail::warp_block_amax(xb, block);
  const int e = kFp4 ? pow2_scale_exponent(amax, kE2M1AmaxFloor, kE2M1InvMax)
                     : pow2_scale_exponent(amax, kE4M3AmaxFloor, kE4M3InvMax);
  const float s = exp2i(e);
  const float inv_s = exp2i(-e);
  const float qmax = kFp4 ? kE2M1Max : kE4M3Max;
  // Every lane has read its whole share of the block (for the max) before any lane writes.
  for (int64_t i = dsv4cu::lane_id(); i < block; i += 32) {
    const float v = fminf(fmaxf(xb[i] * inv_s, -qmax), qmax);
    xb[i] = (kFp4 ? e2m1_to_f32(f32_to_e2m1(v)) : e4m3_to_f32(f32_to_e4m3(v))) * s;
  }
}

// One warp per 128-vector, lane l holding elements 4l..4l+3: the butterflies of span 1 and 2 stay
// in a lane, spans 4..64 pair lane l with lane l ^ (span/4). The lane holding the lower index
// computes a + b, the other a - b, exactly the reference's two results.
DSV4_GLOBAL void hadamard128_kernel(float* x, int64_t n_vec, int64_t ldx, Round round) {
  const int64_t item = quant_detail::warp_item();
  if (item >= n_vec) return;
  float* y = x + item * ldx;
  const unsigned lane = dsv4cu::lane_id();
  float v[4];
  for (unsigned j = 0; j < 4; ++j) v[j] = y[4 * lane + j];
  for (unsigned h = 1; h < 4; h *= 2) {
    for (unsigned j = 0; j < 4; ++j) {
      if ((j & h) != 0u) continue;
      const float a = v[j];
      const float b = v[j + h];
      v[j] = a + b;
      v[j + h] = a - b;
    }
  }
  for (unsigned m = 1; m < 32; m *= 2) {
    const bool upper = (lane & m) != 0u;
    for (unsigned j = 0; j < 4; ++j) {
      const float other = __shfl_xor_sync(dsv4cu::kFullMask, v[j], static_cast<int>(m));
      v[j] = upper ? other - v[j] : v[j] + other;
    }
  }
  const float norm = 1.0f / sqrtf(static_cast<float>(kHadamardDim));
  for (unsigned j = 0; j < 4; ++j) y[4 * lane + j] = round_to(v[j] * norm, round);
}

inline cudaError_t launch_quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                                        uint8_t* q, float* scale, dsv4cu::Stream stream) {
  const int64_t items = block > 0 ? n_rows * (n_cols / block) : 0;
  if (items <= 0) return cudaSuccess;
  return dsv4cu::launch(quantize_e4m3_kernel, quant_detail::grid_for(items), dim3(32u * kQuantWarpsPerBlock), 0,
                        stream, x, n_rows, n_cols, ldx, block, q, scale);
}

inline cudaError_t launch_simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                                        dsv4cu::Stream stream) {
  const int64_t items = block > 0 ? n_rows * (n_cols / block) : 0;
  if (items <= 0) return cudaSuccess;
  return dsv4cu::launch(simulate_quant_kernel<false>, quant_detail::grid_for(items), dim3(32u * kQuantWarpsPerBlock),
                        0, stream, x, n_rows, n_cols, ldx, block);
}

inline cudaError_t launch_simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                                        dsv4cu::Stream stream) {
  const int64_t items = block > 0 ? n_rows * (n_cols / block) : 0;
  if (items <= 0) return cudaSuccess;
  return dsv4cu::launch(simulate_quant_kernel<true>, quant_detail::grid_for(items), dim3(32u * kQuantWarpsPerBlock),
                        0, stream, x, n_rows, n_cols, ldx, block);
}

inline cudaError_t launch_hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round, dsv4cu::Stream stream) {
  if (n_vec <= 0) return cudaSuccess;
  return dsv4cu::launch(hadamard128_kernel, quant_detail::grid_for(n_vec), dim3(32u * kQuantWarpsPerBlock), 0,
                        stream, x, n_vec, ldx, round);
}

}  // namespace dsv4k::cuda
