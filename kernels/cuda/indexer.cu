// Out-of-line wrappers of the lightning indexer launchers (declared in indexer.h).
#include "cuda/indexer.h"

#include "cuda/indexer.cuh"

namespace dsv4k::cuda {

int indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                   const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round,
                   void* stream) {
  return static_cast<int>(launch_indexer_scores(q, n_q, ldq, n_heads, head_dim, w, keys, n_keys, n_visible, scores,
                                                round, static_cast<dsv4cu::Stream>(stream)));
}

int topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k, int32_t* idx,
              void* stream) {
  return static_cast<int>(
      launch_topk_rows(scores, n_q, n_keys, n_visible, k, idx, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
