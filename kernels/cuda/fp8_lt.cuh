// The prepare and finish steps around cuBLASLt's block-scaled FP8 GEMM on the GPU; contracts
// and layouts: dsv4k::ref::lt_fp8_prepare / lt_fp8_finish (kernels/include/dsv4k/fp8_lt.h).
// Pure data movement (a transpose, an exact E8M0 -> fp32 conversion, zero fill, a rounding
// copy), so the results are bit-identical to the references.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/fp8_lt.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kFp8LtThreads = 256;
inline constexpr int64_t kFp8LtMaxBlocks = 4096;

// One launch for the three pieces (they are all small; one launch instead of three matters
// for decode steps). The index space is [activation scales | weight scales | pad bytes], each
// piece indexed by its output so that consecutive threads write consecutive addresses.
DSV4_GLOBAL void lt_fp8_prepare_kernel(const float* xs, int64_t m, int64_t m_pad, int64_t k, const uint8_t* ws,
                                       int64_t n, float* xs_t, float* ws_f, uint8_t* xq) {
  const int64_t l = lt_k_blocks(k), l4 = lt_k_blocks4(k);
  const int64_t n_xs = l * m_pad, n_ws = lt_n_blocks(n) * l4, n_pad = (m_pad - m) * k;
  for (int64_t i = dsv4cu::first_index(); i < n_xs + n_ws + n_pad; i += dsv4cu::grid_stride()) {
    if (i < n_xs) {
      const int64_t b = i / m_pad, j = i % m_pad;
      xs_t[i] = j < m ? xs[j * l + b] : 0.0f;
    } else if (i < n_xs + n_ws) {
      const int64_t e = i - n_xs, r = e / l4, b = e % l4;
      ws_f[e] = b < l ? e8m0_to_f32(ws[r * l + b]) : 0.0f;
    } else {
      xq[m * k + (i - n_xs - n_ws)] = 0;
    }
  }
}

// d may be y (in-place rounding): each element is read and written by the same thread.
DSV4_GLOBAL void lt_fp8_finish_kernel(const float* d, int64_t ldd, int64_t m, int64_t n, float* y, int64_t ldy,
                                      Round round) {
  for (int64_t i = dsv4cu::first_index(); i < m * n; i += dsv4cu::grid_stride()) {
    const int64_t r = i / n, c = i % n;
    y[r * ldy + c] = round_to(d[r * ldd + c], round);
  }
}

inline cudaError_t launch_lt_fp8_prepare(const float* xs, int64_t m, int64_t m_pad, int64_t k, const uint8_t* ws,
                                         int64_t n, float* xs_t, float* ws_f, uint8_t* xq, dsv4cu::Stream stream) {
  if (m < 0 || m_pad < m || k % kFp8Block != 0 || n < 0) return dsv4cu::kInvalidValue;
  const int64_t total = lt_k_blocks(k) * m_pad + lt_n_blocks(n) * lt_k_blocks4(k) + (m_pad - m) * k;
  if (total == 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(total, kFp8LtThreads, kFp8LtMaxBlocks);
  return dsv4cu::launch(lt_fp8_prepare_kernel, grid, dim3(kFp8LtThreads), 0, stream, xs, m,
                        m_pad, k, ws, n, xs_t, ws_f, xq);
}

inline cudaError_t launch_lt_fp8_finish(const float* d, int64_t ldd, int64_t m, int64_t n, float* y, int64_t ldy,
                                        Round round, dsv4cu::Stream stream) {
  if (m <= 0 || n <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(m * n, kFp8LtThreads, kFp8LtMaxBlocks);
  return dsv4cu::launch(lt_fp8_finish_kernel, grid, dim3(kFp8LtThreads), 0, stream, d, ldd,
                        m, n, y, ldy, round);
}

}  // namespace dsv4k::cuda
