// Host entry points of the CUDA lightning indexer (kernels in indexer.cuh). Plain C++ so that the
// CUDA backend's host code needs no CUDA headers: pointers are device pointers, `stream` is a
// cudaStream_t, and the return value is the launch's cudaError_t (0 = success).
#pragma once

#include <cstdint>

#include "dsv4k/indexer.h"

namespace dsv4k::cuda {

// Same arguments as dsv4k::ref::indexer_scores; n_q ≤ 65535.
int indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                   const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round,
                   void* stream);

// Same arguments as dsv4k::ref::topk_rows; min(k, n_keys) must be at most 16384.
int topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k, int32_t* idx,
              void* stream);

}  // namespace dsv4k::cuda
