// Host entry points of the CUDA quantizers (kernels/cuda/quant.cuh); plain C++, no CUDA types.
// Pointers are device pointers, `stream` a cudaStream_t (nullptr: the default stream); each
// returns the cudaError_t of the launch. Arguments as the dsv4k::ref functions of dsv4k/quant.h.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

int quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, uint8_t* q,
                  float* scale, void* stream);

int simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, void* stream);

int simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, void* stream);

int hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round, void* stream);

}  // namespace dsv4k::cuda
