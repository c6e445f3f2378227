// Host entry point of the CUDA sparse attention (kernels in attention.cuh and
// attention_split.cuh). Plain C++ so that the CUDA backend's host code needs no CUDA headers:
// pointers are device pointers, `stream` is a cudaStream_t, and the return value is the
// launch's cudaError_t (0 = success).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsv4k/attention.h"

namespace dsv4k::cuda {

// Same arguments as dsv4k::ref::sparse_attention; n_q ≤ 65535. One block per (query, head
// group): needs no scratch, but fills the GPU poorly at decode over long candidate lists.
int sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv, int64_t ldkv,
                     const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo, Round round,
                     void* stream);

// Device scratch the overload below needs for this batch: 0 where it takes the single-block
// path, else at most ~64 MiB (plus one query's share where a single query needs more).
size_t sparse_attention_scratch_bytes(int64_t n_q, const AttentionShape& s, int64_t n_cand);

// As above, and free to split the candidates over blocks (attention_split.cuh says when);
// the results are the same bits either way. scratch: device memory of scratch_bytes ≥
// sparse_attention_scratch_bytes(n_q, s, n_cand), 4-byte aligned (may be null where that is 0).
int sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv, int64_t ldkv,
                     const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo, Round round,
                     void* scratch, size_t scratch_bytes, void* stream);

}  // namespace dsv4k::cuda
