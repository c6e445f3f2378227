#include "dsv4k/selected_rows.h"

namespace dsv4k::ref {

void selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                          const int64_t* count, const PagedRows& layout, int64_t* offsets) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t j = 0; j < k; ++j) {
      const int64_t r = idx[t * k + j];
      int64_t off = -1;
      if (r >= 0 && r < count[t]) {
        const int64_t p = r / layout.rows_per_page;
        const int64_t base = p < max_pages ? page_base[t * max_pages + p] : -1;
        if (base >= 0) off = base + layout.first_row + (r % layout.rows_per_page) * layout.row_bytes;
      }
      offsets[t * k + j] = off;
    }
  }
}

void selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                         int64_t ld) {
  for (int64_t t = 0; t < n; ++t) {
    int32_t* c = cand + t * ld + col[t];
    for (int64_t j = 0; j < k; ++j) c[j] = idx[t * k + j] >= 0 ? static_cast<int32_t>(row0 + t * k + j) : -1;
  }
}

}  // namespace dsv4k::ref
