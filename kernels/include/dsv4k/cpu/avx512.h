// Entry points of the AVX-512 CPU kernels. Each has exactly the contract of the scalar
// reference of the same name (dsv4k::ref, kernels/include/dsv4k/*.h) except for the
// order of floating-point summation, and each is batch invariant: the arithmetic for one
// output element (its lane structure and accumulation order) depends only on that
// element's inputs, never on m, on the n range of the call, or on the other rows.
//
// Call only when avx512_kernels_supported() (features.h) is true.
#pragma once

#include <cstdint>

#include "dsv4k/attention.h"
#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cpu::avx512 {

// ---- GEMMs (gemm.h). FP8 weight ranges start on a 128-row block boundary, as in ref.
void gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round);
void gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy,
                Round round);
void gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round);
void gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy,
                Round round);
void gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy,
               Round round);
void gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy,
              Round round);

// ---- quant.h
void quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                   uint8_t* q /*[n_rows, n_cols]*/, float* scale /*[n_rows, n_cols/block]*/);

// ---- norm.h
void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps,
             float* y, int64_t ldy, Round round);

// ---- attention.h
void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv,
                      int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out,
                      int64_t ldo, Round round);

// ---- indexer.h
void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                    const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores /*[n_q, n_keys]*/,
                    Round round);

}  // namespace dsv4k::cpu::avx512
