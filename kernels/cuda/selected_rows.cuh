// The indexer's selected rows on the GPU: contracts dsv4k::ref::selected_row_offsets and
// selected_candidates (dsv4k/selected_rows.h). Integer arithmetic only, so results are
// identical to the references.
//
// Both are one flat grid-stride loop over the n x k entries (a decode step has a few hundred
// tokens of a few hundred entries each): consecutive threads take consecutive entries of a
// token, so idx is read and offsets / cand written coalesced.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/selected_rows.h"

namespace dsv4k::cuda {

inline constexpr int kSelectedRowsThreads = 256;
// Grid-stride loops past this many blocks (a step's n x k entries fill far fewer).
inline constexpr int64_t kSelectedRowsMaxBlocks = 4096;

namespace selected_rows_detail {

DSV4_GLOBAL void selected_row_offsets_kernel(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base,
                                             int64_t max_pages, const int64_t* count, int64_t rows_per_page,
                                             int64_t first_row, int64_t row_bytes, int64_t* offsets) {
  const int64_t total = n * k;
  for (int64_t e = dsv4cu::first_index(); e < total; e += dsv4cu::grid_stride()) {
    const int64_t t = e / k;
    const int64_t r = idx[e];
    int64_t off = -1;
    if (r >= 0 && r < count[t]) {
      const int64_t p = r / rows_per_page;
      const int64_t base = p < max_pages ? page_base[t * max_pages + p] : -1;
      if (base >= 0) off = base + first_row + (r % rows_per_page) * row_bytes;
    }
    offsets[e] = off;
  }
}

DSV4_GLOBAL void selected_candidates_kernel(const int32_t* idx, int64_t n, int64_t k, int64_t row0,
                                            const int32_t* col, int32_t* cand, int64_t ld) {
  const int64_t total = n * k;
  for (int64_t e = dsv4cu::first_index(); e < total; e += dsv4cu::grid_stride()) {
    const int64_t t = e / k;
    const int64_t j = e % k;
    cand[t * ld + col[t] + j] = idx[e] >= 0 ? static_cast<int32_t>(row0 + e) : -1;
  }
}

}  // namespace selected_rows_detail

// ref::selected_row_offsets; rows_per_page must be positive (kInvalidValue otherwise); n·k == 0
// launches nothing.
inline cudaError_t launch_selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base,
                                               int64_t max_pages, const int64_t* count, const PagedRows& layout,
                                               int64_t* offsets, dsv4cu::Stream stream) {
  if (n < 0 || k < 0 || layout.rows_per_page <= 0) return dsv4cu::kInvalidValue;
  if (n == 0 || k == 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n * k, kSelectedRowsThreads, kSelectedRowsMaxBlocks);
  return dsv4cu::launch(selected_rows_detail::selected_row_offsets_kernel, grid, dim3(kSelectedRowsThreads), 0,
                        stream, idx, n, k, page_base, max_pages, count, layout.rows_per_page, layout.first_row,
                        layout.row_bytes, offsets);
}

// ref::selected_candidates; n·k == 0 launches nothing.
inline cudaError_t launch_selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0,
                                              const int32_t* col, int32_t* cand, int64_t ld, dsv4cu::Stream stream) {
  if (n < 0 || k < 0) return dsv4cu::kInvalidValue;
  if (n == 0 || k == 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n * k, kSelectedRowsThreads, kSelectedRowsMaxBlocks);
  return dsv4cu::launch(selected_rows_detail::selected_candidates_kernel, grid, dim3(kSelectedRowsThreads), 0, stream,
                        idx, n, k, row0, col, cand, ld);
}

}  // namespace dsv4k::cuda
