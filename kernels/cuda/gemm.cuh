// SIMT GEMM kernels and launchers y = x · Wᵀ for every weight encoding of the checkpoint;
// contracts: the dsv4k::ref functions of kernels/include/dsv4k/gemm.h. The tile, its
// accumulation structure and the error it implies are described in gemm_tile.cuh.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "cuda/gemm_tile.cuh"
#include "dsv4k/gemm.h"

namespace dsv4k::cuda {

namespace gemm_detail {

// Grid: (ceil(n / kBn), ceil(m / kBm)), block kThreads.
template <class Source>
DSV4_GLOBAL void gemm_tile_kernel(Source src, int64_t m, int64_t n, int64_t k_dim, float* y, int64_t ldy, Round round) {
  gemm_tile(src, static_cast<int64_t>(blockIdx.y) * kBm, m, static_cast<int64_t>(blockIdx.x) * kBn, n, k_dim, y, ldy,
            round);
}

template <class Source>
cudaError_t launch_tiles(const Source& src, int64_t m, int64_t n, int64_t k_dim, float* y, int64_t ldy, Round round,
                         dsv4cu::Stream stream) {
  if (m <= 0 || n <= 0) return cudaSuccess;  // nothing to write (and an empty grid is invalid)
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n, kBn)), static_cast<unsigned>(dsv4cu::ceil_div(m, kBm)));
  return dsv4cu::launch(gemm_tile_kernel<Source>, grid, dim3(kThreads), 0, stream, src, m, n, k_dim, y, ldy, round);
}

}  // namespace gemm_detail

// y = round(x · Wᵀ) with the activation pre-quantized (1x128 e4m3 blocks): ref::gemm_fp8_q.
inline cudaError_t launch_gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round,
                                     dsv4cu::Stream stream) {
  const gemm_detail::Fp8QSource src{x.q, x.scale, x.k, w.data, w.scale, w.k, x.k / kFp8Block,
                                    dsv4cu::ceil_div(w.k, kFp8Block)};
  return gemm_detail::launch_tiles(src, x.m, w.n, w.k, y, ldy, round, stream);
}

// Unquantized fp32 x (rows ldx apart) against FP8 weights: ref::gemm_fp8_f. Any k.
inline cudaError_t launch_gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy,
                                     Round round, dsv4cu::Stream stream) {
  const gemm_detail::Fp8FSource src{x, ldx, w.data, w.scale, w.k, dsv4cu::ceil_div(w.k, kFp8Block)};
  return gemm_detail::launch_tiles(src, m, w.n, w.k, y, ldy, round, stream);
}

// Pre-quantized x against e2m1 weights (per-32 scales): ref::gemm_fp4_q. k a multiple of 128.
inline cudaError_t launch_gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round,
                                     dsv4cu::Stream stream) {
  const gemm_detail::Fp4QSource src{x.q, x.scale, x.k, w.data, w.scale, w.k, x.k / kFp8Block};
  return gemm_detail::launch_tiles(src, x.m, w.n, w.k, y, ldy, round, stream);
}

// Unquantized fp32 x against e2m1 weights: ref::gemm_fp4_f. k a multiple of 32.
inline cudaError_t launch_gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy,
                                     Round round, dsv4cu::Stream stream) {
  const gemm_detail::Fp4FSource src{x, ldx, w.data, w.scale, w.k};
  return gemm_detail::launch_tiles(src, m, w.n, w.k, y, ldy, round, stream);
}

// fp32 math on bf16 weights: ref::gemm_bf16. Any k.
inline cudaError_t launch_gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy,
                                    Round round, dsv4cu::Stream stream) {
  const gemm_detail::Bf16Source src{x, ldx, w.data, w.k};
  return gemm_detail::launch_tiles(src, m, w.n, w.k, y, ldy, round, stream);
}

// True fp32 GEMM (no TF32): ref::gemm_f32. Any k.
inline cudaError_t launch_gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy,
                                   Round round, dsv4cu::Stream stream) {
  const gemm_detail::F32Source src{x, ldx, w.data, w.k};
  return gemm_detail::launch_tiles(src, m, w.n, w.k, y, ldy, round, stream);
}

}  // namespace dsv4k::cuda
