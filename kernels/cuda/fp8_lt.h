// Host entry points of the steps around cuBLASLt's block-scaled FP8 GEMM (kernels/cuda/fp8_lt.cuh);
// plain C++, no CUDA types. Pointers are device pointers, `stream` a cudaStream_t (nullptr: the
// default stream); each returns the cudaError_t of the launch. Arguments and layouts as
// dsv4k::ref::lt_fp8_prepare / lt_fp8_finish (dsv4k/fp8_lt.h).
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

// xs [m, k/128] -> xs_t [k/128, m_pad]; ws E8M0 [ceil(n/128), ceil(k/128)] -> ws_f fp32
// [ceil(n/128), round_up4(ceil(k/128))]; rows m .. m_pad-1 of xq [m_pad, k] zeroed.
int lt_fp8_prepare(const float* xs, int64_t m, int64_t m_pad, int64_t k, const uint8_t* ws, int64_t n, float* xs_t,
                   float* ws_f, uint8_t* xq, void* stream);

// y [m, ldy] = round(d [m, ldd]) over the first n columns; d may be y.
int lt_fp8_finish(const float* d, int64_t ldd, int64_t m, int64_t n, float* y, int64_t ldy, Round round, void* stream);

}  // namespace dsv4k::cuda
