// Host entry points of the CUDA MoE routing kernels (moe_route.cuh). Plain C++: pointers are
// device pointers, `stream` is a cudaStream_t, the return value the launch's cudaError_t.
#pragma once

#include <cstdint>

#include "dsv4k/moe.h"

namespace dsv4k::cuda {

int route_topk(const float* logits, int64_t n, const RouteParams& p, const float* bias, int32_t* ids, float* weights,
               void* stream);
int route_hash(const float* logits, int64_t n, const RouteParams& p, const int64_t* table_rows, int32_t* ids,
               float* weights, void* stream);

}  // namespace dsv4k::cuda
