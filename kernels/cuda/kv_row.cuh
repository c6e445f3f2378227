// SIMT codecs of the compact KV rows (layouts and rules in dsv4k/kv_row.h; the scalar twins are
// kernels/ref/kv_row_ref.cpp). Every output byte and float is bit-identical with the reference:
// the block amax is a max (order-free once NaN is dropped), the scale comes from the shared
// pow2_scale_exponent, and each code is the same clamp + encode of the same exact product.
//
// One CUDA block per row; the quantized scale blocks of a row go to its warps round-robin.
// The launchers pass the row geometry (row bytes, field offsets) computed on the host: the
// constexpr helpers of dsv4k/kv_row.h are host functions to nvcc.
//
// Encoded rows are either contiguous (row r at r * row_bytes) or scattered in a pool, the
// paged cache (row r at base + offsets[r], Backend::encode_kv_rows_at): every kernel takes an
// `offsets` pointer that is null for the first case, so both are one kernel body and one
// instantiation. The offsets are read once per block, before any byte of the row moves; a
// negative offset (decoding only) selects no row and gives a row of zeros.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/kv_row.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kKvRowThreads = 128;

namespace kv_row_detail {

// The reference's clamped block exponent. Each lane starts from 0 so that NaN never wins
// fmaxf (a lane holding only NaN contributes 0, as the sequential fmax chain does).
DSV4_DEVICE int block_exponent(float lane_amax, float amax_floor, float inv_max) {
  const float a = dsv4cu::warp_max(lane_amax);
  const int e = pow2_scale_exponent(a, amax_floor, inv_max);
  return e < 126 ? e : 126;
}

DSV4_DEVICE void put_bf16(float v, uint8_t* p) {
  const uint16_t b = f32_to_bf16(v);
  p[0] = static_cast<uint8_t>(b & 0xFFu);
  p[1] = static_cast<uint8_t>(b >> 8);
}

DSV4_DEVICE float get_bf16(const uint8_t* p) {
  return bf16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

// Byte offset of this block's encoded row from the base pointer.
DSV4_DEVICE int64_t row_offset(const int64_t* offsets, int64_t row_bytes) {
  const auto r = static_cast<int64_t>(blockIdx.x);
  return offsets != nullptr ? offsets[r] : r * row_bytes;
}

// A decoded row whose offset is negative selects no row: dim zeros (dsv4k/kv_row.h). The
// offset is the same for the whole block, so every thread takes the same branch.
DSV4_DEVICE bool zero_unselected_row(int64_t offset, float* y, int64_t dim) {
  if (offset >= 0) return false;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) y[i] = 0.0f;
  return true;
}

// Zeroes the row's tail [used, row_bytes) so that rows compare (and hash) byte for byte.
DSV4_DEVICE void zero_pad(uint8_t* o, int64_t used, int64_t row_bytes) {
  for (int64_t k = used + static_cast<int64_t>(threadIdx.x); k < row_bytes; k += blockDim.x) o[k] = 0;
}

}  // namespace kv_row_detail

// ---- FP8 attention rows --------------------------------------------------------------------

// Each lane owns dims lane and lane + 32 of a 64-dim scale block.
// scale_offset = dim + rope_dim (kv_fp8_scale_offset), row_bytes = kv_fp8_row_bytes.
DSV4_GLOBAL void kv_fp8_encode_kernel(const float* rows, int64_t ld, int64_t dim, int64_t rope_dim,
                                      int64_t scale_offset, int64_t row_bytes, uint8_t* base, const int64_t* offsets) {
  namespace d = kv_row_detail;
  const int64_t nope = dim - rope_dim;
  const float* x = rows + static_cast<int64_t>(blockIdx.x) * ld;
  uint8_t* o = base + d::row_offset(offsets, row_bytes);
  uint8_t* scales = o + scale_offset;
  const int64_t lane = dsv4cu::lane_id();
  const int64_t warps = blockDim.x / 32;
  for (int64_t b = threadIdx.x / 32; b < nope / kKvFp8Block; b += warps) {
    const float v0 = x[b * kKvFp8Block + lane];
    const float v1 = x[b * kKvFp8Block + 32 + lane];
    const float lane_amax = fmaxf(fmaxf(0.0f, fabsf(v0)), fabsf(v1));
    const int e = d::block_exponent(lane_amax, kE4M3AmaxFloor, kE4M3InvMax);
    const float inv_s = exp2i(-e);  // e >= -22: 2^-e is a normal fp32, the product exact
    // fmaxf first, as the reference: NaN * inv_s becomes -448 (code 0xFE), not the NaN code.
    o[b * kKvFp8Block + lane] = f32_to_e4m3(fminf(fmaxf(v0 * inv_s, -kE4M3Max), kE4M3Max));
    o[b * kKvFp8Block + 32 + lane] = f32_to_e4m3(fminf(fmaxf(v1 * inv_s, -kE4M3Max), kE4M3Max));
    if (lane == 0) scales[b] = static_cast<uint8_t>(e + 127);
  }
  for (int64_t j = threadIdx.x; j < rope_dim; j += blockDim.x) d::put_bf16(x[nope + j], o + nope + 2 * j);
  d::zero_pad(o, scale_offset + nope / kKvFp8Block, row_bytes);
}

DSV4_GLOBAL void kv_fp8_decode_kernel(const uint8_t* base, const int64_t* offsets, int64_t dim, int64_t rope_dim,
                                      int64_t scale_offset, int64_t row_bytes, float* rows, int64_t ld) {
  const int64_t nope = dim - rope_dim;
  const int64_t off = kv_row_detail::row_offset(offsets, row_bytes);
  float* y = rows + static_cast<int64_t>(blockIdx.x) * ld;
  if (kv_row_detail::zero_unselected_row(off, y, dim)) return;
  const uint8_t* p = base + off;
  const uint8_t* scales = p + scale_offset;
  for (int64_t i = threadIdx.x; i < nope; i += blockDim.x)
    y[i] = e4m3_to_f32(p[i]) * e8m0_to_f32(scales[i / kKvFp8Block]);
  for (int64_t j = threadIdx.x; j < rope_dim; j += blockDim.x) y[nope + j] = kv_row_detail::get_bf16(p + nope + 2 * j);
}

// ---- FP4 indexer rows ----------------------------------------------------------------------

// One warp per 32-dim scale block, one dim per lane; even lanes pack their odd neighbour's code
// into the high nibble.
// The scales start at dim / 2 (kv_fp4_scale_offset); row_bytes = kv_fp4_row_bytes.
DSV4_GLOBAL void kv_fp4_encode_kernel(const float* rows, int64_t ld, int64_t dim, int64_t row_bytes, uint8_t* base,
                                      const int64_t* offsets) {
  const float* x = rows + static_cast<int64_t>(blockIdx.x) * ld;
  uint8_t* o = base + kv_row_detail::row_offset(offsets, row_bytes);
  uint8_t* scales = o + dim / 2;
  const int64_t lane = dsv4cu::lane_id();
  const int64_t warps = blockDim.x / 32;
  for (int64_t b = threadIdx.x / 32; b < dim / kKvFp4Block; b += warps) {
    const float v = x[b * kKvFp4Block + lane];
    const int e = kv_row_detail::block_exponent(fmaxf(0.0f, fabsf(v)), kE2M1AmaxFloor, kE2M1InvMax);
    const float inv_s = exp2i(-e);  // e >= -126: 2^-e <= 2^126 is a normal fp32
    const unsigned code = f32_to_e2m1(fminf(fmaxf(v * inv_s, -kE2M1Max), kE2M1Max));
    const unsigned high = __shfl_down_sync(dsv4cu::kFullMask, code, 1);
    if (lane % 2 == 0) o[(b * kKvFp4Block + lane) / 2] = static_cast<uint8_t>(code | (high << 4));
    if (lane == 0) scales[b] = static_cast<uint8_t>(e + 127);
  }
  kv_row_detail::zero_pad(o, dim / 2 + dim / kKvFp4Block, row_bytes);
}

DSV4_GLOBAL void kv_fp4_decode_kernel(const uint8_t* base, const int64_t* offsets, int64_t dim, int64_t row_bytes,
                                      float* rows, int64_t ld) {
  const int64_t off = kv_row_detail::row_offset(offsets, row_bytes);
  float* y = rows + static_cast<int64_t>(blockIdx.x) * ld;
  if (kv_row_detail::zero_unselected_row(off, y, dim)) return;
  const uint8_t* p = base + off;
  const uint8_t* scales = p + dim / 2;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    const uint8_t code = static_cast<uint8_t>((p[i / 2] >> (4 * (i % 2))) & 0xFu);
    y[i] = e2m1_to_f32(code) * e8m0_to_f32(scales[i / kKvFp4Block]);
  }
}

// ---- bf16 rows -----------------------------------------------------------------------------

DSV4_GLOBAL void kv_bf16_encode_kernel(const float* rows, int64_t ld, int64_t dim, uint8_t* base,
                                       const int64_t* offsets) {
  const float* x = rows + static_cast<int64_t>(blockIdx.x) * ld;
  uint8_t* o = base + kv_row_detail::row_offset(offsets, 2 * dim);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) kv_row_detail::put_bf16(x[i], o + 2 * i);
}

DSV4_GLOBAL void kv_bf16_decode_kernel(const uint8_t* base, const int64_t* offsets, int64_t dim, float* rows,
                                       int64_t ld) {
  const int64_t off = kv_row_detail::row_offset(offsets, 2 * dim);
  float* y = rows + static_cast<int64_t>(blockIdx.x) * ld;
  if (kv_row_detail::zero_unselected_row(off, y, dim)) return;
  const uint8_t* p = base + off;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) y[i] = kv_row_detail::get_bf16(p + 2 * i);
}

// ---- fp32 rows: a raw copy -------------------------------------------------------------------
// Contiguous fp32 rows are a 2-D copy (the backend uses its runtime's); these kernels serve the
// scattered case. The offsets are multiples of 4 (Backend::encode_kv_rows_at), so every row is
// float-aligned; values move as words, NaN payloads included.

DSV4_GLOBAL void kv_f32_encode_kernel(const float* rows, int64_t ld, int64_t dim, uint8_t* base,
                                      const int64_t* offsets) {
  const auto* x = reinterpret_cast<const uint32_t*>(rows + static_cast<int64_t>(blockIdx.x) * ld);
  auto* o = reinterpret_cast<uint32_t*>(base + kv_row_detail::row_offset(offsets, 4 * dim));
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = x[i];
}

DSV4_GLOBAL void kv_f32_decode_kernel(const uint8_t* base, const int64_t* offsets, int64_t dim, float* rows,
                                      int64_t ld) {
  const int64_t off = kv_row_detail::row_offset(offsets, 4 * dim);
  float* row = rows + static_cast<int64_t>(blockIdx.x) * ld;
  if (kv_row_detail::zero_unselected_row(off, row, dim)) return;
  const auto* p = reinterpret_cast<const uint32_t*>(base + off);
  auto* y = reinterpret_cast<uint32_t*>(row);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) y[i] = p[i];
}

// ---- launchers: the ref signatures plus a stream; n == 0 launches nothing ------------------
// Rows go to grid.x (up to 2^31 - 1 rows per call). The *_at launchers take the encoded rows
// at base + offsets[r] (device offsets, multiples of 4; distinct when encoding) or, with
// offsets null, contiguous from base; the plain launchers are the contiguous case. Decoding
// gives dim zeros for a negative offset (ref::decode_kv_*_rows_at).

inline cudaError_t launch_encode_kv_fp8_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim,
                                                int64_t rope_dim, uint8_t* base, const int64_t* offsets,
                                                dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_fp8_encode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, rows,
                        ld, dim, rope_dim, kv_fp8_scale_offset(dim, rope_dim), kv_fp8_row_bytes(dim, rope_dim), base,
                        offsets);
}

inline cudaError_t launch_decode_kv_fp8_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                                                int64_t rope_dim, float* rows, int64_t ld, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_fp8_decode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, base,
                        offsets, dim, rope_dim, kv_fp8_scale_offset(dim, rope_dim), kv_fp8_row_bytes(dim, rope_dim),
                        rows, ld);
}

inline cudaError_t launch_encode_kv_fp4_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base,
                                                const int64_t* offsets, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_fp4_encode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, rows,
                        ld, dim, kv_fp4_row_bytes(dim), base, offsets);
}

inline cudaError_t launch_decode_kv_fp4_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                                                float* rows, int64_t ld, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_fp4_decode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, base,
                        offsets, dim, kv_fp4_row_bytes(dim), rows, ld);
}

inline cudaError_t launch_encode_kv_bf16_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base,
                                                 const int64_t* offsets, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_bf16_encode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, rows,
                        ld, dim, base, offsets);
}

inline cudaError_t launch_decode_kv_bf16_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                                                 float* rows, int64_t ld, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  return dsv4cu::launch(kv_bf16_decode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, base,
                        offsets, dim, rows, ld);
}

// fp32 rows need base 4-byte aligned (kInvalidValue otherwise).
inline cudaError_t launch_encode_kv_f32_rows_at(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* base,
                                                const int64_t* offsets, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  if (reinterpret_cast<uintptr_t>(base) % 4 != 0) return dsv4cu::kInvalidValue;
  return dsv4cu::launch(kv_f32_encode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, rows,
                        ld, dim, base, offsets);
}

inline cudaError_t launch_decode_kv_f32_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                                                float* rows, int64_t ld, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  if (reinterpret_cast<uintptr_t>(base) % 4 != 0) return dsv4cu::kInvalidValue;
  return dsv4cu::launch(kv_f32_decode_kernel, dim3(static_cast<unsigned>(n)), dim3(kKvRowThreads), 0, stream, base,
                        offsets, dim, rows, ld);
}

inline cudaError_t launch_encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                                             uint8_t* out, dsv4cu::Stream stream) {
  return launch_encode_kv_fp8_rows_at(rows, n, ld, dim, rope_dim, out, nullptr, stream);
}

inline cudaError_t launch_decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows,
                                             int64_t ld, dsv4cu::Stream stream) {
  return launch_decode_kv_fp8_rows_at(in, nullptr, n, dim, rope_dim, rows, ld, stream);
}

inline cudaError_t launch_encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out,
                                             dsv4cu::Stream stream) {
  return launch_encode_kv_fp4_rows_at(rows, n, ld, dim, out, nullptr, stream);
}

inline cudaError_t launch_decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld,
                                             dsv4cu::Stream stream) {
  return launch_decode_kv_fp4_rows_at(in, nullptr, n, dim, rows, ld, stream);
}

inline cudaError_t launch_encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out,
                                              dsv4cu::Stream stream) {
  return launch_encode_kv_bf16_rows_at(rows, n, ld, dim, out, nullptr, stream);
}

inline cudaError_t launch_decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld,
                                              dsv4cu::Stream stream) {
  return launch_decode_kv_bf16_rows_at(in, nullptr, n, dim, rows, ld, stream);
}

}  // namespace dsv4k::cuda
