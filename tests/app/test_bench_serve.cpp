// `dsv4 bench serve` end to end, in process, against the scripted server of
// scripted_server.h: measured TTFT / ITL / TPOT / E2E against the scripted delays, failure
// counting and reasons, the concurrency bound, the arrival process, timeouts, --duration,
// warm-up, model discovery, and the table and JSON reports.
//
// Timing tolerances: client-side times can only exceed the server's sleeps (the request
// is sent before the server starts its clock), so lower bounds are tight and upper bounds
// leave room for a loaded 2-core machine running sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "app/bench_serve.h"
#include "app/bench_serve_report.h"
#include "scripted_server.h"

namespace dsv4 {
namespace {

using testing::Behavior;
using testing::ScriptConfig;
using testing::ScriptedServer;

constexpr double kSlackMs = 40.0;  // allowed lateness of a median or mean over its script
constexpr double kOutlierMs = 300.0;  // of any single request (a descheduled thread)

BenchServeOptions options_for(const ScriptedServer& server) {
  BenchServeOptions o;
  o.base_url = server.base_url();
  o.num_prompts = 6;
  o.input_len = 16;
  o.output_len = 8;
  o.timeout_s = 20;
  return o;
}

BenchServeResult run_ok(const BenchServeOptions& o) {
  Result<BenchServeResult> r = run_bench_serve(o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(r).value() : BenchServeResult{};
}

TEST(BenchServe, MetricsMatchScriptedDelays) {
  ScriptConfig cfg;
  cfg.ttft_ms = 60;
  cfg.itl_ms = 15;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.max_concurrency = 2;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(r.model, "scripted-model");  // discovered through GET /v1/models
  ASSERT_EQ(r.requests.size(), 6u);
  for (const RequestRecord& q : r.requests) {
    ASSERT_TRUE(q.success) << q.error;
    EXPECT_EQ(q.http_status, 200);
    EXPECT_EQ(q.output_tokens, 8);
    EXPECT_EQ(q.prompt_tokens, 16);  // from usage (the server counts the prompt ids)
    EXPECT_EQ(q.n_token_chunks, 8);
    EXPECT_EQ(q.itl_s.size(), 7u);
    EXPECT_GE(q.ttft_s * 1e3, 60.0);
    EXPECT_LE(q.ttft_s * 1e3, 60.0 + kOutlierMs);
    EXPECT_GE(q.e2e_s * 1e3, 60.0 + 7 * 15.0);
    EXPECT_LE(q.e2e_s * 1e3, 60.0 + 7 * 15.0 + kOutlierMs);
  }
  const BenchServeSummary s = summarize_bench(o, r);
  EXPECT_EQ(s.n_completed, 6);
  EXPECT_EQ(s.n_failed, 0);
  EXPECT_EQ(s.total_output_tokens, 48);
  EXPECT_EQ(s.total_input_tokens, 96);
  EXPECT_EQ(s.itl_ms.n, 42u);
  EXPECT_GE(s.ttft_ms.median, 60.0);
  EXPECT_LE(s.ttft_ms.median, 60.0 + kSlackMs);
  EXPECT_GE(s.e2e_ms.median, 60.0 + 7 * 15.0);
  EXPECT_LE(s.e2e_ms.median, 60.0 + 7 * 15.0 + kSlackMs);
  EXPECT_GE(s.itl_ms.median, 15.0 - 1.0);  // one gap can be short when its predecessor was late
  EXPECT_LE(s.itl_ms.median, 15.0 + kSlackMs / 4);
  EXPECT_GE(s.tpot_ms.median, 15.0);
  EXPECT_LE(s.tpot_ms.median, 15.0 + kSlackMs / 4);
  EXPECT_NEAR(s.output_tok_s_per_user, 1e3 / s.tpot_ms.mean, 1e-9);
  EXPECT_GT(s.request_throughput, 0.0);
  EXPECT_NEAR(s.output_throughput, 48.0 / r.duration_s, 1e-9);
  // 3 waves of 2 requests: about 3 * 165 ms.
  EXPECT_GE(r.duration_s, 3 * 0.165);
  EXPECT_LE(r.duration_s, 3 * 0.165 + 3 * kOutlierMs / 1e3);
}

TEST(BenchServe, ChatStreamTimesContentNotRoleChunk) {
  ScriptConfig cfg;
  cfg.ttft_ms = 50;
  cfg.itl_ms = 10;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.endpoint = BenchEndpoint::kChat;
  o.prompt_format = PromptFormat::kText;
  o.num_prompts = 3;
  o.output_len = 4;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(r.endpoint_path, "/v1/chat/completions");
  for (const RequestRecord& q : r.requests) {
    ASSERT_TRUE(q.success) << q.error;
    EXPECT_GE(q.ttft_s * 1e3, 50.0);  // the role chunk came at once and does not count
    EXPECT_EQ(q.output_tokens, 4);
  }
  for (const nlohmann::json& body : server.bodies()) {
    EXPECT_EQ(body["messages"][0]["role"], "user");
    EXPECT_EQ(body["model"], "scripted-model");
  }
}

TEST(BenchServe, RequestBodiesFollowOptions) {
  ScriptedServer server(ScriptConfig{});
  BenchServeOptions o = options_for(server);
  o.model = "named-model";
  o.num_prompts = 20;
  o.input_len = 40;
  o.output_len = 6;
  o.range_ratio = 0.5;
  o.min_token_id = 100;
  o.max_token_id = 199;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(r.model, "named-model");
  std::set<size_t> prompt_sizes;
  for (const nlohmann::json& body : server.bodies()) {
    EXPECT_EQ(body["model"], "named-model");
    EXPECT_EQ(body["stream"], true);
    EXPECT_EQ(body["stream_options"]["include_usage"], true);
    EXPECT_EQ(body["ignore_eos"], true);
    EXPECT_EQ(body["min_tokens"], body["max_tokens"]);
    EXPECT_GE(body["max_tokens"].get<int>(), 3);
    EXPECT_LE(body["max_tokens"].get<int>(), 9);
    const auto& prompt = body["prompt"];
    ASSERT_TRUE(prompt.is_array());
    EXPECT_GE(prompt.size(), 20u);
    EXPECT_LE(prompt.size(), 60u);
    prompt_sizes.insert(prompt.size());
    for (const auto& id : prompt) EXPECT_TRUE(id.get<int>() >= 100 && id.get<int>() <= 199);
  }
  EXPECT_GT(prompt_sizes.size(), 5u);  // lengths vary
  for (const RequestRecord& q : r.requests) {
    EXPECT_EQ(q.prompt_tokens, q.prompt_len);
    EXPECT_EQ(q.output_tokens, q.max_tokens);
  }
}

TEST(BenchServe, FailuresAreCountedWithReasons) {
  // Arrival order k decides the behavior: of 16 requests, 8 succeed and each failure mode
  // occurs once per 8.
  const std::vector<Behavior> pattern = {Behavior::kOk,     Behavior::kStatus429, Behavior::kOk,
                                         Behavior::kStatus500, Behavior::kOk,  Behavior::kDropMidStream,
                                         Behavior::kNoDone, Behavior::kMalformed};
  ScriptConfig cfg;
  cfg.ttft_ms = 5;
  cfg.itl_ms = 2;
  cfg.behavior = [pattern](int64_t k) { return pattern[static_cast<size_t>(k) % pattern.size()]; };
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 16;
  o.max_concurrency = 1;  // arrival order == request index, so the pattern maps to indices
  const BenchServeResult r = run_ok(o);
  ASSERT_EQ(r.requests.size(), 16u);
  const BenchServeSummary s = summarize_bench(o, r);
  EXPECT_EQ(s.n_completed, 6);
  EXPECT_EQ(s.n_failed, 10);
  EXPECT_EQ(s.failed_http_statuses.at(429), 2);
  EXPECT_EQ(s.failed_http_statuses.at(500), 2);
  EXPECT_EQ(s.failed_http_statuses.at(200), 6);  // drop, no [DONE], malformed: after a 200
  ASSERT_EQ(s.errors.size(), 5u);
  EXPECT_EQ(s.errors[0].reason, "HTTP 429: rate limited, slow down");
  EXPECT_EQ(s.errors[0].count, 2);
  EXPECT_EQ(s.errors[1].reason, "HTTP 500: engine exploded");
  EXPECT_NE(s.errors[2].reason.find("connection error"), std::string::npos) << s.errors[2].reason;
  EXPECT_NE(s.errors[2].reason.find("before [DONE]"), std::string::npos) << s.errors[2].reason;
  EXPECT_EQ(s.errors[3].reason, "stream ended without [DONE]");
  EXPECT_NE(s.errors[4].reason.find("malformed SSE data"), std::string::npos) << s.errors[4].reason;
  for (const RequestRecord& q : r.requests) {
    const Behavior b = pattern[static_cast<size_t>(q.index) % pattern.size()];
    EXPECT_EQ(q.success, b == Behavior::kOk) << q.index << ": " << q.error;
  }
  // Only successful requests enter the token counts.
  EXPECT_EQ(s.total_output_tokens, 6 * 8);
  const std::string table = format_bench_table(o, r, s, /*max_errors=*/2);
  EXPECT_NE(table.find("Failed requests:                         10"), std::string::npos) << table;
  EXPECT_NE(table.find("2 x HTTP 429: rate limited, slow down"), std::string::npos) << table;
  EXPECT_NE(table.find("... and 3 more distinct reasons"), std::string::npos) << table;
}

TEST(BenchServe, ErrorEventInStreamFails) {
  ScriptConfig cfg;
  cfg.ttft_ms = 1;
  cfg.behavior = [](int64_t) { return Behavior::kErrorEvent; };
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 2;
  Result<BenchServeResult> r = run_bench_serve(o);
  ASSERT_TRUE(r.is_ok());
  for (const RequestRecord& q : r->requests) EXPECT_EQ(q.error, "error event in stream: out of KV pages");
}

TEST(BenchServe, ConcurrencyBoundIsRespected) {
  ScriptConfig cfg;
  cfg.ttft_ms = 30;
  cfg.itl_ms = 10;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 16;
  o.output_len = 4;
  o.max_concurrency = 3;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(server.max_active(), 3);
  EXPECT_EQ(r.peak_concurrency, 3);
  EXPECT_EQ(server.n_requests(), 16);
  // Six waves of ~60 ms requests: the last wave starts after five have ended. Unpaced and
  // bounded, a request is released when a slot frees, so it is sent on arrival.
  double last_start = 0.0;
  for (const RequestRecord& q : r.requests) {
    last_start = std::max(last_start, q.start_s);
    EXPECT_LE(q.start_s - q.arrival_s, kOutlierMs / 1e3);
  }
  EXPECT_GE(last_start, 5 * 0.060);
}

TEST(BenchServe, UnboundedSendsEverythingAtOnce) {
  ScriptConfig cfg;
  cfg.ttft_ms = 150;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 12;
  o.output_len = 2;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(r.peak_concurrency, 12);
  EXPECT_EQ(server.max_active(), 12);
  // Well under the 1 s a dropped SYN would cost (see widen_listen_backlog).
  EXPECT_LE(r.duration_s, 0.150 + kOutlierMs / 1e3 + 0.2);
}

TEST(BenchServe, PoissonArrivalsFollowTheRate) {
  ScriptConfig cfg;
  cfg.ttft_ms = 1;
  cfg.itl_ms = 1;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 80;
  o.output_len = 2;
  o.request_rate = 100.0;
  o.seed = 11;
  const BenchServeResult r = run_ok(o);
  ASSERT_EQ(r.requests.size(), 80u);
  // 79 exponential gaps of mean 10 ms: their mean is within 35% of 10 ms (> 3 standard
  // errors; the seed is fixed, so this is a check of the wiring, not a flaky draw).
  const double span = r.requests.back().arrival_s - r.requests.front().arrival_s;
  EXPECT_NEAR(span / 79.0, 0.010, 0.0035);
  EXPECT_EQ(r.requests.front().arrival_s, 0.0);
  double total_lag = 0.0;
  for (size_t i = 1; i < r.requests.size(); ++i) {
    EXPECT_GE(r.requests[i].arrival_s, r.requests[i - 1].arrival_s);
    // Sent on schedule: nothing waits for a slot with no concurrency bound.
    EXPECT_GE(r.requests[i].start_s, r.requests[i].arrival_s);
    EXPECT_LE(r.requests[i].start_s - r.requests[i].arrival_s, kOutlierMs / 1e3);
    total_lag += r.requests[i].start_s - r.requests[i].arrival_s;
  }
  EXPECT_LE(total_lag / 79.0, 0.010);
  // The server saw the same pacing.
  std::vector<double> seen = server.arrival_s();
  std::sort(seen.begin(), seen.end());
  EXPECT_NEAR((seen.back() - seen.front()) / span, 1.0, 0.2);
  EXPECT_GE(r.duration_s, span);
}

TEST(BenchServe, TimeoutCancelsStalledStreams) {
  ScriptConfig cfg;
  cfg.behavior = [](int64_t k) { return k == 0 ? Behavior::kStall : Behavior::kOk; };
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 3;
  o.output_len = 2;
  o.max_concurrency = 1;
  o.timeout_s = 0.3;
  const BenchServeResult r = run_ok(o);
  ASSERT_EQ(r.requests.size(), 3u);
  EXPECT_FALSE(r.requests[0].success);
  EXPECT_EQ(r.requests[0].error, "timeout: no complete response within 0.3 s");
  EXPECT_GE(r.requests[0].e2e_s, 0.3);
  EXPECT_LE(r.requests[0].e2e_s, 0.3 + kOutlierMs / 1e3);
  // The worker's connection recovers for the next requests.
  EXPECT_TRUE(r.requests[1].success) << r.requests[1].error;
  EXPECT_TRUE(r.requests[2].success) << r.requests[2].error;
}

TEST(BenchServe, DurationModeRunsForTheGivenTime) {
  ScriptConfig cfg;
  cfg.ttft_ms = 20;
  cfg.itl_ms = 10;
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.duration_s = 0.6;
  o.max_concurrency = 2;
  o.output_len = 3;  // ~40 ms per request: ~30 requests in 0.6 s on 2 slots
  const BenchServeResult r = run_ok(o);
  EXPECT_GE(r.requests.size(), 10u);
  EXPECT_LE(r.requests.size(), 32u);
  EXPECT_EQ(r.peak_concurrency, 2);
  EXPECT_EQ(r.n_not_sent, 0);
  for (const RequestRecord& q : r.requests) {
    EXPECT_TRUE(q.success) << q.error;
    EXPECT_LT(q.arrival_s, 0.6);
  }
  EXPECT_GE(r.duration_s, 0.6);
  EXPECT_LE(r.duration_s, 0.6 + kOutlierMs / 1e3 + 0.1);
}

TEST(BenchServe, WarmupsAreSentButNotMeasured) {
  ScriptedServer server(ScriptConfig{});
  BenchServeOptions o = options_for(server);
  o.num_prompts = 4;
  o.num_warmups = 3;
  o.output_len = 2;
  const BenchServeResult r = run_ok(o);
  EXPECT_EQ(server.n_requests(), 7);
  EXPECT_EQ(r.requests.size(), 4u);
  EXPECT_EQ(r.n_warmups, 3);
  EXPECT_EQ(r.n_warmups_failed, 0);
}

TEST(BenchServe, UnreachableServerFailsRequestsNotTheProcess) {
  // Nothing listens on port 1 of the loopback: connections are refused at once.
  BenchServeOptions o;
  o.base_url = "http://127.0.0.1:1";
  o.model = "m";
  o.num_prompts = 3;
  const BenchServeResult r = run_ok(o);
  ASSERT_EQ(r.requests.size(), 3u);
  for (const RequestRecord& q : r.requests) {
    EXPECT_FALSE(q.success);
    EXPECT_EQ(q.http_status, 0);
    EXPECT_NE(q.error.find("connection error"), std::string::npos) << q.error;
  }
  // Without --model the model list is needed, and its absence is an error, not a crash.
  o.model.clear();
  EXPECT_FALSE(run_bench_serve(o).is_ok());
}

TEST(BenchServe, InvalidOptionsAreRejected) {
  BenchServeOptions o;
  o.endpoint = BenchEndpoint::kChat;  // with token-id prompts
  EXPECT_FALSE(validate(o).is_ok());
  o = {};
  o.duration_s = 5;  // unbounded and unpaced
  EXPECT_FALSE(validate(o).is_ok());
  o.max_concurrency = 4;
  EXPECT_TRUE(validate(o).is_ok());
  o = {};
  o.range_ratio = 1.0;
  EXPECT_FALSE(validate(o).is_ok());
  o = {};
  o.percentiles = {101};
  EXPECT_FALSE(validate(o).is_ok());
  o = {};
  o.base_url = "localhost:8000";
  EXPECT_FALSE(validate(o).is_ok());
}

TEST(BenchServe, JsonReportHasSummaryAndRecords) {
  ScriptConfig cfg;
  cfg.ttft_ms = 10;
  cfg.itl_ms = 3;
  cfg.behavior = [](int64_t k) { return k == 2 ? Behavior::kStatus429 : Behavior::kOk; };
  ScriptedServer server(cfg);
  BenchServeOptions o = options_for(server);
  o.num_prompts = 5;
  o.output_len = 5;
  o.max_concurrency = 1;
  o.percentiles = {50, 90, 99};
  const BenchServeResult r = run_ok(o);
  const BenchServeSummary s = summarize_bench(o, r);
  // Round-trip through text, as a reader of the --json file would see it.
  const nlohmann::json j = nlohmann::json::parse(bench_to_json(o, r, s).dump(2));
  EXPECT_EQ(j["completed"], 4);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["request_rate"], "inf");
  EXPECT_EQ(j["max_concurrency"], 1);
  EXPECT_EQ(j["model_id"], "scripted-model");
  EXPECT_EQ(j["total_output_tokens"], 20);
  for (const char* key : {"duration", "request_throughput", "output_throughput", "total_token_throughput",
                          "max_concurrent_requests", "mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p50_ttft_ms",
                          "p90_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "p99_itl_ms",
                          "mean_e2el_ms", "p99_e2el_ms"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_DOUBLE_EQ(j["mean_ttft_ms"].get<double>(), s.ttft_ms.mean);
  EXPECT_EQ(j["error_summary"].size(), 1u);
  EXPECT_EQ(j["error_summary"][0]["reason"], "HTTP 429: rate limited, slow down");
  EXPECT_EQ(j["failed_http_statuses"]["429"], 1);
  ASSERT_EQ(j["requests"].size(), 5u);
  const nlohmann::json& first = j["requests"][0];
  EXPECT_EQ(first["success"], true);
  EXPECT_EQ(first["itl_ms"].size(), 4u);
  EXPECT_EQ(first["output_tokens"], 5);
  EXPECT_EQ(first["prompt_len"], 16);
  EXPECT_GE(first["ttft_ms"].get<double>(), 10.0);
  EXPECT_GE(first["e2e_ms"].get<double>(), first["ttft_ms"].get<double>());
  const nlohmann::json& failed = j["requests"][2];
  EXPECT_EQ(failed["success"], false);
  EXPECT_EQ(failed["http_status"], 429);
  const std::string table = format_bench_table(o, r, s);
  for (const char* row : {"Successful requests:", "Mean TTFT (ms):", "P90 TPOT (ms):", "P99 ITL (ms):",
                          "Median E2EL (ms):", "Peak concurrent requests:", "Output token throughput (tok/s):"})
    EXPECT_NE(table.find(row), std::string::npos) << row;
}

}  // namespace
}  // namespace dsv4
