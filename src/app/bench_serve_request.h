// The pieces of one benchmark request that do not touch the network: the random workload
// (lengths, prompts, arrival times, all reproducible from --seed and the request index, so
// thread scheduling does not change what is sent) and the reading of an OpenAI-style
// completion stream into a RequestRecord (which chunks carry tokens, usage, errors).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "app/bench_serve.h"
#include "app/sse_client.h"

namespace dsv4 {

// "/v1/completions" or "/v1/chat/completions".
const char* endpoint_path(BenchEndpoint endpoint);

// A length drawn uniformly from the integers in [floor(len * (1 - r)), ceil(len * (1 + r))],
// at least 1 (vLLM's random dataset draws its lengths this way).
int64_t sample_length(int64_t len, double range_ratio, std::mt19937_64& rng);

struct RequestSpec {
  int64_t prompt_len = 0;
  int64_t max_tokens = 0;
  std::string body;  // the JSON request body
};

// The request with this index; `stream` separates warm-up requests from measured ones.
RequestSpec make_request_spec(const BenchServeOptions& o, const std::string& model, int64_t index, uint64_t stream);

// Inter-arrival times: gamma(shape = burstiness, scale = 1 / (rate * burstiness)), whose
// mean is 1/rate; burstiness 1 is the exponential of a Poisson process. An infinite rate
// gives 0 (everything arrives at once).
class ArrivalProcess {
 public:
  ArrivalProcess(double rate, double burstiness, uint64_t seed);
  double next_interval();

 private:
  bool unpaced_;
  std::mt19937_64 rng_;
  std::gamma_distribution<double> gamma_;
};

// Reads the SSE events of one streamed completion. A chunk carries tokens when
// choices[0].text (completions) or choices[0].delta's content, reasoning_content or
// tool_calls (chat) is non-empty, as SGLang's bench_serving counts them; role-only and
// finish-only chunks do not (vLLM counts any chunk with choices, so its TTFT on chat can be
// the role chunk's). usage, wherever it appears, gives the token counts.
class StreamAccounting {
 public:
  // One event's data at `t_s` seconds after the request was sent. False stops the stream:
  // malformed JSON or an error object.
  bool on_event(std::string_view data, double t_s);

  // Fills the outcome of `rec` (success, error, http_status, ttft, itl, e2e, token counts)
  // from what the stream said and how it ended. `end_s` is when the attempt ended;
  // `timeout_s` names the limit when the stream was cancelled.
  void finish(const SseStreamResult& stream, double end_s, double timeout_s, RequestRecord& rec) const;

 private:
  bool done_ = false;
  double done_s_ = 0.0;
  std::string error_;
  int64_t n_token_chunks_ = 0;
  double first_s_ = 0.0;
  double last_s_ = 0.0;
  std::vector<double> itl_s_;
  int64_t usage_completion_ = -1;  // -1: no usage seen
  int64_t usage_prompt_ = -1;
};

// A one-line reason from a non-2xx body: error.message, message or detail of a JSON body,
// else the body's start with line breaks flattened.
std::string error_body_reason(const std::string& body);

}  // namespace dsv4
