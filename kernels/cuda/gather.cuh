// Row gathers and fills on the GPU; contracts dsv4k::ref::gather_rows and fill_f32
// (dsv4k/gather.h). Both move bits only, so results are bit-identical to the references.
//
// The gather copies 4-byte words (the backend's rows are fp32 activations and int32 or
// packed-byte rows padded to 4): one flat, row-major grid-stride loop over the n x words
// outputs, so consecutive threads touch consecutive words of a row (coalesced on both sides)
// and a short row does not leave a block idle. Words move as integers: NaN payloads survive.
//
// copy_spans is the batched memcpy of the forward pass's per-sequence moves (compressor carry
// rows to and from the cache): blockIdx.y walks the spans, blockIdx.x strides over a span's
// words, so one launch replaces a copy call per span.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/gather.h"

namespace dsv4k::cuda {

inline constexpr int kGatherThreads = 256;
// Grid-stride loops past this many blocks: enough to fill an H100 several times over.
inline constexpr int64_t kGatherMaxBlocks = 8192;

namespace gather_detail {

// Pitches and row length in words.
DSV4_GLOBAL void gather_rows_kernel(const uint32_t* src, int64_t src_pitch, const int32_t* idx, int64_t n,
                                    int64_t words, uint32_t* dst, int64_t dst_pitch) {
  const int64_t total = n * words;
  for (int64_t f = dsv4cu::first_index(); f < total; f += dsv4cu::grid_stride()) {
    const int64_t i = f / words;
    const int64_t w = f % words;
    dst[i * dst_pitch + w] = src[static_cast<int64_t>(idx[i]) * src_pitch + w];
  }
}

// Span s (s = blockIdx.y, striding by gridDim.y) word by word, blocks of x striding over it.
DSV4_GLOBAL void copy_spans_kernel(const CopySpan* spans, int64_t n) {
  for (int64_t s = blockIdx.y; s < n; s += gridDim.y) {
    const CopySpan sp = spans[s];
    const int64_t words = sp.bytes / 4;
    const auto* src = static_cast<const uint32_t*>(sp.src);
    auto* dst = static_cast<uint32_t*>(sp.dst);
    for (int64_t w = dsv4cu::first_index(); w < words; w += dsv4cu::grid_stride()) dst[w] = src[w];
  }
}

DSV4_GLOBAL void fill_f32_kernel(float* x, int64_t n, float value) {
  for (int64_t i = dsv4cu::first_index(); i < n; i += dsv4cu::grid_stride()) x[i] = value;
}

inline bool word_aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 4 == 0; }

}  // namespace gather_detail

// ref::gather_rows. row_bytes, both pitches and both pointers must be multiples of 4
// (kInvalidValue otherwise); n == 0 or row_bytes == 0 launches nothing.
inline cudaError_t launch_gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n,
                                      size_t row_bytes, void* dst, size_t dst_pitch, dsv4cu::Stream stream) {
  namespace d = gather_detail;
  if (row_bytes % 4 != 0 || src_pitch % 4 != 0 || dst_pitch % 4 != 0 || n < 0) return dsv4cu::kInvalidValue;
  if (n == 0 || row_bytes == 0) return cudaSuccess;
  if (!d::word_aligned(src) || !d::word_aligned(dst)) return dsv4cu::kInvalidValue;
  const auto words = static_cast<int64_t>(row_bytes / 4);
  const dim3 grid = dsv4cu::grid_for(n * words, kGatherThreads, kGatherMaxBlocks);
  return dsv4cu::launch(d::gather_rows_kernel, grid, dim3(kGatherThreads), 0, stream,
                        static_cast<const uint32_t*>(src), static_cast<int64_t>(src_pitch / 4), idx, n, words,
                        static_cast<uint32_t*>(dst), static_cast<int64_t>(dst_pitch / 4));
}

// ref::copy_spans over a device array of spans whose pointers and sizes are multiples of 4;
// max_bytes (the largest span) sizes the grid's x. n <= 0 or max_bytes <= 0 launches nothing.
inline constexpr int64_t kCopySpanMaxBlocksX = 64;   // per span: 64 x 256 words in flight
inline constexpr int64_t kCopySpanMaxBlocksY = 65535;  // the grid's y limit; more spans stride
// (max_blocks_y: tests make it small to reach the striding over spans.)
inline cudaError_t launch_copy_spans(const CopySpan* spans, int64_t n, int64_t max_bytes, dsv4cu::Stream stream,
                                     int64_t max_blocks_y = kCopySpanMaxBlocksY) {
  if (n <= 0 || max_bytes <= 0) return cudaSuccess;
  if (max_bytes % 4 != 0 || max_blocks_y < 1) return dsv4cu::kInvalidValue;
  const dim3 x = dsv4cu::grid_for(max_bytes / 4, kGatherThreads, kCopySpanMaxBlocksX);
  const dim3 grid(x.x, static_cast<unsigned>(n < max_blocks_y ? n : max_blocks_y));
  return dsv4cu::launch(gather_detail::copy_spans_kernel, grid, dim3(kGatherThreads), 0, stream, spans, n);
}

// ref::fill_f32; n <= 0 launches nothing.
inline cudaError_t launch_fill_f32(float* x, int64_t n, float value, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n, kGatherThreads, kGatherMaxBlocks);
  return dsv4cu::launch(gather_detail::fill_f32_kernel, grid, dim3(kGatherThreads), 0, stream, x, n, value);
}

}  // namespace dsv4k::cuda
