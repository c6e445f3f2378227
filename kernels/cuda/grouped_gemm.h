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

// The two cores of the routed experts' product. Both keep the contract and the per-32 fp32
// promotion of the SIMT tile; they differ in the order of the additions inside each group of
// 32 (the bound is in grouped_gemm_mma.cuh).
enum class ExpertGemmCore : uint8_t {
  kSimt,  // the SIMT tile (grouped_gemm.cuh): any device
  kMma,   // tensor cores, mma.sync e4m3 (grouped_gemm_mma.cuh): compute capability 8.9 and later
};

// The core a device of compute capability cc_major.cc_minor runs by default.
ExpertGemmCore default_expert_gemm_core(int cc_major, int cc_minor);

// The routed experts' product on expert-sorted rows. experts: a device array of n_experts
// weights whose pointers are device pointers; n is their common output width and x.m the
// number of permuted rows. Runs default_expert_gemm_core of the current device (the host
// emulation has no tensor cores: SIMT there).
int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, void* stream);

// The same with the core chosen by the caller (tests compare the two). kMma is refused
// (cudaErrorInvalidValue) on a device below 8.9, when x.k is not a multiple of 128 and when
// x.q is not 16-byte aligned; it needs every expert's data 16-byte aligned as well.
int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, ExpertGemmCore core,
                       void* stream);

}  // namespace dsv4k::cuda
