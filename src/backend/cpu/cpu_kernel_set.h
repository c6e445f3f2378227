// The table of kernels the CPU backend calls: the scalar references or the optimized
// versions. Both have the same contracts (kernels/include/dsv4k), so the backend's
// partitioning code is shared and the two differ only in the functions called.
//
// GEMM kernels are called on a contiguous range of weight rows (output features) at a
// time; every output element's arithmetic must not depend on the range, so that results
// are identical for any thread count and any batch.
#pragma once

#include "dsv4k/attention.h"
#include "dsv4k/compressor.h"
#include "dsv4k/elementwise.h"
#include "dsv4k/gemm.h"
#include "dsv4k/hc.h"
#include "dsv4k/indexer.h"
#include "dsv4k/kv_row.h"
#include "dsv4k/moe.h"
#include "dsv4k/norm.h"
#include "dsv4k/quant.h"
#include "dsv4k/rope.h"

namespace dsv4 {

struct CpuKernelSet {
  decltype(&dsv4k::ref::gemm_fp8_q) gemm_fp8_q;
  decltype(&dsv4k::ref::gemm_fp8_f) gemm_fp8_f;
  decltype(&dsv4k::ref::gemm_fp4_q) gemm_fp4_q;
  decltype(&dsv4k::ref::gemm_fp4_f) gemm_fp4_f;
  decltype(&dsv4k::ref::gemm_bf16) gemm_bf16;
  decltype(&dsv4k::ref::gemm_f32) gemm_f32;
  decltype(&dsv4k::ref::quantize_e4m3) quantize_e4m3;
  decltype(&dsv4k::ref::rmsnorm) rmsnorm;
  decltype(&dsv4k::ref::sparse_attention) sparse_attention;
  decltype(&dsv4k::ref::indexer_scores) indexer_scores;
  decltype(&dsv4k::ref::encode_kv_fp8_rows) encode_kv_fp8_rows;
  decltype(&dsv4k::ref::decode_kv_fp8_rows) decode_kv_fp8_rows;
  decltype(&dsv4k::ref::encode_kv_fp4_rows) encode_kv_fp4_rows;
  decltype(&dsv4k::ref::decode_kv_fp4_rows) decode_kv_fp4_rows;
  decltype(&dsv4k::ref::encode_kv_bf16_rows) encode_kv_bf16_rows;
  decltype(&dsv4k::ref::decode_kv_bf16_rows) decode_kv_bf16_rows;
};

// The scalar references.
CpuKernelSet reference_kernel_set();
// The optimized kernels for this CPU (falls back to references per op where none exists).
CpuKernelSet fast_kernel_set();

}  // namespace dsv4
