// Prometheus text exposition of the server and engine metrics (see metrics.h).
#include "server/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dsv4::server {
namespace {

std::string number_text(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Shorter spellings for the common round values (bucket bounds, integer counters).
  char short_buf[40];
  std::snprintf(short_buf, sizeof(short_buf), "%.6g", v);
  return std::strtod(short_buf, nullptr) == v ? std::string(short_buf) : std::string(buf);
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void header(std::string* out, const std::string& name, const char* type, const char* help) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string* out, const std::string& name, const std::string& labels, double value) {
  out->append(name).append("{").append(labels).append("} ").append(number_text(value)).append("\n");
}

void gauge(std::string* out, const std::string& name, const std::string& labels, const char* help, double value) {
  header(out, name, "gauge", help);
  sample(out, name, labels, value);
}

void counter(std::string* out, const std::string& name, const std::string& labels, const char* help, double value) {
  header(out, name, "counter", help);
  sample(out, name, labels, value);
}

// vLLM's bucket bounds, with finer low buckets for fast CPU / GPU decoding.
std::vector<double> ttft_buckets() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
          1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}
std::vector<double> itl_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2,  0.3,
          0.4,   0.5,    0.75,  1.0,  2.5,   5.0,  7.5,   10.0, 20.0, 40.0, 80.0};
}
std::vector<double> e2e_buckets() {
  return {0.01, 0.05, 0.1,  0.3,  0.5,  0.8,  1.0,   1.5,   2.0,   2.5,   5.0,    10.0,
          15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  if (!std::isfinite(value)) return;
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number_text(bounds_[i]) : "+Inf";
    out->append(name).append("_bucket{").append(labels).append(sep).append("le=\"").append(le).append("\"} ");
    out->append(std::to_string(cumulative)).append("\n");
  }
  sample(out, name + "_sum", labels, sum_);
  sample(out, name + "_count", labels, static_cast<double>(count_));
}

ServerMetrics::ServerMetrics(std::string model_name, std::string device)
    : labels_("model_name=\"" + escape_label(model_name) + "\""),
      device_(std::move(device)),
      ttft_(ttft_buckets()),
      itl_(itl_buckets()),
      e2e_(e2e_buckets()) {
  for (const char* r : {"stop", "length", "abort", "error"}) finished_[r] = 0;
}

void ServerMetrics::count_finished(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++finished_[reason];
}

void ServerMetrics::count_http_status(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++http_status_[status];
}

std::string ServerMetrics::render(const EngineMetrics& m) const {
  std::string out;
  const std::string& l = labels_;
  // An info metric: the value is always 1, the labels carry the facts (where the model runs).
  gauge(&out, "dsv4:engine_info", l + ",device=\"" + escape_label(device_) + "\"",
        "Where the engine runs the model (the value is 1).", 1.0);
  gauge(&out, "dsv4:num_requests_running", l, "Requests in model execution batches.", static_cast<double>(m.running));
  gauge(&out, "dsv4:num_requests_waiting", l, "Requests waiting to be scheduled.", static_cast<double>(m.waiting));
  const double usage =
      m.kv_pages_total > 0 ? static_cast<double>(m.kv_pages_used) / static_cast<double>(m.kv_pages_total) : 0.0;
  gauge(&out, "dsv4:kv_cache_usage_perc", l, "KV-cache usage: 1 means 100 percent of the pages are in use.", usage);
  gauge(&out, "dsv4:kv_cache_pages_total", l, "KV-cache pages.", static_cast<double>(m.kv_pages_total));
  gauge(&out, "dsv4:kv_cache_pages_cached", l, "Unreferenced KV pages kept for prefix-cache hits.",
        static_cast<double>(m.kv_pages_cached));
  counter(&out, "dsv4:prefix_cache_queries_total", l, "Prompt tokens looked up in the prefix cache.",
          static_cast<double>(m.prefix_cache_queries));
  counter(&out, "dsv4:prefix_cache_hits_total", l, "Prompt tokens found in the prefix cache.",
          static_cast<double>(m.prefix_cache_hits));
  counter(&out, "dsv4:prompt_tokens_total", l, "Prefill tokens processed.", static_cast<double>(m.prompt_tokens));
  counter(&out, "dsv4:generation_tokens_total", l, "Generated tokens.", static_cast<double>(m.generation_tokens));
  counter(&out, "dsv4:device_sampled_tokens_total", l,
          "Generated tokens sampled on the device (only their ids crossed to the host).",
          static_cast<double>(m.device_sampled_tokens));
  counter(&out, "dsv4:graph_replays_total", l, "Decode-step segments replayed from a CUDA graph (--decode-graphs).",
          static_cast<double>(m.graph_replays));
  counter(&out, "dsv4:graph_captures_total", l,
          "CUDA graphs captured, again each time memory a graph names was released.",
          static_cast<double>(m.graph_captures));
  counter(&out, "dsv4:num_preemptions_total", l, "Preemptions of running requests.",
          static_cast<double>(m.preemptions));
  counter(&out, "dsv4:engine_steps_total", l, "Engine steps (one ragged-batch forward each).",
          static_cast<double>(m.steps));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    header(&out, "dsv4:request_success_total", "counter", "Finished requests by finish reason.");
    for (const auto& [reason, n] : finished_) {
      sample(&out, "dsv4:request_success_total", l + ",finished_reason=\"" + reason + "\"", static_cast<double>(n));
    }
    header(&out, "dsv4:http_requests_total", "counter", "HTTP answers by status code.");
    for (const auto& [status, n] : http_status_) {
      sample(&out, "dsv4:http_requests_total", l + ",code=\"" + std::to_string(status) + "\"", static_cast<double>(n));
    }
  }
  header(&out, "dsv4:time_to_first_token_seconds", "histogram", "Time to the first generated token.");
  ttft_.render("dsv4:time_to_first_token_seconds", l, &out);
  header(&out, "dsv4:inter_token_latency_seconds", "histogram", "Time between generated tokens.");
  itl_.render("dsv4:inter_token_latency_seconds", l, &out);
  header(&out, "dsv4:e2e_request_latency_seconds", "histogram", "End-to-end request latency.");
  e2e_.render("dsv4:e2e_request_latency_seconds", l, &out);
  return out;
}

RequestTimer::RequestTimer(ServerMetrics* metrics) : metrics_(metrics), start_(Clock::now()), last_(start_) {}

void RequestTimer::on_tokens(size_t n_tokens) {
  if (n_tokens == 0) return;
  const Clock::time_point now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (!any_token_) {
    metrics_->observe_ttft(since_last);
    // Tokens released together after the first (held back for a stop string) arrived at once.
    for (size_t i = 1; i < n_tokens; ++i) metrics_->observe_inter_token(0.0);
    any_token_ = true;
  } else {
    for (size_t i = 0; i < n_tokens; ++i) metrics_->observe_inter_token(since_last / static_cast<double>(n_tokens));
  }
  last_ = now;
}

void RequestTimer::on_finish(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  metrics_->observe_e2e(std::chrono::duration<double>(Clock::now() - start_).count());
  metrics_->count_finished(reason);
}

}  // namespace dsv4::server
