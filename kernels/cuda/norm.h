// Host entry points of the CUDA RMS norms (kernels/cuda/norm.cuh); plain C++, no CUDA types.
// Pointers are device pointers, `stream` a cudaStream_t (nullptr: the default stream); each
// returns the cudaError_t of the launch. Arguments as dsv4k::ref::rmsnorm / head_rmsnorm.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

int rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
            int64_t ldy, Round round, void* stream);

int head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps, Round round,
                 void* stream);

}  // namespace dsv4k::cuda
