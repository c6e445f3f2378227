// OpenAI sampling fields (shared by chat and completions) -> dsv4::SamplingParams.
//
// The server checks types and the ranges OpenAI documents (temperature [0, 2], penalties
// [-2, 2], logit_bias values [-100, 100], ...) so that errors name the OpenAI field; the
// engine re-validates at submit (its limits on n, stop strings and the vocabulary) and
// its messages map to 400s too. vLLM's extensions top_k, min_p, repetition_penalty,
// min_tokens, ignore_eos and stop_token_ids are accepted.
#pragma once

#include <cstdint>
#include <optional>

#include "dsv4/request.h"
#include "dsv4/status.h"
#include "text/json_value.h"

namespace dsv4::server {

struct SamplingFields {
  SamplingParams params;              // max_tokens and logprobs are left for the endpoint
  std::optional<int64_t> max_tokens;  // max_completion_tokens (chat) or max_tokens
};

// `chat`: also reads max_completion_tokens (which wins over max_tokens, as in OpenAI).
Result<SamplingFields> read_sampling_fields(const text::JsonValue& body, bool chat);

}  // namespace dsv4::server
