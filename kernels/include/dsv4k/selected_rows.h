// The indexer's selected rows, followed without the host (spec §2.4.6-7): where each selected
// compressed row lives in a paged pool, and the candidate-list entries that point at the rows
// once they are gathered. With these a ratio-4 attention layer never reads the top-k back to
// the host (AttentionRunner's direct gather), so a decode step needs no device -> host
// synchronization there.
#pragma once

#include <cstdint>

namespace dsv4k {

// Where rows of one kind of one layer sit in a paged pool. A sequence's pages start at byte
// offsets page_base[p] of the pool (page id · page bytes); its row r is row r % rows_per_page
// of page r / rows_per_page, at first_row + (r % rows_per_page) · row_bytes within it. A
// contiguous store is the case of one page per sequence (rows_per_page >= its rows).
struct PagedRows {
  int64_t rows_per_page = 0;  // > 0
  int64_t first_row = 0;      // byte offset of a page's row 0
  int64_t row_bytes = 0;
};

namespace ref {

// offsets [n, k]: for token t < n and j < k, with r = idx[t·k + j] and p = r / rows_per_page,
//   offsets[t·k + j] = page_base[t·max_pages + p] + first_row + (r % rows_per_page) · row_bytes,
// or -1 (no row: a decode_kv_rows_at of a row of zeros) where r < 0 (nothing selected),
// r >= count[t] (not a row of token t's sequence), p >= max_pages or page_base[..] < 0 (a pad).
// idx [n, k]; page_base [n, max_pages]: the pages of token t's sequence, -1 past its last;
// count [n]: the rows of token t's sequence. The tokens of one sequence repeat its pages.
void selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                          const int64_t* count, const PagedRows& layout, int64_t* offsets);

// The candidate-list entries of gathered selections: for t < n and j < k,
//   cand[t·ld + col[t] + j] = idx[t·k + j] >= 0 ? row0 + t·k + j : -1,
// where rows row0 + t·k + j of the key buffer hold token t's selected rows (the gather of
// selected_row_offsets + decode_kv_rows_at). Other entries of cand are left as they are. col [n]
// is where token t's entries start: right after its other candidates, so that the list is
// laid out exactly as one built on the host (attention kernels that reduce in fixed chunks of
// the list give bit-identical results only for identical layouts). row0 + n·k <= 2^31.
void selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                         int64_t ld);

}  // namespace ref
}  // namespace dsv4k
