// Host entry points of the grouped GEMMs (grouped_gemm.cuh). Plain C++: pointers are device
// pointers, `stream` is a cudaStream_t, the return value the launch's cudaError_t (0 =
// success). Contracts: dsv4k::ref::gemm_fp8_f_grouped (dsv4k/gemm.h) and
// dsv4k::ref::gemm_fp4_grouped_q (dsv4k/moe_dispatch.h).
#pragma once

#include <cstdint>

#include "dsv4k/gemm.h"
#include "dsv4k/moe_dispatch.h"

namespace dsv4k::cuda {

// The grouped `wo_a` product; w.n / n_groups must be a multiple of 128.
int gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, int64_t n_groups, float* y,
                       int64_t ldy, Round round, void* stream);

// The routed experts' product on expert-sorted rows. experts: a device array of n_experts
// weights whose pointers are device pointers; n is their common output width and x.m the
// number of permuted rows.
int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, void* stream);

}  // namespace dsv4k::cuda
