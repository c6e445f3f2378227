// Host entry point of the CUDA sparse attention (kernel in attention.cuh). Plain C++ so that the
// CUDA backend's host code needs no CUDA headers: pointers are device pointers, `stream` is a
// cudaStream_t, and the return value is the launch's cudaError_t (0 = success).
#pragma once

#include <cstdint>

#include "dsv4k/attention.h"

namespace dsv4k::cuda {

// Same arguments as dsv4k::ref::sparse_attention; n_q ≤ 65535.
int sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv, int64_t ldkv,
                     const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo, Round round,
                     void* stream);

}  // namespace dsv4k::cuda
