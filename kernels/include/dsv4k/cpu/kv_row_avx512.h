// Entry points of the AVX-512 KV-row codecs (kernels/cpu/avx512/kv_row.cpp). Each has
// exactly the contract of the scalar reference of the same name in dsv4k/kv_row.h and is
// bit-identical to it for every input (the codecs are exact: no summation, the same scale
// rule, the same fp32 products), with one caveat for invalid bytes only: a NaN code (e4m3
// 0x7F / 0xFF) under the NaN scale byte 255 decodes to a NaN whose sign may differ.
//
// Call only when avx512_kernels_supported() (features.h) is true.
#pragma once

#include <cstdint>

namespace dsv4k::cpu::avx512 {

// rows [n, ld] -> out [n, kv_fp8_row_bytes(dim, rope_dim)]; and back.
void encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out);
void decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld);

// rows [n, ld] -> out [n, kv_fp4_row_bytes(dim)]; and back.
void encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out);
void decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld);

// rows [n, ld] -> out [n, 2 dim] (bf16); and back.
void encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out);
void decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld);

}  // namespace dsv4k::cpu::avx512
