// validate_sampling_params (see sampler_params.h). Checks run in field order, and every
// floating-point check is written so that NaN fails it.
#include "runtime/sampler_params.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/log.h"

namespace dsv4 {
namespace {

std::string vocab_range(int64_t vocab) { return format("[0, %lld)", static_cast<long long>(vocab)); }

bool in_vocab(int32_t token, int64_t vocab) { return token >= 0 && token < vocab; }

Status validate_scalars(const SamplingParams& p) {
  if (!(std::isfinite(p.temperature) && p.temperature >= 0.0))
    return invalid_argument(format("temperature must be a finite number >= 0, got %g", p.temperature));
  if (!(p.top_p > 0.0 && p.top_p <= 1.0))
    return invalid_argument(format("top_p must be in (0, 1], got %g", p.top_p));
  if (!(p.min_p >= 0.0 && p.min_p <= 1.0))
    return invalid_argument(format("min_p must be in [0, 1], got %g", p.min_p));
  if (!(std::fabs(p.presence_penalty) <= kMaxAbsOpenAIPenalty))
    return invalid_argument(format("presence_penalty must be in [-2, 2], got %g", p.presence_penalty));
  if (!(std::fabs(p.frequency_penalty) <= kMaxAbsOpenAIPenalty))
    return invalid_argument(format("frequency_penalty must be in [-2, 2], got %g", p.frequency_penalty));
  if (!(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0))
    return invalid_argument(
        format("repetition_penalty must be a finite number > 0 (1 = off), got %g", p.repetition_penalty));
  if (p.logprobs < -1 || p.logprobs > kMaxLogprobs)
    return invalid_argument(
        format("logprobs must be -1 (none) or in [0, %d], got %d", kMaxLogprobs, p.logprobs));
  if (p.n < 1 || p.n > kMaxChoices)
    return invalid_argument(format("n must be in [1, %d], got %d", kMaxChoices, p.n));
  if (p.max_tokens < 1) return invalid_argument(format("max_tokens must be >= 1, got %d", p.max_tokens));
  if (p.min_tokens < 0 || p.min_tokens > p.max_tokens)
    return invalid_argument(
        format("min_tokens must be in [0, max_tokens = %d], got %d", p.max_tokens, p.min_tokens));
  return Status::ok();
}

Status validate_logit_bias(const SamplingParams& p, int64_t vocab) {
  std::vector<int32_t> ids;
  ids.reserve(p.logit_bias.size());
  for (const auto& [token, bias] : p.logit_bias) {
    if (!in_vocab(token, vocab))
      return invalid_argument(
          format("logit_bias: token %d is outside the vocabulary %s", token, vocab_range(vocab).c_str()));
    if (!std::isfinite(bias))
      return invalid_argument(format("logit_bias: token %d has a non-finite bias (%g)", token,
                                     static_cast<double>(bias)));
    ids.push_back(token);
  }
  std::sort(ids.begin(), ids.end());
  auto dup = std::adjacent_find(ids.begin(), ids.end());
  if (dup != ids.end()) return invalid_argument(format("logit_bias: token %d is listed more than once", *dup));
  return Status::ok();
}

Status validate_stops(const SamplingParams& p, int64_t vocab) {
  for (int32_t token : p.stop_token_ids) {
    if (!in_vocab(token, vocab))
      return invalid_argument(
          format("stop_token_ids: token %d is outside the vocabulary %s", token, vocab_range(vocab).c_str()));
  }
  if (p.stop.size() > kMaxStopStrings)
    return invalid_argument(format("stop: at most %zu stop strings are allowed, got %zu", kMaxStopStrings,
                                   p.stop.size()));
  for (size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty()) return invalid_argument(format("stop: string %zu is empty", i));
    if (p.stop[i].size() > kMaxStopStringBytes)
      return invalid_argument(format("stop: string %zu is %zu bytes long, the limit is %zu", i,
                                     p.stop[i].size(), kMaxStopStringBytes));
  }
  return Status::ok();
}

}  // namespace

Status validate_sampling_params(const SamplingParams& params, int64_t vocab) {
  if (vocab <= 0) return invalid_argument(format("vocabulary size must be positive, got %lld",
                                                 static_cast<long long>(vocab)));
  DSV4_RETURN_IF_ERROR(validate_scalars(params));
  DSV4_RETURN_IF_ERROR(validate_logit_bias(params, vocab));
  return validate_stops(params, vocab);
}

}  // namespace dsv4
