// Host entry points of the CUDA KV row codecs (kernels in kv_row.cuh). Plain C++ so that the
// CUDA backend's host code needs no CUDA headers: pointers are device pointers, `stream` is a
// cudaStream_t, and the return value is the launch's cudaError_t (0 = success).
#pragma once

#include <cstdint>

namespace dsv4k::cuda {

int encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out,
                       void* stream);
int decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld,
                       void* stream);
int encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out, void* stream);
int decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld, void* stream);
int encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out, void* stream);
int decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld, void* stream);

// The same with encoded row r at base + offsets[r] (Backend::encode_kv_rows_at): offsets a
// device array of n byte offsets, multiples of 4, distinct when encoding; decoding gives a
// row of zeros for a negative offset (ref::decode_kv_*_rows_at). The fp32 format is a raw
// copy of dim floats (base 4-byte aligned).
int encode_kv_fp8_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* base,
                          const int64_t* offsets, void* stream);
int decode_kv_fp8_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, int64_t rope_dim,
                          float* rows, int64_t ld, void* stream);
int encode_kv_fp4_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base, const int64_t* offsets,
                          void* stream);
int decode_kv_fp4_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                          void* stream);
int encode_kv_bf16_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base,
                           const int64_t* offsets, void* stream);
int decode_kv_bf16_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                           void* stream);
int encode_kv_f32_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base, const int64_t* offsets,
                          void* stream);
int decode_kv_f32_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                          void* stream);

}  // namespace dsv4k::cuda
