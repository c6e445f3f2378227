// Host entry points of the CUDA elementwise ops (kernels/cuda/elementwise.cuh); plain C++, no
// CUDA types. Pointers are device pointers, `stream` a cudaStream_t (nullptr: the default
// stream); each returns the cudaError_t of the launch. Arguments as dsv4k::ref::scale, add,
// moe_combine, swiglu, and Backend::embed.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

int scale(float* x, int64_t n, float factor, Round round, void* stream);

int add(const float* a, const float* b, float* out, int64_t n, Round round, void* stream);

int moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                Round round, void* stream);

int swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
           float* h, int64_t ldh, Round round, void* stream);

// out [n, dim] = rows tokens[t] of the bf16 table [vocab, dim], as fp32.
int embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out, void* stream);

}  // namespace dsv4k::cuda
