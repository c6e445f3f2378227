// Host entry points of the CUDA selected-row kernels (kernels/cuda/selected_rows.cuh); plain
// C++, no CUDA types. Pointers are device pointers, `stream` a cudaStream_t; each returns the
// cudaError_t of the launch. Arguments as dsv4k::ref::selected_row_offsets and
// selected_candidates (dsv4k/selected_rows.h).
#pragma once

#include <cstdint>

#include "dsv4k/selected_rows.h"

namespace dsv4k::cuda {

int selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                         const int64_t* count, const PagedRows& layout, int64_t* offsets, void* stream);

int selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                        int64_t ld, void* stream);

}  // namespace dsv4k::cuda
