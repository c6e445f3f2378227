// Host entry points of the CUDA MoE dispatch (moe_dispatch.cuh; the routed experts' grouped
// GEMM is in grouped_gemm.h). Plain C++: pointers are device pointers, `stream` is
// a cudaStream_t, the return value the first failing launch's cudaError_t (0 = success).
// Arguments and results are those of the dsv4k::ref functions of the same name
// (dsv4k/moe_dispatch.h).
#pragma once

#include <cstdint>

#include "dsv4k/moe_dispatch.h"

namespace dsv4k::cuda {

int moe_permute(const int32_t* ids, const float* weights, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                int32_t* offsets, int32_t* token_of, int32_t* position, float* permuted_weights, void* stream);

int moe_combine_permuted(const float* ye, int64_t ldy, const int32_t* position, const float* shared, int64_t n,
                         int64_t k, int64_t d, float* out, Round round, void* stream);

}  // namespace dsv4k::cuda
