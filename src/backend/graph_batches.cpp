// Decode graph batch sizes (see graph_batches.h).
#include "backend/graph_batches.h"

#include <algorithm>

namespace dsv4 {

std::vector<int32_t> graph_batch_sizes(int32_t max_batch) {
  std::vector<int32_t> sizes;
  for (int32_t s : {1, 2, 4})
    if (s < max_batch) sizes.push_back(s);
  for (int32_t s = 8; s < max_batch; s += 8) sizes.push_back(s);
  if (max_batch >= 1) sizes.push_back(max_batch);
  return sizes;
}

int32_t padded_batch_size(const std::vector<int32_t>& sizes, int32_t n) {
  if (n < 1) return 0;
  auto it = std::lower_bound(sizes.begin(), sizes.end(), n);
  return it == sizes.end() ? 0 : *it;
}

}  // namespace dsv4
