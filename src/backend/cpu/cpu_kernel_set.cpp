#include "backend/cpu/cpu_kernel_set.h"

namespace dsv4 {

CpuKernelSet reference_kernel_set() {
  CpuKernelSet k{};
  k.gemm_fp8_q = &dsv4k::ref::gemm_fp8_q;
  k.gemm_fp8_f = &dsv4k::ref::gemm_fp8_f;
  k.gemm_fp4_q = &dsv4k::ref::gemm_fp4_q;
  k.gemm_fp4_f = &dsv4k::ref::gemm_fp4_f;
  k.gemm_bf16 = &dsv4k::ref::gemm_bf16;
  k.gemm_f32 = &dsv4k::ref::gemm_f32;
  k.quantize_e4m3 = &dsv4k::ref::quantize_e4m3;
  k.rmsnorm = &dsv4k::ref::rmsnorm;
  k.sparse_attention = &dsv4k::ref::sparse_attention;
  k.indexer_scores = &dsv4k::ref::indexer_scores;
  k.hc_mix = &dsv4k::ref::hc_mix;
  return k;
}

CpuKernelSet fast_kernel_set() {
  CpuKernelSet k = reference_kernel_set();
  return k;
}

}  // namespace dsv4
