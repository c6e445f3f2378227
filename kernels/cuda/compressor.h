// Host entry points of the CUDA compressor pooling (kernel in compressor.cuh). Plain C++ so that
// the CUDA backend's host code needs no CUDA headers: pointers are device pointers, `stream` is a
// cudaStream_t, and the return value is the launch's cudaError_t (0 = success).
#pragma once

#include <cstdint>

#include "dsv4k/compressor.h"

namespace dsv4k::cuda {

// Same arguments as dsv4k::ref::compress_pool.
int compress_pool(const CompressorShape& s, const float* ape, const float* prev_kv, const float* prev_z,
                  int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur, float* row, void* stream);

// n_rows (≤ 65535) consecutive rows at once (prefill): cur_kv / cur_z hold n_rows·ratio token rows, row b
// (ld_row apart) pools block b with block b − 1 (prev_kv / prev_z, or nullptr, for b = 0) as
// its previous block.
int compress_pool_rows(const CompressorShape& s, int64_t n_rows, const float* ape, const float* prev_kv,
                       const float* prev_z, int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur,
                       float* rows, int64_t ld_row, void* stream);

// Same as dsv4k::ref::compress_pool_jobs; `jobs` is a device array of n_jobs (≤ 65535) jobs
// whose pointers are device pointers.
int compress_pool_jobs(const CompressorShape& s, const float* ape, const CompressJob* jobs, int64_t n_jobs,
                       void* stream);

}  // namespace dsv4k::cuda
