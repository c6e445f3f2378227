// nvcc instantiation of the cuBLASLt FP8 prepare / finish steps (kernels/cuda/fp8_lt.cuh).
#include "cuda/fp8_lt.h"

#include "cuda/fp8_lt.cuh"

namespace dsv4k::cuda {

int lt_fp8_prepare(const float* xs, int64_t m, int64_t m_pad, int64_t k, const uint8_t* ws, int64_t n, float* xs_t,
                   float* ws_f, uint8_t* xq, void* stream) {
  return static_cast<int>(
      launch_lt_fp8_prepare(xs, m, m_pad, k, ws, n, xs_t, ws_f, xq, static_cast<dsv4cu::Stream>(stream)));
}

int lt_fp8_finish(const float* d, int64_t ldd, int64_t m, int64_t n, float* y, int64_t ldy, Round round, void* stream) {
  return static_cast<int>(launch_lt_fp8_finish(d, ldd, m, n, y, ldy, round, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
