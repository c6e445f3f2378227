// Logprobs as the OpenAI API reports them: the log-softmax of the RAW model logits, before
// logit bias, penalties, masks, temperature and truncation (vLLM's default,
// logprobs_mode = "raw_logprobs"). So a token's logprob describes the model, not the
// sampling settings, and it is the same whatever the request's temperature or top-p.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dsv4/request.h"
#include "runtime/sampler_kernels.h"

namespace dsv4 {

struct LogprobWorkspace {
  std::vector<ScoredToken> selected;
  std::vector<ScoredToken> select_scratch;
};

// Sets out->logprob to log softmax(raw)[out->token] and out->top to the n_top best tokens
// by raw logit (descending, ties to the lower id) with their logprobs; n_top = 0 leaves top
// empty. The normalizer is summed in double over float exponentials (error about 1e-7).
// A NaN logit is reported as -inf; a row without a finite maximum reports -inf, or 0 for
// +inf logits.
void fill_logprobs(std::span<const float> raw, int32_t n_top, GeneratedToken* out, LogprobWorkspace* ws);

}  // namespace dsv4
