#include "dsv4k/gather.h"

#include <cstring>

namespace dsv4k::ref {

void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                 size_t dst_pitch) {
  if (row_bytes == 0) return;
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(static_cast<unsigned char*>(dst) + static_cast<size_t>(i) * dst_pitch,
                static_cast<const unsigned char*>(src) + static_cast<size_t>(idx[i]) * src_pitch, row_bytes);
}

void copy_spans(const CopySpan* spans, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (spans[i].bytes > 0) std::memcpy(spans[i].dst, spans[i].src, static_cast<size_t>(spans[i].bytes));
}

void fill_f32(float* x, int64_t n, float value) {
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

}  // namespace dsv4k::ref
