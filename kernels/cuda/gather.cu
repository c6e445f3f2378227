// nvcc instantiation of the row gather and fill (gather.cuh) behind gather.h.
#include "cuda/gather.h"

#include "cuda/gather.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }
}  // namespace

int gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                size_t dst_pitch, void* stream) {
  return static_cast<int>(launch_gather_rows(src, src_pitch, idx, n, row_bytes, dst, dst_pitch, as_stream(stream)));
}

int copy_spans(const CopySpan* spans, int64_t n, int64_t max_bytes, void* stream) {
  return static_cast<int>(launch_copy_spans(spans, n, max_bytes, as_stream(stream)));
}

int fill_f32(float* x, int64_t n, float value, void* stream) {
  return static_cast<int>(launch_fill_f32(x, n, value, as_stream(stream)));
}

}  // namespace dsv4k::cuda
