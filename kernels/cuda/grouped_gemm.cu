// nvcc instantiation of the grouped GEMMs (kernels/cuda/grouped_gemm.cuh) behind grouped_gemm.h.
#include "cuda/grouped_gemm.h"

#include "cuda/grouped_gemm.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }
}  // namespace

int gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, int64_t n_groups, float* y,
                       int64_t ldy, Round round, void* stream) {
  return static_cast<int>(launch_gemm_fp8_f_grouped(x, m, ldx, w, n_groups, y, ldy, round, as_stream(stream)));
}

int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, void* stream) {
  return static_cast<int>(
      launch_gemm_fp4_grouped_q(x, x_rows, offsets, experts, n_experts, n, y, ldy, round, as_stream(stream)));
}

}  // namespace dsv4k::cuda
