// nvcc instantiation of the SIMT GEMMs (kernels/cuda/gemm.cuh) behind kernels/cuda/gemm.h.
#include "cuda/gemm.h"

#include "cuda/gemm.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }
}  // namespace

int gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round, void* stream) {
  return static_cast<int>(launch_gemm_fp8_q(x, w, y, ldy, round, as_stream(stream)));
}
int gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy, Round round,
               void* stream) {
  return static_cast<int>(launch_gemm_fp8_f(x, m, ldx, w, y, ldy, round, as_stream(stream)));
}
int gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round, void* stream) {
  return static_cast<int>(launch_gemm_fp4_q(x, w, y, ldy, round, as_stream(stream)));
}
int gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy, Round round,
               void* stream) {
  return static_cast<int>(launch_gemm_fp4_f(x, m, ldx, w, y, ldy, round, as_stream(stream)));
}
int gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy, Round round,
              void* stream) {
  return static_cast<int>(launch_gemm_bf16(x, m, ldx, w, y, ldy, round, as_stream(stream)));
}
int gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy, Round round,
             void* stream) {
  return static_cast<int>(launch_gemm_f32(x, m, ldx, w, y, ldy, round, as_stream(stream)));
}

}  // namespace dsv4k::cuda
