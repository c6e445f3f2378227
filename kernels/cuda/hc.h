// Host entry points of the CUDA hyper-connection kernels (hc.cuh). Plain C++: pointers are
// device pointers, `stream` is a cudaStream_t, the return value the launch's cudaError_t.
#pragma once

#include <cstdint>

#include "dsv4k/hc.h"

namespace dsv4k::cuda {

int hc_mix(const float* X, int64_t n, const HcParams& p, const float* fn, int64_t n_mix, float* mix, void* stream);
int hc_pre_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                  const float* base, float* y, float* post, float* comb, Round round, void* stream);
int hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n, const HcParams& p,
            float* X_out, Round round, void* stream);
int hc_head_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                   const float* base, float* y, Round round, void* stream);

}  // namespace dsv4k::cuda
