// Out-of-line wrappers of the sparse attention launchers (declared in attention.h).
#include "cuda/attention.h"

#include "cuda/attention.cuh"
#include "cuda/attention_split.cuh"

namespace dsv4k::cuda {

int sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv, int64_t ldkv,
                     const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo, Round round,
                     void* stream) {
  return static_cast<int>(launch_sparse_attention(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round,
                                                  static_cast<dsv4cu::Stream>(stream)));
}

size_t sparse_attention_scratch_bytes(int64_t n_q, const AttentionShape& s, int64_t n_cand) {
  return launch_sparse_attention_scratch_bytes(n_q, s, n_cand);
}

int sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv, int64_t ldkv,
                     const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo, Round round,
                     void* scratch, size_t scratch_bytes, void* stream) {
  return static_cast<int>(launch_sparse_attention(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round,
                                                  scratch, scratch_bytes, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
