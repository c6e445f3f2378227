// Server metrics and their Prometheus text exposition (no prometheus-cpp: not in Debian).
//
// Names follow vLLM's with a `dsv4:` prefix so existing dashboards port by renaming. The
// engine's own counters (running / waiting requests, KV pages, prefix-cache lookups, token
// totals) are read from EngineMetrics at scrape time; the server adds what only it sees:
// finished requests by reason, HTTP answers by status, and the latency histograms (TTFT,
// inter-token, end-to-end), measured from the moment a request was accepted.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dsv4/engine.h"

namespace dsv4::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket / _sum / _count lines.
  void render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // [bounds_.size() + 1], not cumulative
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  // `device` is the engine's (EngineInfo::device), shown by the dsv4:engine_info gauge.
  ServerMetrics(std::string model_name, std::string device);

  void observe_ttft(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token(double seconds) { itl_.observe(seconds); }
  void observe_e2e(double seconds) { e2e_.observe(seconds); }
  // reason: "stop", "length", "abort" or "error".
  void count_finished(const std::string& reason);
  void count_http_status(int status);

  std::string render(const EngineMetrics& engine) const;

 private:
  std::string labels_;  // model_name="..."
  std::string device_;
  Histogram ttft_;
  Histogram itl_;
  Histogram e2e_;
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> finished_;
  std::map<int, uint64_t> http_status_;
};

// Times one request for the histograms: first tokens -> TTFT, later tokens -> inter-token
// latency (per token), finish -> end-to-end.
class RequestTimer {
 public:
  explicit RequestTimer(ServerMetrics* metrics);
  void on_tokens(size_t n_tokens);
  void on_finish(const std::string& reason);

 private:
  using Clock = std::chrono::steady_clock;
  ServerMetrics* metrics_;
  Clock::time_point start_;
  Clock::time_point last_;
  bool any_token_ = false;
  bool finished_ = false;
};

}  // namespace dsv4::server
