// Metrics, table and JSON of `dsv4 bench serve` (see bench_serve_report.h).
#include "app/bench_serve_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <unordered_map>


namespace dsv4 {
namespace {

// Most token chunks that arrived within one wall-clock second of the run (vLLM's "peak
// output token throughput": one token per chunk, seconds counted from the start).
double peak_chunks_per_second(const std::vector<RequestRecord>& requests) {
  std::unordered_map<int64_t, int64_t> per_second;
  int64_t best = 0;
  for (const RequestRecord& r : requests) {
    if (!r.success || r.n_token_chunks == 0) continue;
    double t = r.start_s + r.ttft_s;
    auto count = [&](double at) { best = std::max(best, ++per_second[static_cast<int64_t>(std::floor(at))]); };
    count(t);
    for (double gap : r.itl_s) count(t += gap);
  }
  return static_cast<double>(best);
}

std::string format_double(double v, int precision = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string percentile_label(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", p);
  return buf;
}

void add_row(std::string& out, const std::string& label, const std::string& value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-40s %-10s\n", label.c_str(), value.c_str());
  out += buf;
}

void add_rule(std::string& out, const std::string& title, char fill) {
  constexpr size_t kWidth = 50;
  const std::string t = title.empty() ? "" : title;
  const size_t left = (kWidth - std::min(kWidth, t.size())) / 2;
  const size_t right = kWidth - std::min(kWidth, t.size()) - left;
  out += std::string(left, fill) + t + std::string(right, fill) + "\n";
}

void add_latency_block(std::string& out, const char* title, const char* name, const LatencySummary& s) {
  add_rule(out, title, '-');
  add_row(out, std::string("Mean ") + name + " (ms):", format_double(s.mean));
  add_row(out, std::string("Median ") + name + " (ms):", format_double(s.median));
  for (const auto& [p, v] : s.percentiles) add_row(out, "P" + percentile_label(p) + " " + name + " (ms):", format_double(v));
}

void add_latency_json(nlohmann::json& j, const char* name, const LatencySummary& s) {
  j[std::string("mean_") + name + "_ms"] = s.mean;
  j[std::string("median_") + name + "_ms"] = s.median;
  j[std::string("std_") + name + "_ms"] = s.std;
  for (const auto& [p, v] : s.percentiles) j["p" + percentile_label(p) + "_" + name + "_ms"] = v;
}

nlohmann::json record_json(const RequestRecord& r) {
  std::vector<double> itl_ms;
  itl_ms.reserve(r.itl_s.size());
  for (double g : r.itl_s) itl_ms.push_back(g * 1e3);
  return {
      {"index", r.index},
      {"success", r.success},
      {"error", r.error},
      {"http_status", r.http_status},
      {"prompt_len", r.prompt_len},
      {"prompt_tokens", r.prompt_tokens},
      {"max_tokens", r.max_tokens},
      {"output_tokens", r.output_tokens},
      {"usage_reported", r.usage_reported},
      {"token_chunks", r.n_token_chunks},
      {"arrival_s", r.arrival_s},
      {"start_s", r.start_s},
      {"ttft_ms", r.ttft_s * 1e3},
      {"last_token_ms", r.last_token_s * 1e3},
      {"e2e_ms", r.e2e_s * 1e3},
      {"itl_ms", std::move(itl_ms)},
  };
}

std::string utc_now_iso() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

BenchServeSummary summarize_bench(const BenchServeOptions& o, const BenchServeResult& r) {
  BenchServeSummary s;
  s.duration_s = r.duration_s;
  s.peak_concurrency = r.peak_concurrency;
  std::vector<double> ttft, tpot, itl, e2e;
  std::unordered_map<std::string, size_t> group_of;
  for (const RequestRecord& q : r.requests) {
    if (!q.success) {
      ++s.n_failed;
      ++s.failed_http_statuses[q.http_status];
      const auto [it, inserted] = group_of.emplace(q.error, s.errors.size());
      if (inserted) s.errors.push_back({q.error, 0});
      ++s.errors[it->second].count;
      continue;
    }
    ++s.n_completed;
    s.total_input_tokens += q.prompt_tokens;
    s.total_output_tokens += q.output_tokens;
    ttft.push_back(q.ttft_s * 1e3);
    e2e.push_back(q.e2e_s * 1e3);
    if (q.output_tokens > 1) tpot.push_back((q.e2e_s - q.ttft_s) * 1e3 / static_cast<double>(q.output_tokens - 1));
    for (double g : q.itl_s) itl.push_back(g * 1e3);
  }
  s.ttft_ms = summarize(ttft, o.percentiles);
  s.tpot_ms = summarize(tpot, o.percentiles);
  s.itl_ms = summarize(itl, o.percentiles);
  s.e2e_ms = summarize(e2e, o.percentiles);
  if (s.duration_s > 0) {
    s.request_throughput = static_cast<double>(s.n_completed) / s.duration_s;
    s.output_throughput = static_cast<double>(s.total_output_tokens) / s.duration_s;
    s.total_token_throughput = static_cast<double>(s.total_input_tokens + s.total_output_tokens) / s.duration_s;
  }
  s.peak_output_throughput = peak_chunks_per_second(r.requests);
  if (s.tpot_ms.mean > 0) s.output_tok_s_per_user = 1e3 / s.tpot_ms.mean;
  return s;
}

std::string format_bench_table(const BenchServeOptions& o, const BenchServeResult& r, const BenchServeSummary& s,
                               size_t max_errors) {
  std::string out;
  add_rule(out, " Serving Benchmark Result ", '=');
  add_row(out, "Endpoint:", r.endpoint_path);
  add_row(out, "Model:", r.model);
  add_row(out, "Successful requests:", std::to_string(s.n_completed));
  add_row(out, "Failed requests:", std::to_string(s.n_failed));
  if (r.n_not_sent > 0) add_row(out, "Requests not sent (time ran out):", std::to_string(r.n_not_sent));
  if (r.n_warmups > 0)
    add_row(out, "Warm-up requests (failed):", std::to_string(r.n_warmups) + " (" + std::to_string(r.n_warmups_failed) + ")");
  add_row(out, "Maximum request concurrency:", o.max_concurrency > 0 ? std::to_string(o.max_concurrency) : "unbounded");
  if (r.thread_limit > 0) add_row(out, "Concurrency capped by thread limit:", std::to_string(r.thread_limit));
  add_row(out, "Request rate configured (RPS):", std::isfinite(o.request_rate) ? format_double(o.request_rate) : "inf");
  add_row(out, "Benchmark duration (s):", format_double(s.duration_s));
  add_row(out, "Total input tokens:", std::to_string(s.total_input_tokens));
  add_row(out, "Total generated tokens:", std::to_string(s.total_output_tokens));
  add_row(out, "Request throughput (req/s):", format_double(s.request_throughput));
  add_row(out, "Output token throughput (tok/s):", format_double(s.output_throughput));
  add_row(out, "Peak output token throughput (tok/s):", format_double(s.peak_output_throughput));
  add_row(out, "Peak concurrent requests:", std::to_string(s.peak_concurrency));
  add_row(out, "Total token throughput (tok/s):", format_double(s.total_token_throughput));
  add_row(out, "Output tok/s per user (1000/mean TPOT):", format_double(s.output_tok_s_per_user));
  add_latency_block(out, "Time to First Token", "TTFT", s.ttft_ms);
  add_latency_block(out, "Time per Output Token (excl. 1st token)", "TPOT", s.tpot_ms);
  add_latency_block(out, "Inter-token Latency", "ITL", s.itl_ms);
  add_latency_block(out, "End-to-end Latency", "E2EL", s.e2e_ms);
  if (!s.errors.empty()) {
    add_rule(out, "Failures", '-');
    for (size_t i = 0; i < s.errors.size() && i < max_errors; ++i)
      out += "  " + std::to_string(s.errors[i].count) + " x " + s.errors[i].reason + "\n";
    if (s.errors.size() > max_errors)
      out += "  ... and " + std::to_string(s.errors.size() - max_errors) + " more distinct reasons (see --json)\n";
  }
  add_rule(out, "", '=');
  return out;
}

nlohmann::json bench_to_json(const BenchServeOptions& o, const BenchServeResult& r, const BenchServeSummary& s) {
  nlohmann::json j;
  j["date"] = utc_now_iso();
  j["base_url"] = o.base_url;
  j["endpoint"] = r.endpoint_path;
  j["model_id"] = r.model;
  j["prompt_format"] = o.prompt_format == PromptFormat::kTokenIds ? "token_ids" : "text";
  j["num_prompts"] = r.requests.size();
  j["duration_limit_s"] = o.duration_s;
  j["input_len"] = o.input_len;
  j["output_len"] = o.output_len;
  j["random_range_ratio"] = o.range_ratio;
  // JSON has no infinity; vLLM writes the string "inf" too.
  j["request_rate"] = std::isfinite(o.request_rate) ? nlohmann::json(o.request_rate) : nlohmann::json("inf");
  j["burstiness"] = o.burstiness;
  j["max_concurrency"] = o.max_concurrency > 0 ? nlohmann::json(o.max_concurrency) : nlohmann::json(nullptr);
  j["seed"] = o.seed;
  j["temperature"] = o.temperature;
  j["timeout_s"] = o.timeout_s;
  j["num_warmups"] = r.n_warmups;
  j["warmups_failed"] = r.n_warmups_failed;
  j["duration"] = s.duration_s;
  j["completed"] = s.n_completed;
  j["failed"] = s.n_failed;
  j["not_sent"] = r.n_not_sent;
  j["thread_limit"] = r.thread_limit > 0 ? nlohmann::json(r.thread_limit) : nlohmann::json(nullptr);
  j["total_input_tokens"] = s.total_input_tokens;
  j["total_output_tokens"] = s.total_output_tokens;
  j["request_throughput"] = s.request_throughput;
  j["output_throughput"] = s.output_throughput;
  j["total_token_throughput"] = s.total_token_throughput;
  j["max_output_tokens_per_s"] = s.peak_output_throughput;
  j["max_concurrent_requests"] = s.peak_concurrency;
  j["output_tok_s_per_user"] = s.output_tok_s_per_user;
  add_latency_json(j, "ttft", s.ttft_ms);
  add_latency_json(j, "tpot", s.tpot_ms);
  add_latency_json(j, "itl", s.itl_ms);
  add_latency_json(j, "e2el", s.e2e_ms);
  nlohmann::json errors = nlohmann::json::array();
  for (const ErrorGroup& g : s.errors) errors.push_back({{"reason", g.reason}, {"count", g.count}});
  j["error_summary"] = std::move(errors);
  nlohmann::json statuses = nlohmann::json::object();
  for (const auto& [status, count] : s.failed_http_statuses) statuses[std::to_string(status)] = count;
  j["failed_http_statuses"] = std::move(statuses);
  nlohmann::json requests = nlohmann::json::array();
  for (const RequestRecord& q : r.requests) requests.push_back(record_json(q));
  j["requests"] = std::move(requests);
  return j;
}

}  // namespace dsv4
