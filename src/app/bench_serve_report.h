// The metrics `dsv4 bench serve` reports, computed from the per-request records the way
// vLLM's `vllm bench serve` computes them (vllm/benchmarks/serve.py, calculate_metrics), so
// the numbers line up with the figures people quote:
//   TTFT  time from sending the request to the first token-carrying chunk;
//   TPOT  per request, (E2E - TTFT) / (output tokens - 1), for requests with > 1 token;
//   ITL   every gap between successive token-carrying chunks, pooled over all requests;
//   E2E   time from sending the request to "[DONE]".
// Only successful requests enter the latency and token figures; throughputs divide by the
// benchmark duration (first arrival to the end of the last request).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/bench_serve.h"
#include "app/latency_stats.h"

namespace dsv4 {

struct ErrorGroup {
  std::string reason;
  int64_t count = 0;
};

struct BenchServeSummary {
  int64_t n_completed = 0;
  int64_t n_failed = 0;
  double duration_s = 0.0;
  int64_t total_input_tokens = 0;   // successful requests: usage.prompt_tokens, else requested
  int64_t total_output_tokens = 0;  // successful requests: usage.completion_tokens, else chunks
  double request_throughput = 0.0;  // completed requests / s
  double output_throughput = 0.0;   // output tokens / s
  double total_token_throughput = 0.0;  // (input + output) tokens / s
  double peak_output_throughput = 0.0;  // most token chunks received in one wall-clock second
  double output_tok_s_per_user = 0.0;   // 1000 / mean TPOT (ms): one stream's decode speed
  int64_t peak_concurrency = 0;
  LatencySummary ttft_ms, tpot_ms, itl_ms, e2e_ms;
  std::vector<ErrorGroup> errors;       // distinct reasons, by first failing request index
  std::map<int, int64_t> failed_http_statuses;  // HTTP status (0: none) -> failed requests
};

BenchServeSummary summarize_bench(const BenchServeOptions& o, const BenchServeResult& r);

// The human-readable report, laid out like vLLM's "Serving Benchmark Result" table, with the
// first `max_errors` distinct failure reasons after it.
std::string format_bench_table(const BenchServeOptions& o, const BenchServeResult& r, const BenchServeSummary& s,
                               size_t max_errors = 5);

// Everything: the configuration, the summary under vLLM's key names (mean_ttft_ms,
// p99_itl_ms, ...), the error groups, and one record per request (lengths, status, error,
// ttft_ms, e2e_ms, itl_ms list, ...).
nlohmann::json bench_to_json(const BenchServeOptions& o, const BenchServeResult& r, const BenchServeSummary& s);

}  // namespace dsv4
