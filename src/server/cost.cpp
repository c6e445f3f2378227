// Usage JSON and cost (see cost.h).
#include "server/cost.h"

#include <algorithm>

namespace dsv4::server {

Cost compute_cost(const Usage& usage, const Prices& prices) {
  const int64_t cached = std::clamp<int64_t>(usage.cached_prompt_tokens, 0, usage.prompt_tokens);
  Cost c;
  c.input = static_cast<double>(usage.prompt_tokens - cached) * prices.input / 1e6;
  c.cached_input = static_cast<double>(cached) * prices.cached_input / 1e6;
  c.output = static_cast<double>(usage.completion_tokens) * prices.output / 1e6;
  return c;
}

Json usage_json(const Usage& usage, int64_t reasoning_tokens, const Prices& prices) {
  const int64_t cached = std::clamp<int64_t>(usage.cached_prompt_tokens, 0, usage.prompt_tokens);
  Json u = Json::object();
  u["prompt_tokens"] = usage.prompt_tokens;
  u["completion_tokens"] = usage.completion_tokens;
  u["total_tokens"] = usage.prompt_tokens + usage.completion_tokens;
  u["prompt_tokens_details"] = Json{{"cached_tokens", cached}};
  u["completion_tokens_details"] = Json{{"reasoning_tokens", reasoning_tokens}};
  u["prompt_cache_hit_tokens"] = cached;
  u["prompt_cache_miss_tokens"] = usage.prompt_tokens - cached;
  if (prices.enabled()) {
    const Cost c = compute_cost(usage, prices);
    u["cost"] = usd_json(c.total());
    u["cost_details"] = Json{{"input_cost", usd_json(c.input)},
                             {"cached_input_cost", usd_json(c.cached_input)},
                             {"output_cost", usd_json(c.output)}};
  }
  return u;
}

}  // namespace dsv4::server
