// Host entry points of the CUDA MoE dispatch (moe_dispatch.cuh) and the routed experts'
// grouped FP4 GEMM (grouped_gemm.cuh). Plain C++: pointers are device pointers, `stream` is
// a cudaStream_t, the return value the first failing launch's cudaError_t (0 = success).
// Arguments and results are those of the dsv4k::ref functions of the same name
// (dsv4k/moe_dispatch.h).
#pragma once

#include <cstdint>

#include "dsv4k/moe_dispatch.h"

namespace dsv4k::cuda {

int moe_permute(const int32_t* ids, const float* weights, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                int32_t* offsets, int32_t* token_of, int32_t* position, float* permuted_weights, void* stream);

// experts: a device array of n_experts weights whose pointers are device pointers; n is
// their common output width and x.m the number of permuted rows.
int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, void* stream);

int moe_combine_permuted(const float* ye, int64_t ldy, const int32_t* position, const float* shared, int64_t n,
                         int64_t k, int64_t d, float* out, Round round, void* stream);

}  // namespace dsv4k::cuda
