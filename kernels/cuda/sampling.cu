#include "cuda/sampling.h"

#include "cuda/sampling.cuh"

namespace dsv4k::cuda {

static_assert(kSampleMaxCandidates == sampling_detail::kMaxCandidates, "one capacity for callers and kernel");

int sample_rows(const float* logits, int64_t n_rows, int64_t vocab, int64_t ld, const SampleRowParams* params,
                int32_t* tokens, int32_t* status, void* stream) {
  return static_cast<int>(
      launch_sample_rows(logits, n_rows, vocab, ld, params, tokens, status, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
