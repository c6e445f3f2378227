// The SIMT GEMMs of kernels/cuda/gemm.cuh behind a plain C++ interface, for the CUDA backend:
// pointers are device pointers, `stream` is a cudaStream_t (nullptr: the legacy default
// stream), and each call returns the cudaError_t of the launch (0 = cudaSuccess). Arguments
// and results are those of the dsv4k::ref functions of the same name (dsv4k/gemm.h).
#pragma once

#include <cstdint>

#include "dsv4k/gemm.h"

namespace dsv4k::cuda {

int gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round, void* stream);
int gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy, Round round,
               void* stream);
int gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round, void* stream);
int gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy, Round round,
               void* stream);
int gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy, Round round,
              void* stream);
int gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy, Round round,
             void* stream);

}  // namespace dsv4k::cuda
