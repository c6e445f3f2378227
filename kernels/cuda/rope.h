// Host entry point of the CUDA RoPE (kernels/cuda/rope.cuh); plain C++, no CUDA types.
// Pointers are device pointers, `stream` a cudaStream_t (nullptr: the default stream); returns
// the cudaError_t of the launch. Arguments as dsv4k::ref::rope_apply.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

int rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
               const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round,
               void* stream);

}  // namespace dsv4k::cuda
