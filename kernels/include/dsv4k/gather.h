// Moving rows and filling buffers: the data movement of the forward pass that is neither a
// copy of a whole block nor arithmetic (Backend::gather_rows, copy_spans and fill).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsv4k {

// One run of bytes for copy_spans: `bytes` from src to dst.
struct CopySpan {
  void* dst = nullptr;
  const void* src = nullptr;
  int64_t bytes = 0;
};

namespace ref {

// Row i of dst (row_bytes, rows dst_pitch bytes apart) = row idx[i] of src (rows src_pitch
// bytes apart), for i < n. Each idx[i] must be a valid row of src; the regions must not overlap.
void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                 size_t dst_pitch);

// Span i copies spans[i].bytes from spans[i].src to spans[i].dst, for i < n: n memcpy calls
// as one operation. No destination may overlap another span's source or destination.
void copy_spans(const CopySpan* spans, int64_t n);

// x[i] = value for i < n.
void fill_f32(float* x, int64_t n, float value);

}  // namespace ref
}  // namespace dsv4k
