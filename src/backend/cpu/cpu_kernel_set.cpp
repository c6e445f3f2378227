#include "backend/cpu/cpu_kernel_set.h"

#include "dsv4k/cpu/features.h"
#if defined(DSV4K_HAVE_AVX512_KERNELS)
#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/kv_row_avx512.h"
#endif

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
  k.encode_kv_fp8_rows = &dsv4k::ref::encode_kv_fp8_rows;
  k.decode_kv_fp8_rows = &dsv4k::ref::decode_kv_fp8_rows;
  k.encode_kv_fp4_rows = &dsv4k::ref::encode_kv_fp4_rows;
  k.decode_kv_fp4_rows = &dsv4k::ref::decode_kv_fp4_rows;
  k.encode_kv_bf16_rows = &dsv4k::ref::encode_kv_bf16_rows;
  k.decode_kv_bf16_rows = &dsv4k::ref::decode_kv_bf16_rows;
  return k;
}

// The AVX-512 kernels when this CPU has every extension they were compiled for; the
// references otherwise.
CpuKernelSet fast_kernel_set() {
  CpuKernelSet k = reference_kernel_set();
#if defined(DSV4K_HAVE_AVX512_KERNELS)
  if (dsv4k::cpu::avx512_kernels_supported()) {
    namespace fast = dsv4k::cpu::avx512;
    k.gemm_fp8_q = &fast::gemm_fp8_q;
    k.gemm_fp8_f = &fast::gemm_fp8_f;
    k.gemm_fp4_q = &fast::gemm_fp4_q;
    k.gemm_fp4_f = &fast::gemm_fp4_f;
    k.gemm_bf16 = &fast::gemm_bf16;
    k.gemm_f32 = &fast::gemm_f32;
    k.quantize_e4m3 = &fast::quantize_e4m3;
    k.rmsnorm = &fast::rmsnorm;
    k.sparse_attention = &fast::sparse_attention;
    k.indexer_scores = &fast::indexer_scores;
    k.encode_kv_fp8_rows = &fast::encode_kv_fp8_rows;
    k.decode_kv_fp8_rows = &fast::decode_kv_fp8_rows;
    k.encode_kv_fp4_rows = &fast::encode_kv_fp4_rows;
    k.decode_kv_fp4_rows = &fast::decode_kv_fp4_rows;
    k.encode_kv_bf16_rows = &fast::encode_kv_bf16_rows;
    k.decode_kv_bf16_rows = &fast::decode_kv_bf16_rows;
  }
#endif
  return k;
}

}  // namespace dsv4
