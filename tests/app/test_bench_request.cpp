// The network-free pieces of `dsv4 bench serve`: SSE framing, base URLs, the reading of a
// completion stream into a request record, request bodies and the arrival process.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "app/bench_serve_request.h"
#include "app/sse_client.h"

namespace dsv4 {
namespace {

std::vector<std::string> parse_all(const std::vector<std::string>& pieces, bool finish = true) {
  SseParser p;
  std::vector<std::string> events;
  auto on = [&](std::string_view d) {
    events.emplace_back(d);
    return true;
  };
  for (const std::string& piece : pieces) EXPECT_TRUE(p.feed(piece, on));
  if (finish) {
    EXPECT_TRUE(p.finish(on));
  }
  return events;
}

TEST(SseParser, EventsSplitAnywhere) {
  const std::string stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
  const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}", "[DONE]"};
  EXPECT_EQ(parse_all({stream}), want);
  // Every split point, including inside "data:" and between the two newlines.
  for (size_t cut = 0; cut <= stream.size(); ++cut)
    EXPECT_EQ(parse_all({stream.substr(0, cut), stream.substr(cut)}), want) << "cut at " << cut;
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(parse_all(bytes), want);
}

TEST(SseParser, LineEndingsCommentsAndFields) {
  // CRLF, lone CR, a CRLF split across reads, a comment, other fields, "data:" without a
  // space, and a multi-line data field.
  const std::vector<std::string> got =
      parse_all({"data: one\r\n\r\n: keep-alive\n\nevent: x\rdata:two\r", "\n\r\n", "id: 7\ndata: a\ndata: b\n\n"});
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "a\nb"}));
}

TEST(SseParser, FinishFlushesUnterminatedEvent) {
  EXPECT_EQ(parse_all({"data: [DONE]"}), std::vector<std::string>{"[DONE]"});
  EXPECT_EQ(parse_all({"data: [DONE]\n"}), std::vector<std::string>{"[DONE]"});
  EXPECT_TRUE(parse_all({"data: x\n"}, /*finish=*/false).empty());
  EXPECT_TRUE(parse_all({": only a comment\n\n"}).empty());
}

TEST(SseParser, CallbackStopsParse) {
  SseParser p;
  int n = 0;
  EXPECT_FALSE(p.feed("data: 1\n\ndata: 2\n\n", [&](std::string_view) { return ++n < 1; }));
  EXPECT_EQ(n, 1);
}

TEST(BaseUrl, Parses) {
  Result<BaseUrl> a = parse_base_url("http://127.0.0.1:8000");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->scheme_host_port, "http://127.0.0.1:8000");
  EXPECT_EQ(a->path_prefix, "");
  Result<BaseUrl> b = parse_base_url("https://example.com/api/");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->scheme_host_port, "https://example.com");
  EXPECT_EQ(b->path_prefix, "/api");
  EXPECT_FALSE(parse_base_url("127.0.0.1:8000").is_ok());
  EXPECT_FALSE(parse_base_url("ftp://x").is_ok());
  EXPECT_FALSE(parse_base_url("http://").is_ok());
}

SseStreamResult ok_stream(int64_t n_events) {
  SseStreamResult s;
  s.http_status = 200;
  s.content_type = "text/event-stream";
  s.n_events = n_events;
  return s;
}

TEST(StreamAccounting, CompletionStreamTimings) {
  StreamAccounting a;
  RequestRecord rec;
  rec.prompt_len = 5;
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"a"}]})", 0.100));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":""}]})", 0.110));  // empty: not a token
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"b"}]})", 0.130));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"c"}]})", 0.170));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"","finish_reason":"length"}]})", 0.171));
  EXPECT_TRUE(a.on_event(R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}})", 0.172));
  EXPECT_TRUE(a.on_event("[DONE]", 0.180));
  EXPECT_TRUE(a.on_event("garbage after done is ignored", 0.190));
  a.finish(ok_stream(8), 0.2, 10, rec);
  EXPECT_TRUE(rec.success) << rec.error;
  EXPECT_DOUBLE_EQ(rec.ttft_s, 0.100);
  ASSERT_EQ(rec.itl_s.size(), 2u);
  EXPECT_NEAR(rec.itl_s[0], 0.030, 1e-12);
  EXPECT_NEAR(rec.itl_s[1], 0.040, 1e-12);
  EXPECT_DOUBLE_EQ(rec.e2e_s, 0.180);  // at [DONE], not at the end of the connection
  EXPECT_DOUBLE_EQ(rec.last_token_s, 0.170);
  EXPECT_EQ(rec.n_token_chunks, 3);
  EXPECT_EQ(rec.output_tokens, 4);  // usage wins over counting chunks
  EXPECT_EQ(rec.prompt_tokens, 9);
  EXPECT_TRUE(rec.usage_reported);
}

TEST(StreamAccounting, ChatRoleChunkIsNotFirstToken) {
  StreamAccounting a;
  RequestRecord rec;
  rec.prompt_len = 3;
  EXPECT_TRUE(a.on_event(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})", 0.001));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"delta":{"reasoning_content":"hmm"}}]})", 0.050));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"delta":{"content":"hi"}}]})", 0.060));
  EXPECT_TRUE(a.on_event(R"({"choices":[{"delta":{"tool_calls":[{"index":0}]}}]})", 0.070));
  EXPECT_TRUE(a.on_event("[DONE]", 0.080));
  a.finish(ok_stream(5), 0.08, 10, rec);
  EXPECT_TRUE(rec.success) << rec.error;
  EXPECT_DOUBLE_EQ(rec.ttft_s, 0.050);
  EXPECT_EQ(rec.output_tokens, 3);  // no usage: token-carrying chunks
  EXPECT_FALSE(rec.usage_reported);
  EXPECT_EQ(rec.prompt_tokens, 3);  // no usage: the requested length
}

TEST(StreamAccounting, FailureReasons) {
  {
    StreamAccounting a;
    RequestRecord rec;
    EXPECT_FALSE(a.on_event("{not json", 0.01));
    a.finish(ok_stream(1), 0.01, 10, rec);
    EXPECT_FALSE(rec.success);
    EXPECT_NE(rec.error.find("malformed SSE data"), std::string::npos) << rec.error;
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    EXPECT_FALSE(a.on_event(R"({"error":{"message":"out of pages"}})", 0.01));
    a.finish(ok_stream(1), 0.01, 10, rec);
    EXPECT_EQ(rec.error, "error event in stream: out of pages");
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"a"}]})", 0.01));
    a.finish(ok_stream(1), 0.02, 10, rec);
    EXPECT_EQ(rec.error, "stream ended without [DONE]");
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    SseStreamResult s = ok_stream(0);
    s.content_type = "application/json";
    a.finish(s, 0.02, 10, rec);
    EXPECT_EQ(rec.error, "no SSE events in the response (Content-Type: application/json)");
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    EXPECT_TRUE(a.on_event("[DONE]", 0.01));
    a.finish(ok_stream(1), 0.01, 10, rec);
    EXPECT_EQ(rec.error, "no generated tokens in the stream");
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    SseStreamResult s;
    s.http_status = 429;
    s.error_body = R"({"error":{"message":"slow\ndown","type":"rate_limit"}})";
    a.finish(s, 0.01, 10, rec);
    EXPECT_EQ(rec.error, "HTTP 429: slow down");
    EXPECT_EQ(rec.http_status, 429);
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"a"}]})", 0.01));
    SseStreamResult s = ok_stream(1);
    s.cancelled = true;
    s.transport_error = "cancelled";
    a.finish(s, 0.5, 0.5, rec);
    EXPECT_EQ(rec.error, "timeout: no complete response within 0.5 s");
    EXPECT_DOUBLE_EQ(rec.e2e_s, 0.5);
  }
  {
    StreamAccounting a;
    RequestRecord rec;
    SseStreamResult s;
    s.transport_error = "connection error: Connection";
    a.finish(s, 0.01, 10, rec);
    EXPECT_EQ(rec.error, "connection error: Connection before [DONE]");
  }
}

TEST(StreamAccounting, ConnectionResetAfterDoneStillSucceeds) {
  StreamAccounting a;
  RequestRecord rec;
  EXPECT_TRUE(a.on_event(R"({"choices":[{"text":"a"}]})", 0.01));
  EXPECT_TRUE(a.on_event("[DONE]", 0.02));
  SseStreamResult s = ok_stream(2);
  s.transport_error = "connection error: Read";
  a.finish(s, 0.03, 10, rec);
  EXPECT_TRUE(rec.success) << rec.error;
}

TEST(ErrorBodyReason, Shapes) {
  EXPECT_EQ(error_body_reason(R"({"error":{"message":"m1"}})"), "m1");
  EXPECT_EQ(error_body_reason(R"({"error":"m2"})"), "m2");
  EXPECT_EQ(error_body_reason(R"({"detail":"m3"})"), "m3");
  EXPECT_EQ(error_body_reason("plain\ntext"), "plain text");
  EXPECT_EQ(error_body_reason(""), "(empty body)");
}

TEST(RequestSpec, CompletionBodyWithTokenIds) {
  BenchServeOptions o;
  o.input_len = 50;
  o.output_len = 7;
  o.min_token_id = 10;
  o.max_token_id = 20;
  o.seed = 3;
  const RequestSpec spec = make_request_spec(o, "m", 4, 0);
  const nlohmann::json j = nlohmann::json::parse(spec.body);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["max_tokens"], 7);
  EXPECT_EQ(j["min_tokens"], 7);
  EXPECT_EQ(j["ignore_eos"], true);
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(j["stream_options"]["include_usage"], true);
  EXPECT_EQ(j["temperature"], 0.0);
  ASSERT_TRUE(j["prompt"].is_array());
  EXPECT_EQ(j["prompt"].size(), 50u);
  for (const auto& id : j["prompt"]) {
    EXPECT_GE(id.get<int>(), 10);
    EXPECT_LE(id.get<int>(), 20);
  }
  // Reproducible from (seed, index, stream); different for another index or stream.
  EXPECT_EQ(make_request_spec(o, "m", 4, 0).body, spec.body);
  EXPECT_NE(make_request_spec(o, "m", 5, 0).body, spec.body);
  EXPECT_NE(make_request_spec(o, "m", 4, 1).body, spec.body);
}

TEST(RequestSpec, ChatBodyTextAndExtraBody) {
  BenchServeOptions o;
  o.endpoint = BenchEndpoint::kChat;
  o.prompt_format = PromptFormat::kText;
  o.input_len = 12;
  o.temperature = 0.7;
  o.extra_body = {{"chat_template_kwargs", {{"thinking", false}}}, {"temperature", 0.5}};
  const nlohmann::json j = nlohmann::json::parse(make_request_spec(o, "m", 0, 0).body);
  ASSERT_TRUE(j.contains("messages"));
  EXPECT_FALSE(j.contains("prompt"));
  EXPECT_EQ(j["messages"][0]["role"], "user");
  const std::string text = j["messages"][0]["content"];
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 11);  // 12 words
  EXPECT_EQ(j["chat_template_kwargs"]["thinking"], false);
  EXPECT_EQ(j["temperature"], 0.5);  // --extra-body overrides
}

TEST(RequestSpec, LengthsCoverTheRange) {
  std::mt19937_64 rng(1);
  int64_t lo = 1000, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const int64_t v = sample_length(100, 0.25, rng);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 75);
  EXPECT_EQ(hi, 125);
  EXPECT_EQ(sample_length(100, 0.0, rng), 100);
  EXPECT_EQ(sample_length(1, 0.9, rng) >= 1, true);
}

TEST(ArrivalProcess, PoissonAndGammaMoments) {
  // Mean interval 1/rate for every burstiness; coefficient of variation 1/sqrt(burstiness)
  // (1 for a Poisson process). 20000 samples: relative standard errors below 1%.
  for (double burstiness : {1.0, 0.25, 4.0}) {
    ArrivalProcess a(50.0, burstiness, 7);
    const int n = 20000;
    double sum = 0, sq = 0;
    for (int i = 0; i < n; ++i) {
      const double x = a.next_interval();
      sum += x;
      sq += x * x;
    }
    const double mean = sum / n;
    const double var = sq / n - mean * mean;
    EXPECT_NEAR(mean, 0.02, 0.02 * 0.04) << burstiness;
    EXPECT_NEAR(std::sqrt(var) / mean, 1.0 / std::sqrt(burstiness), 0.06) << burstiness;
  }
  ArrivalProcess unpaced(std::numeric_limits<double>::infinity(), 1.0, 7);
  EXPECT_EQ(unpaced.next_interval(), 0.0);
}

}  // namespace
}  // namespace dsv4
