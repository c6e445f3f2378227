// KV compression pooling: the SIMT twin of dsv4k::ref::compress_pool (spec §2.4.5, contract
// in dsv4k/compressor.h), plus two batched forms: consecutive blocks of a prefill, and a job
// list whose blocks lie anywhere (decode, where a previous block is a sequence's carry).
//
// A thread per channel runs the reference's loops in the reference's order and precision (fp32
// biased scores and max, double exp and sums, products kept out of fma contraction): the work
// is ratio·d exps per row, small next to the projections that feed it. Emulated, the result
// is the reference's bit for bit; on a GPU the double exp may differ from the host's in the
// last double bit, which survives the final rounding to fp32 only in rare ties.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/compressor.h"

namespace dsv4k::cuda {

namespace compressor_detail {

inline constexpr int kThreads = 128;

// Channel i of one row, in the reference's order and precision.
DSV4_DEVICE void pool_channel(const CompressorShape& s, const float* ape, const float* pkv, const float* pz,
                              int64_t ldp, const float* ckv, const float* cz, int64_t ld_cur, float* row, int64_t i) {
  const int64_t d = s.dim;
  const int64_t w = s.overlap ? 2 * d : d;  // s.width(), which is host-only
  const bool use_prev = s.overlap && pkv != nullptr;
  const int64_t cur_off = s.overlap ? d : 0;

  float mx = -__int_as_float(0x7F800000);
  if (use_prev)
    for (int64_t j = 0; j < s.ratio; ++j) mx = fmaxf(mx, pz[j * ldp + i] + ape[j * w + i]);
  for (int64_t j = 0; j < s.ratio; ++j) mx = fmaxf(mx, cz[j * ld_cur + cur_off + i] + ape[j * w + cur_off + i]);
  double num = 0.0;
  double den = 0.0;
  if (use_prev) {
    for (int64_t j = 0; j < s.ratio; ++j) {
      const double e = exp(static_cast<double>(pz[j * ldp + i] + ape[j * w + i] - mx));
      den += e;
      num += dsv4cu::mul_rn(e, static_cast<double>(pkv[j * ldp + i]));
    }
  }
  for (int64_t j = 0; j < s.ratio; ++j) {
    const double e = exp(static_cast<double>(cz[j * ld_cur + cur_off + i] + ape[j * w + cur_off + i] - mx));
    den += e;
    num += dsv4cu::mul_rn(e, static_cast<double>(ckv[j * ld_cur + cur_off + i]));
  }
  row[i] = static_cast<float>(num / den);
}

}  // namespace compressor_detail

// grid (ceil(d / kThreads), n_rows), block kThreads. Row b pools block b of cur (rows b·ratio
// .. b·ratio + ratio − 1, ld_cur apart); its previous block is block b − 1 of cur, or prev for
// b = 0.
DSV4_GLOBAL void compress_pool_kernel(CompressorShape s, const float* ape, const float* prev_kv, const float* prev_z,
                                      int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur,
                                      float* rows, int64_t ld_row) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= s.dim) return;
  const int64_t b = blockIdx.y;
  const int64_t block_step = s.ratio * ld_cur;
  const float* ckv = cur_kv + b * block_step;
  const float* cz = cur_z + b * block_step;
  compressor_detail::pool_channel(s, ape, b == 0 ? prev_kv : ckv - block_step, b == 0 ? prev_z : cz - block_step,
                                  b == 0 ? ld_prev : ld_cur, ckv, cz, ld_cur, rows + b * ld_row, i);
}

// grid (ceil(d / kThreads), n_jobs), block kThreads: row j pools jobs[j] (a device array).
DSV4_GLOBAL void compress_pool_jobs_kernel(CompressorShape s, const float* ape, const CompressJob* jobs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= s.dim) return;
  const CompressJob& job = jobs[blockIdx.y];
  compressor_detail::pool_channel(s, ape, job.prev_kv, job.prev_z, job.ld_prev, job.cur_kv, job.cur_z, job.ld_cur,
                                  job.row, i);
}

// n_rows consecutive compressed rows in one launch: cur_kv / cur_z hold n_rows·ratio token rows,
// row b of `rows` (ld_row apart) pools block b, and prev_kv / prev_z (or nullptr) are the block
// before the first. Row by row this is dsv4k::ref::compress_pool.
inline cudaError_t launch_compress_pool_rows(const CompressorShape& s, int64_t n_rows, const float* ape,
                                             const float* prev_kv, const float* prev_z, int64_t ld_prev,
                                             const float* cur_kv, const float* cur_z, int64_t ld_cur, float* rows,
                                             int64_t ld_row, dsv4cu::Stream stream) {
  using namespace compressor_detail;
  if (n_rows < 0 || n_rows > 65535 || s.dim < 0 || s.ratio < 1) return dsv4cu::kInvalidValue;  // grid.y
  if (n_rows == 0 || s.dim == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(s.dim, kThreads)), static_cast<unsigned>(n_rows));
  return dsv4cu::launch(compress_pool_kernel, grid, dim3(kThreads), 0, stream, s, ape, prev_kv, prev_z, ld_prev,
                        cur_kv, cur_z, ld_cur, rows, ld_row);
}

// dsv4k::ref::compress_pool_jobs; `jobs` is a device array whose pointers are device pointers.
inline cudaError_t launch_compress_pool_jobs(const CompressorShape& s, const float* ape, const CompressJob* jobs,
                                             int64_t n_jobs, dsv4cu::Stream stream) {
  using namespace compressor_detail;
  if (n_jobs < 0 || n_jobs > 65535 || s.dim < 0 || s.ratio < 1) return dsv4cu::kInvalidValue;  // grid.y
  if (n_jobs == 0 || s.dim == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(s.dim, kThreads)), static_cast<unsigned>(n_jobs));
  return dsv4cu::launch(compress_pool_jobs_kernel, grid, dim3(kThreads), 0, stream, s, ape, jobs);
}

// Same arguments as dsv4k::ref::compress_pool.
inline cudaError_t launch_compress_pool(const CompressorShape& s, const float* ape, const float* prev_kv,
                                        const float* prev_z, int64_t ld_prev, const float* cur_kv, const float* cur_z,
                                        int64_t ld_cur, float* row, dsv4cu::Stream stream) {
  return launch_compress_pool_rows(s, 1, ape, prev_kv, prev_z, ld_prev, cur_kv, cur_z, ld_cur, row, s.dim, stream);
}

}  // namespace dsv4k::cuda
