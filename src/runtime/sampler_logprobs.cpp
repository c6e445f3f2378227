// fill_logprobs (see sampler_logprobs.h).
#include "runtime/sampler_logprobs.h"

#include <cmath>
#include <limits>

#include "core/check.h"

namespace dsv4 {
namespace {

float logprob_of(float logit, double log_normalizer) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // A row without a finite maximum is no distribution (all masked, or a broken model):
  // report +inf logits as certain and everything else as impossible rather than NaN.
  if (!std::isfinite(log_normalizer)) return logit == kInf ? 0.0f : -kInf;
  if (!(logit == logit)) return -kInf;
  return static_cast<float>(static_cast<double>(logit) - log_normalizer);
}

}  // namespace

void fill_logprobs(std::span<const float> raw, int32_t n_top, GeneratedToken* out, LogprobWorkspace* ws) {
  DSV4_CHECK(out->token >= 0 && static_cast<size_t>(out->token) < raw.size());
  float m = max_logit(raw);
  // log sum_i e^(x_i) = m + log sum_i e^(x_i - m).
  double log_normalizer = std::isfinite(m) ? static_cast<double>(m) + std::log(sum_exp(raw, m))
                                           : static_cast<double>(m);
  out->logprob = logprob_of(raw[static_cast<size_t>(out->token)], log_normalizer);
  out->top.clear();
  if (n_top <= 0) return;
  select_top_k(raw, n_top, &ws->select_scratch, &ws->selected);
  out->top.reserve(ws->selected.size());
  for (const ScoredToken& t : ws->selected) out->top.push_back({t.token, logprob_of(t.logit, log_normalizer)});
}

}  // namespace dsv4
