// `dsv4 bench serve`: a load generator for OpenAI-compatible servers in the style of
// `vllm bench serve` and SGLang's bench_serving. It sends random prompts of given input and
// output lengths to /v1/completions or /v1/chat/completions (always streamed), bounded by a
// concurrency limit and paced by Poisson (or gamma) arrivals, and records per request the
// times at which generated tokens arrive. This header owns the options, the per-request
// records and the entry point; bench_serve_request.h builds requests and reads their streams,
// bench_serve_report.h turns records into the reported metrics.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsv4/status.h"

namespace dsv4 {

enum class BenchEndpoint : uint8_t { kCompletions, kChat };
enum class PromptFormat : uint8_t {
  kTokenIds,  // "prompt": [ids]: exact input lengths, no tokenizer in the loop (completions only)
  kText,      // random common English words, one word ~ one token
};

struct BenchServeOptions {
  std::string base_url = "http://127.0.0.1:8000";
  BenchEndpoint endpoint = BenchEndpoint::kCompletions;
  PromptFormat prompt_format = PromptFormat::kTokenIds;
  std::string model;            // empty: the first id listed by GET /v1/models
  std::string api_key;          // empty: no Authorization header
  int64_t num_prompts = 1000;   // measured requests, unless duration_s > 0
  double duration_s = 0.0;      // > 0: send requests for this long instead (soak / load tests)
  int64_t input_len = 1024;
  int64_t output_len = 128;
  double range_ratio = 0.0;     // lengths uniform in [len * (1 - r), len * (1 + r)]
  int64_t max_concurrency = 0;  // 0: no bound
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s; inf: no pacing
  double burstiness = 1.0;      // gamma shape of the inter-arrival times; 1: Poisson
  int64_t num_warmups = 0;      // unmeasured requests sent first, at max_concurrency
  uint64_t seed = 0;
  double temperature = 0.0;
  double timeout_s = 3600.0;    // per request, from send to the end of the stream; 0: none
  double connect_timeout_s = 10.0;
  int32_t min_token_id = 3;     // random prompt ids; 0..2 are BOS, EOS and PAD in DSV4
  int32_t max_token_id = 127999;  // inclusive; 128000 and up are special tokens in DSV4
  std::vector<double> percentiles{99.0};
  nlohmann::json extra_body = nlohmann::json::object();  // merged into every request body
};

// Checks ranges and combinations (chat needs text prompts; --duration with an unpaced rate
// needs a concurrency bound, or it would open connections without limit).
Status validate(const BenchServeOptions& o);

// One request: what was asked, what came back, and when (seconds; times of a request from
// its send, start and arrival from the start of the benchmark).
struct RequestRecord {
  int64_t index = 0;
  int64_t prompt_len = 0;      // requested prompt length: token ids, or words of text
  int64_t prompt_tokens = 0;   // usage.prompt_tokens when reported, else prompt_len
  int64_t max_tokens = 0;      // requested output length
  int64_t output_tokens = 0;   // usage.completion_tokens when reported, else n_token_chunks
  bool usage_reported = false;
  bool success = false;
  std::string error;           // why it failed; empty on success
  int http_status = 0;         // 0: no HTTP response
  double arrival_s = 0.0;      // when the arrival process released it (unpaced with a
                               // concurrency bound: when a slot was free)
  double start_s = 0.0;        // when it was sent (later than arrival_s when slots were full)
  double ttft_s = 0.0;         // first token-carrying chunk; 0 when none arrived
  double last_token_s = 0.0;   // last token-carrying chunk
  double e2e_s = 0.0;          // "[DONE]" on success; the end of the attempt otherwise
  std::vector<double> itl_s;   // gaps between successive token-carrying chunks
  int64_t n_token_chunks = 0;
};

struct BenchServeResult {
  std::string model;
  std::string endpoint_path;     // "/v1/completions" or "/v1/chat/completions"
  double duration_s = 0.0;       // first arrival to the end of the last request
  int64_t peak_concurrency = 0;  // most requests in flight at once
  int64_t n_not_sent = 0;        // --duration: arrived but still queued when time ran out
  int64_t thread_limit = 0;      // > 0: the system refused more worker threads than this,
                                 // which then bounded the concurrency
  int64_t n_warmups = 0;
  int64_t n_warmups_failed = 0;
  std::vector<RequestRecord> requests;  // measured requests, by index
};

// Runs the benchmark (warm-up requests first, if any). Fails only when the benchmark cannot
// run at all (bad options, no model list, every warm-up request failed); failed requests
// are recorded, not returned as errors.
Result<BenchServeResult> run_bench_serve(const BenchServeOptions& o);

}  // namespace dsv4
