// nvcc instantiation of the selected-row kernels (selected_rows.cuh) behind selected_rows.h.
#include "cuda/selected_rows.h"

#include "cuda/selected_rows.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }
}  // namespace

int selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                         const int64_t* count, const PagedRows& layout, int64_t* offsets, void* stream) {
  return static_cast<int>(
      launch_selected_row_offsets(idx, n, k, page_base, max_pages, count, layout, offsets, as_stream(stream)));
}

int selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                        int64_t ld, void* stream) {
  return static_cast<int>(launch_selected_candidates(idx, n, k, row0, col, cand, ld, as_stream(stream)));
}

}  // namespace dsv4k::cuda
