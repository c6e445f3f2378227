// Out-of-line wrappers of the KV row codec launchers (declared in kv_row.h).
#include "cuda/kv_row.h"

#include "cuda/kv_row.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* s) { return static_cast<dsv4cu::Stream>(s); }
}  // namespace

int encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out,
                       void* stream) {
  return static_cast<int>(launch_encode_kv_fp8_rows(rows, n, ld, dim, rope_dim, out, as_stream(stream)));
}
int decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld,
                       void* stream) {
  return static_cast<int>(launch_decode_kv_fp8_rows(in, n, dim, rope_dim, rows, ld, as_stream(stream)));
}
int encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out, void* stream) {
  return static_cast<int>(launch_encode_kv_fp4_rows(rows, n, ld, dim, out, as_stream(stream)));
}
int decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld, void* stream) {
  return static_cast<int>(launch_decode_kv_fp4_rows(in, n, dim, rows, ld, as_stream(stream)));
}
int encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out, void* stream) {
  return static_cast<int>(launch_encode_kv_bf16_rows(rows, n, ld, dim, out, as_stream(stream)));
}
int decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld, void* stream) {
  return static_cast<int>(launch_decode_kv_bf16_rows(in, n, dim, rows, ld, as_stream(stream)));
}


int encode_kv_fp8_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* base,
                          const int64_t* offsets, void* stream) {
  return static_cast<int>(
      launch_encode_kv_fp8_rows_at(rows, n, ld, dim, rope_dim, base, offsets, as_stream(stream)));
}
int decode_kv_fp8_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, int64_t rope_dim,
                          float* rows, int64_t ld, void* stream) {
  return static_cast<int>(
      launch_decode_kv_fp8_rows_at(base, offsets, n, dim, rope_dim, rows, ld, as_stream(stream)));
}
int encode_kv_fp4_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base, const int64_t* offsets,
                          void* stream) {
  return static_cast<int>(launch_encode_kv_fp4_rows_at(rows, n, ld, dim, base, offsets, as_stream(stream)));
}
int decode_kv_fp4_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                          void* stream) {
  return static_cast<int>(launch_decode_kv_fp4_rows_at(base, offsets, n, dim, rows, ld, as_stream(stream)));
}
int encode_kv_bf16_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base,
                           const int64_t* offsets, void* stream) {
  return static_cast<int>(launch_encode_kv_bf16_rows_at(rows, n, ld, dim, base, offsets, as_stream(stream)));
}
int decode_kv_bf16_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                           void* stream) {
  return static_cast<int>(launch_decode_kv_bf16_rows_at(base, offsets, n, dim, rows, ld, as_stream(stream)));
}
int encode_kv_f32_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base, const int64_t* offsets,
                          void* stream) {
  return static_cast<int>(launch_encode_kv_f32_rows_at(rows, n, ld, dim, base, offsets, as_stream(stream)));
}
int decode_kv_f32_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                          void* stream) {
  return static_cast<int>(launch_decode_kv_f32_rows_at(base, offsets, n, dim, rows, ld, as_stream(stream)));
}

}  // namespace dsv4k::cuda
