// Unit tests of the server's pieces that need no HTTP: error param extraction, typed field
// reading, max_tokens sizing, the choice decoder's stop-string cut and tool-call filter,
// Prometheus histogram text, and cost arithmetic.
#include <gtest/gtest.h>

#include "server/choice_decoder.h"
#include "server/cost.h"
#include "server/generation.h"
#include "server/metrics.h"
#include "server/openai_errors.h"
#include "server/request_fields.h"
#include "server_fixture.h"

namespace dsv4::server::testing {
namespace {

TEST(ServerUnits, ParamComesFromTheMessagePrefix) {
  EXPECT_EQ(param_of_message("messages[3].content: expected a string"), "messages[3].content");
  EXPECT_EQ(param_of_message("logit_bias.50256: 200 is out of range"), "logit_bias.50256");
  EXPECT_EQ(param_of_message("temperature must be a finite number >= 0, got -1"), "temperature");
  EXPECT_EQ(param_of_message("logprobs must be -1 (none) or in [0, 20], got 30"), "top_logprobs");
  EXPECT_EQ(param_of_message("n must be in [1, 16], got 20"), "n");
  EXPECT_EQ(param_of_message("stop: string 0 is empty"), "stop");
  EXPECT_EQ(param_of_message("invalid JSON at byte 3: expected a value"), "");
  EXPECT_EQ(param_of_message("the prompt is empty"), "");
  EXPECT_EQ(param_of_message("nothing"), "");
}

TEST(ServerUnits, ErrorJsonHasOpenAIShape) {
  EXPECT_EQ(
      error_json(bad_request("max_tokens: -1 is out of range [1, 2147483647]")),
      R"({"error":{"message":"max_tokens: -1 is out of range [1, 2147483647]","type":"invalid_request_error","param":"max_tokens","code":null}})");
  const ApiError busy = from_status(resource_exhausted("queue full"), 2);
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.retry_after_s, 2);
  EXPECT_EQ(from_status(internal_error("bug"), 1).status, 500);
  EXPECT_EQ(from_status(::dsv4::unavailable("down"), 1).status, 503);
}

TEST(ServerUnits, FieldReaderTypesAndRanges) {
  const text::JsonValue v =
      *text::parse_json(R"({"a": 5, "b": 5.0, "c": 1e3, "d": 5.5, "e": "x", "f": null, "g": true, "h": -1e309})");
  const FieldReader f(v, "root");
  std::optional<int64_t> i;
  EXPECT_TRUE(f.read_int("a", 0, 10, &i).is_ok());
  EXPECT_EQ(i, 5);
  EXPECT_TRUE(f.read_int("b", 0, 10, &i).is_ok());
  EXPECT_EQ(i, 5);
  EXPECT_EQ(f.read_int("c", 0, 10, &i).message(), "root.c: 1e3 is out of range [0, 10]");
  EXPECT_EQ(f.read_int("d", 0, 10, &i).message(), "root.d: expected an integer, got 5.5");
  EXPECT_EQ(f.read_int("e", 0, 10, &i).message(), "root.e: expected an integer, got string");
  i.reset();
  EXPECT_TRUE(f.read_int("f", 0, 10, &i).is_ok());  // null: not given
  EXPECT_FALSE(i.has_value());
  std::optional<double> d;
  EXPECT_EQ(f.read_number("h", -1, 1, &d).message(), "root.h: -1e309 is out of range [-1, 1]");
  std::optional<bool> b;
  EXPECT_TRUE(f.read_bool("g", &b).is_ok());
  EXPECT_EQ(b, true);
  EXPECT_EQ(f.read_bool("a", &b).message(), "root.a: expected a boolean, got number");
}

TEST(ServerUnits, MaxTokensFitsTheContextAndTheCache) {
  EngineInfo info = test_engine_info();  // 4096 context, 64 x 256 pages
  int32_t m = 0;
  EXPECT_FALSE(fit_max_tokens(info, 100, std::nullopt, "messages", &m));
  EXPECT_EQ(m, 3996);
  EXPECT_FALSE(fit_max_tokens(info, 100, 3996, "messages", &m));
  EXPECT_EQ(m, 3996);
  std::optional<ApiError> e = fit_max_tokens(info, 100, 3997, "messages", &m);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "context_length_exceeded");
  EXPECT_EQ(e->param, "messages");
  e = fit_max_tokens(info, 4096, std::nullopt, "prompt", &m);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("4096 tokens in the prompt"), std::string::npos) << e->message;
  info.kv_pages = 4;  // 1024 tokens of cache: smaller than the context
  EXPECT_FALSE(fit_max_tokens(info, 100, std::nullopt, "messages", &m));
  EXPECT_EQ(m, 924);
  e = fit_max_tokens(info, 100, 2000, "messages", &m);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "max_tokens");
  EXPECT_NE(e->message.find("cache holds 1024"), std::string::npos);
}

std::vector<GeneratedToken> gen_tokens(const text::Tokenizer& tok, const std::string& text) {
  std::vector<GeneratedToken> out;
  for (int32_t id : tok.encode(text, false)) out.push_back({id, 0.0f, {}});
  return out;
}

TEST(ServerUnits, DecoderCutsAtTheStopStringAndCountsReasoning) {
  const text::Tokenizer* tok = test_tokenizer();
  ASSERT_NE(tok, nullptr);
  ChoiceDecoderOptions o;
  o.stops = {"END"};
  ChoiceDecoder d(*tok, tok->token_to_id("</think>"), o);
  std::vector<text::OutputEvent> ev;
  StreamEvent a;
  a.tokens = gen_tokens(*tok, "a b c</think>answer ");
  d.push(a, &ev);
  StreamEvent b;
  b.tokens = gen_tokens(*tok, "isENDING");
  b.finish = FinishReason::kStop;
  b.stop_reason = "END";
  d.push(b, &ev);
  ASSERT_TRUE(d.finished());
  EXPECT_EQ(d.summary().reasoning, "a b c");
  EXPECT_EQ(d.summary().content, "answer is");
  EXPECT_EQ(d.n_reasoning_tokens(), static_cast<int64_t>(tok->encode("a b c</think>", false).size()));
  std::string streamed;
  for (const text::OutputEvent& e : ev) {
    if (e.kind == text::OutputEventKind::kContentDelta) streamed += e.text;
  }
  EXPECT_EQ(streamed, "answer is");
}

TEST(ServerUnits, DecoderRawModeSkipsSpecialTokensAndKeepsText) {
  const text::Tokenizer* tok = test_tokenizer();
  ASSERT_NE(tok, nullptr);
  ChoiceDecoderOptions o;
  o.parse_chat = false;
  o.skip_special_tokens = true;
  ChoiceDecoder d(*tok, -1, o);
  std::vector<text::OutputEvent> ev;
  StreamEvent a;
  a.tokens = gen_tokens(*tok, "x<｜begin▁of▁sentence｜>y</think>");
  a.finish = FinishReason::kLength;
  d.push(a, &ev);
  EXPECT_EQ(d.summary().content, "xy</think>");  // </think> is an added token, not a special one
}

TEST(ServerUnits, HistogramTextIsCumulative) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(3.0);
  std::string out;
  h.render("m", "k=\"v\"", &out);
  EXPECT_EQ(out,
            "m_bucket{k=\"v\",le=\"0.1\"} 1\n"
            "m_bucket{k=\"v\",le=\"1\"} 3\n"
            "m_bucket{k=\"v\",le=\"+Inf\"} 4\n"
            "m_sum{k=\"v\"} 4.05\n"
            "m_count{k=\"v\"} 4\n");
}

TEST(ServerUnits, CostSplitsCachedAndUncachedInput) {
  Usage u;
  u.prompt_tokens = 1000;
  u.cached_prompt_tokens = 400;
  u.completion_tokens = 200;
  Prices p;
  p.input = 0.14;
  p.cached_input = 0.028;
  p.output = 0.28;
  const Cost c = compute_cost(u, p);
  EXPECT_NEAR(c.input, 600 * 0.14e-6, 1e-15);
  EXPECT_NEAR(c.cached_input, 400 * 0.028e-6, 1e-15);
  EXPECT_NEAR(c.output, 200 * 0.28e-6, 1e-15);
  const Json j = usage_json(u, 50, p);
  EXPECT_EQ(
      dump_json(j),
      R"({"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":400},)"
      R"("completion_tokens_details":{"reasoning_tokens":50},"prompt_cache_hit_tokens":400,"prompt_cache_miss_tokens":600,)"
      R"("cost":0.0001512,"cost_details":{"input_cost":8.4e-05,"cached_input_cost":1.12e-05,"output_cost":5.6e-05}})");
  EXPECT_FALSE(usage_json(u, 0, Prices{}).contains("cost"));
  EXPECT_EQ(usd_text(0.0001512), "0.0001512");
  EXPECT_EQ(usd_text(1.26e-06), "0.00000126");
  EXPECT_EQ(usd_text(0.0), "0");
  EXPECT_EQ(usd_text(12.5), "12.5");
}

}  // namespace
}  // namespace dsv4::server::testing
