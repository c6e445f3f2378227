// Host entry points of the CUDA row gather, span copies and fill (kernels/cuda/gather.cuh);
// plain C++, no CUDA types. Pointers are device pointers, `stream` a cudaStream_t (nullptr: the
// default stream); each returns the cudaError_t of the launch. Arguments as
// dsv4k::ref::gather_rows, copy_spans and fill_f32 (dsv4k/gather.h); the gather needs
// row_bytes, pitches and pointers aligned to 4.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsv4k/gather.h"

namespace dsv4k::cuda {

int gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                size_t dst_pitch, void* stream);

// spans: a device array of n spans, each with pointers and bytes multiples of 4 (the caller
// checks: the kernel does not read the spans on the host); max_bytes: the largest span's
// bytes (it sizes the launch).
int copy_spans(const CopySpan* spans, int64_t n, int64_t max_bytes, void* stream);

int fill_f32(float* x, int64_t n, float value, void* stream);

}  // namespace dsv4k::cuda
