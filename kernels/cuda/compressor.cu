// Out-of-line wrappers of the compressor pooling launchers (declared in compressor.h).
#include "cuda/compressor.h"

#include "cuda/compressor.cuh"

namespace dsv4k::cuda {

int compress_pool(const CompressorShape& s, const float* ape, const float* prev_kv, const float* prev_z,
                  int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur, float* row, void* stream) {
  return static_cast<int>(launch_compress_pool(s, ape, prev_kv, prev_z, ld_prev, cur_kv, cur_z, ld_cur, row,
                                               static_cast<dsv4cu::Stream>(stream)));
}

int compress_pool_rows(const CompressorShape& s, int64_t n_rows, const float* ape, const float* prev_kv,
                       const float* prev_z, int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur,
                       float* rows, int64_t ld_row, void* stream) {
  return static_cast<int>(launch_compress_pool_rows(s, n_rows, ape, prev_kv, prev_z, ld_prev, cur_kv, cur_z, ld_cur,
                                                    rows, ld_row, static_cast<dsv4cu::Stream>(stream)));
}

int compress_pool_jobs(const CompressorShape& s, const float* ape, const CompressJob* jobs, int64_t n_jobs,
                       void* stream) {
  return static_cast<int>(launch_compress_pool_jobs(s, ape, jobs, n_jobs, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
