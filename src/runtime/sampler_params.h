// Validation of a request's SamplingParams against the model's vocabulary.
//
// The engine calls this at submission, before anything is queued, so the sampler and the
// stop matcher can treat their inputs as valid (bad values reach them only through a bug).
// Each message names the field, the allowed range and the value received.
#pragma once

#include <cstdint>

#include "dsv4/request.h"
#include "dsv4/status.h"

namespace dsv4 {

inline constexpr int32_t kMaxLogprobs = 20;          // OpenAI's top_logprobs limit
inline constexpr int32_t kMaxChoices = 16;           // n
inline constexpr double kMaxAbsOpenAIPenalty = 2.0;  // presence / frequency, as OpenAI documents
inline constexpr size_t kMaxStopStrings = 64;
inline constexpr size_t kMaxStopStringBytes = 4096;  // bounds the text held back in streaming

// kInvalidArgument with a precise message on the first problem found; ok otherwise.
Status validate_sampling_params(const SamplingParams& params, int64_t vocab);

}  // namespace dsv4
