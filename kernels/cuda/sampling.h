// Host entry point of the CUDA sampler (kernel in sampling.cuh, contract in dsv4k/sampling.h).
// Plain C++: pointers are device pointers, `stream` a cudaStream_t; returns the launch's
// cudaError_t (0 = success).
#pragma once

#include <cstdint>

#include "dsv4k/sampling.h"

namespace dsv4k::cuda {

// Most tokens a row's support may hold on the device (top-k's k, the top-p gather, min-p's
// set); larger supports come back as kSampleNeedsHost.
inline constexpr int64_t kSampleMaxCandidates = 4096;

// logits [n_rows, vocab] rows ld apart; params, tokens, status [n_rows].
int sample_rows(const float* logits, int64_t n_rows, int64_t vocab, int64_t ld, const SampleRowParams* params,
                int32_t* tokens, int32_t* status, void* stream);

}  // namespace dsv4k::cuda
