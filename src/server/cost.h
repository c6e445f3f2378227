// Usage accounting and cost reporting, as OpenAI, DeepSeek and the hosted routers report it.
//
// `usage` carries OpenAI's fields (prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens), DeepSeek's prompt_cache_hit_tokens /
// prompt_cache_miss_tokens and, when prices are configured, `cost` in USD with its three
// parts in `cost_details` (OpenRouter style). Uncached prompt tokens are billed at the
// input price, cached ones at the cached-input price, completion tokens at the output price.
#pragma once

#include <cstdint>

#include "dsv4/request.h"
#include "server/json_out.h"

namespace dsv4::server {

struct Prices {
  double input = 0.0;         // USD per 1M uncached prompt tokens
  double cached_input = 0.0;  // USD per 1M prompt tokens served from the prefix cache
  double output = 0.0;        // USD per 1M completion tokens
  bool enabled() const { return input > 0.0 || cached_input > 0.0 || output > 0.0; }
};

struct Cost {
  double input = 0.0;
  double cached_input = 0.0;
  double output = 0.0;
  double total() const { return input + cached_input + output; }
};

Cost compute_cost(const Usage& usage, const Prices& prices);

// The `usage` object. `reasoning_tokens` counts completion tokens spent in reasoning.
Json usage_json(const Usage& usage, int64_t reasoning_tokens, const Prices& prices);

// The x-dsv4-cost-usd header's name.
inline constexpr const char* kCostHeader = "x-dsv4-cost-usd";

}  // namespace dsv4::server
