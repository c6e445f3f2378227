// Chat request options as the prompt and the engine request show them: thinking controls,
// tool_choice policies (none, required, named, parallel), response_format json_object,
// stop-string trimming, sampling parameters, default max_tokens, multi-turn tool
// conversations with reasoning passed back, model names, usage and cost.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace dsv4::server::testing {
namespace {

const std::string kDsml = "｜DSML｜";

json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

json one_tool() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
}

// One event with the tokens of `first`, then the final event carrying the tokens of `last`
// (the engine releases the tokens that complete a stop-string match with the finish).
Script pieces_script_helper(const std::string& first, const std::string& last) {
  const text::Tokenizer& tok = *test_tokenizer();
  Script s;
  StreamEvent a;
  for (int32_t id : tok.encode(first, false)) a.tokens.push_back({id, 0.0f, {}});
  s.events.push_back(a);
  StreamEvent b;
  for (int32_t id : tok.encode(last, false)) b.tokens.push_back({id, 0.0f, {}});
  b.finish = FinishReason::kStop;
  s.events.push_back(b);
  return s;
}

class ChatOptionsTest : public ServerTest {
 protected:
  // Sends a chat request and returns the prompt text the engine received.
  std::string prompt_of(const json& body, int expect_status = 200) {
    engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "</think>ok"); });
    httplib::Result r = post_json("/v1/chat/completions", body);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return tok().decode(engine().last_request().prompt);
  }
  json chat(const json& body, const std::string& output) {
    engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), output, 2); });
    httplib::Result r = post_json("/v1/chat/completions", body);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  }
  static bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  }
};

TEST_F(ChatOptionsTest, ThinkingControlsAndEffortMapping) {
  start();
  const json msgs = {user("Hi")};
  EXPECT_TRUE(ends_with(prompt_of({{"messages", msgs}}), "<｜User｜>Hi<｜Assistant｜><think>"));  // default on
  EXPECT_TRUE(
      ends_with(prompt_of({{"messages", msgs}, {"thinking", {{"type", "disabled"}}}}), "<｜Assistant｜></think>"));
  EXPECT_TRUE(ends_with(prompt_of({{"messages", msgs}, {"reasoning_effort", "none"}}), "<｜Assistant｜></think>"));
  EXPECT_TRUE(ends_with(prompt_of({{"messages", msgs}, {"chat_template_kwargs", {{"thinking", false}}}}),
                        "<｜Assistant｜></think>"));
  EXPECT_TRUE(ends_with(prompt_of({{"messages", msgs}, {"chat_template_kwargs", {{"enable_thinking", false}}}}),
                        "<｜Assistant｜></think>"));
  // The explicit thinking field wins over reasoning_effort "none".
  EXPECT_TRUE(ends_with(
      prompt_of({{"messages", msgs}, {"reasoning_effort", "none"}, {"thinking", {{"type", "enabled"}}}}), "<think>"));
  for (const char* high : {"low", "medium", "high", "minimal"}) {
    const std::string p = prompt_of({{"messages", msgs}, {"reasoning_effort", high}});
    EXPECT_EQ(p.find("Reasoning Effort: Absolute maximum"), std::string::npos) << high;
    EXPECT_TRUE(ends_with(p, "<think>")) << high;
  }
  for (const char* max : {"xhigh", "max"}) {
    const std::string p = prompt_of({{"messages", msgs}, {"reasoning_effort", max}});
    EXPECT_EQ(p.find("<｜begin▁of▁sentence｜>Reasoning Effort: Absolute maximum"), 0u) << max;
  }
  EXPECT_EQ(prompt_of({{"messages", msgs}, {"chat_template_kwargs", {{"reasoning_effort", "max"}}}})
                .find("Reasoning Effort: Absolute maximum"),
            std::string("<｜begin▁of▁sentence｜>").size());
  // Non-thinking responses carry no reasoning_content field.
  const json r = chat({{"messages", msgs}, {"thinking", {{"type", "disabled"}}}}, "plain");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "plain");
  EXPECT_FALSE(r["choices"][0]["message"].contains("reasoning_content"));
}

TEST_F(ChatOptionsTest, DefaultThinkingFollowsTheConfig) {
  ServerConfig c = default_config();
  c.default_thinking = false;
  start(c);
  EXPECT_TRUE(ends_with(prompt_of({{"messages", {user("Hi")}}}), "<｜Assistant｜></think>"));
  EXPECT_TRUE(ends_with(prompt_of({{"messages", {user("Hi")}}, {"thinking", {{"type", "enabled"}}}}), "<think>"));
}

TEST_F(ChatOptionsTest, ToolChoiceNoneHidesToolsAndDropsCalls) {
  start();
  const std::string with_tools = prompt_of({{"messages", {user("w?")}}, {"tools", one_tool()}});
  EXPECT_NE(with_tools.find("## Tools"), std::string::npos);
  const std::string none = prompt_of({{"messages", {user("w?")}}, {"tools", one_tool()}, {"tool_choice", "none"}});
  EXPECT_EQ(none.find("## Tools"), std::string::npos);
  const std::string out = "</think>Sure.\n\n<" + kDsml + "tool_calls>\n<" + kDsml + "invoke name=\"get_weather\">\n<" +
                          kDsml + "parameter name=\"city\" string=\"true\">Oslo</" + kDsml + "parameter>\n</" + kDsml +
                          "invoke>\n</" + kDsml + "tool_calls>";
  const json r = chat({{"messages", {user("w?")}}, {"tools", one_tool()}, {"tool_choice", "none"}}, out);
  const json& c = r["choices"][0];
  EXPECT_EQ(c["message"]["content"], "Sure.");
  EXPECT_FALSE(c["message"].contains("tool_calls"));
  EXPECT_EQ(c["finish_reason"], "stop");
  EXPECT_EQ(r.dump().find("DSML"), std::string::npos);
}

TEST_F(ChatOptionsTest, NamedToolChoicePrefillsTheCallWithoutThinking) {
  start();
  const json body = {{"messages", {user("weather in Rome")}},
                     {"tools", one_tool()},
                     {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
                     {"thinking", {{"type", "disabled"}}}};
  const std::string p = prompt_of(body);
  EXPECT_TRUE(ends_with(
      p, "<｜Assistant｜></think>\n\n<" + kDsml + "tool_calls>\n<" + kDsml + "invoke name=\"get_weather\">\n"))
      << p.substr(p.size() - 120);
  const std::string rest = "<" + kDsml + "parameter name=\"city\" string=\"true\">Rome</" + kDsml + "parameter>\n</" +
                           kDsml + "invoke>\n</" + kDsml + "tool_calls>";
  const json r = chat(body, rest);
  const json& c = r["choices"][0];
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u) << r.dump();
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(c["message"]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Rome\"}");
  EXPECT_TRUE(c["message"]["content"].is_null());
  EXPECT_EQ(c["finish_reason"], "tool_calls");

  // Streaming: the call's first fragment (with the name from the prefill) comes first.
  json sbody = body;
  sbody["stream"] = true;
  engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), rest, 1); });
  httplib::Result s = post_json("/v1/chat/completions", sbody);
  ASSERT_TRUE(s);
  const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(s->body)));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].tool_calls.size(), 1u);
  EXPECT_EQ(a[0].tool_calls[0].name, "get_weather");
  EXPECT_EQ(a[0].tool_calls[0].arguments, "{\"city\": \"Rome\"}");
}

TEST_F(ChatOptionsTest, RequiredToolChoiceLetsTheModelNameTheTool) {
  start();
  const json body = {{"messages", {user("weather")}},
                     {"tools", one_tool()},
                     {"tool_choice", "required"},
                     {"reasoning_effort", "none"}};
  const std::string p = prompt_of(body);
  EXPECT_TRUE(ends_with(p, "<" + kDsml + "invoke name=\""));
  const std::string rest = "get_weather\">\n<" + kDsml + "parameter name=\"city\" string=\"true\">Oslo</" + kDsml +
                           "parameter>\n</" + kDsml + "invoke>\n</" + kDsml + "tool_calls>";
  const json r = chat(body, rest);
  ASSERT_EQ(r["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Oslo\"}");
  // In thinking mode DeepSeek's API refuses forced calls; so does the server.
  const std::string refused =
      prompt_of({{"messages", {user("weather")}}, {"tools", one_tool()}, {"tool_choice", "required"}}, 400);
  (void)refused;
}

TEST_F(ChatOptionsTest, ParallelToolCallsFalseKeepsTheFirstCall) {
  start();
  std::string out = "</think>\n\n<" + kDsml + "tool_calls>\n";
  for (const char* city : {"A", "B"}) {
    out += "<" + kDsml + "invoke name=\"get_weather\">\n<" + kDsml + "parameter name=\"city\" string=\"true\">" + city +
           "</" + kDsml + "parameter>\n</" + kDsml + "invoke>\n";
  }
  out += "</" + kDsml + "tool_calls>";
  const json both = chat({{"messages", {user("w")}}, {"tools", one_tool()}}, out);
  EXPECT_EQ(both["choices"][0]["message"]["tool_calls"].size(), 2u);
  const json first = chat({{"messages", {user("w")}}, {"tools", one_tool()}, {"parallel_tool_calls", false}}, out);
  ASSERT_EQ(first["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(first["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"A\"}");
}

TEST_F(ChatOptionsTest, MalformedToolCallIsReportedNotLeaked) {
  start();
  const std::string out = "</think>Let me call.\n\n<" + kDsml + "tool_calls>\n<" + kDsml + "invoke nme=\"x\">oops</" +
                          kDsml + "tool_calls>";
  const json r = chat({{"messages", {user("w")}}, {"tools", one_tool()}}, out);
  const json& c = r["choices"][0];
  EXPECT_EQ(c["message"]["content"], "Let me call.");
  EXPECT_FALSE(c["message"].contains("tool_calls"));
  EXPECT_EQ(c["finish_reason"], "stop");
  EXPECT_EQ(c["output_error"]["type"], "malformed_tool_call");
  EXPECT_EQ(r.dump().find("DSML"), std::string::npos);
  // Cut by max_tokens inside the block: an unfinished call, finish_reason "length".
  engine().set_responder([&](const GenerationRequest&) {
    return grouped_script(tok(),
                          "</think>\n\n<" + kDsml + "tool_calls>\n<" + kDsml + "invoke name=\"get_weather\">\n<" +
                              kDsml + "parameter name=\"city\" string=\"true\">Os",
                          3, FinishReason::kLength, "");
  });
  httplib::Result cut = post_json("/v1/chat/completions", {{"messages", {user("w")}}, {"tools", one_tool()}});
  ASSERT_TRUE(cut);
  const json cj = json::parse(cut->body);
  EXPECT_EQ(cj["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(cj["choices"][0]["output_error"]["type"], "unfinished_tool_call");
  EXPECT_EQ(cut->body.find("DSML"), std::string::npos);
}

TEST_F(ChatOptionsTest, JsonObjectRendersTheBlockAndChecksTheReply) {
  start();
  const json body = {{"messages", {user("give json")}}, {"response_format", {{"type", "json_object"}}}};
  const std::string p = prompt_of(body);
  EXPECT_NE(p.find("## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n{\"type\": "
                   "\"json_object\"}"),
            std::string::npos);
  const json good = chat(body, "thinking</think> {\"a\": [1, 2]}\n");
  EXPECT_FALSE(good["choices"][0].contains("output_error")) << good.dump();
  const json bad = chat(body, "thinking</think>```json\n{\"a\": 1}\n```");
  EXPECT_EQ(bad["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(bad["choices"][0]["output_error"]["type"], "invalid_json");
  const json array = chat(body, "</think>[1]");
  EXPECT_EQ(array["choices"][0]["output_error"]["type"], "invalid_json");
  // Plain text format changes nothing.
  EXPECT_EQ(prompt_of({{"messages", {user("x")}}, {"response_format", {{"type", "text"}}}}).find("Response Format"),
            std::string::npos);
}

TEST_F(ChatOptionsTest, StopStringsCutTheTextAtTheMatch) {
  start();
  // The engine releases the tokens that complete the match; the server cuts at its start.
  engine().set_responder([&](const GenerationRequest& req) {
    EXPECT_EQ(req.sampling.stop, (std::vector<std::string>{"STOP", "never"}));
    Script s = pieces_script_helper("</think>Hello world", " and STOP here");
    s.events.back().stop_reason = "STOP";
    return s;
  });
  httplib::Result r = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"stop", {"STOP", "never"}}});
  ASSERT_TRUE(r);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello world and ");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  // Streaming never sends text past the match, and a match inside a token cuts mid-token.
  engine().set_responder([&](const GenerationRequest&) {
    Script s = pieces_script_helper("</think>abc", "xyzQ");
    s.events.back().stop_reason = "yz";
    return s;
  });
  httplib::Result st = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"stop", "yz"}, {"stream", true}});
  ASSERT_TRUE(st);
  const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(st->body)));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].content, "abcx");
  // No choice of any chunk carries the match (the raw body is not searched: the random
  // completion id may contain "yz").
  for (const json& chunk : chunks_of(parse_sse(st->body)))
    EXPECT_EQ(chunk["choices"].dump().find("yz"), std::string::npos) << chunk.dump();
}

TEST_F(ChatOptionsTest, SamplingParametersReachTheEngine) {
  start();
  const json body = {{"messages", {user("x")}},
                     {"temperature", 0.7},
                     {"top_p", 0.9},
                     {"top_k", 40},
                     {"min_p", 0.05},
                     {"presence_penalty", 0.5},
                     {"frequency_penalty", -0.5},
                     {"repetition_penalty", 1.1},
                     {"seed", 1234},
                     {"n", 3},
                     {"logit_bias", {{"100", -100}, {"7", 5.5}}},
                     {"max_tokens", 50},
                     {"max_completion_tokens", 40},
                     {"stop_token_ids", {5, 6}},
                     {"min_tokens", 2},
                     {"ignore_eos", true}};
  prompt_of(body);
  const SamplingParams p = engine().last_request().sampling;
  EXPECT_DOUBLE_EQ(p.temperature, 0.7);
  EXPECT_DOUBLE_EQ(p.top_p, 0.9);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_DOUBLE_EQ(p.min_p, 0.05);
  EXPECT_DOUBLE_EQ(p.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(p.frequency_penalty, -0.5);
  EXPECT_DOUBLE_EQ(p.repetition_penalty, 1.1);
  EXPECT_EQ(p.seed, std::optional<uint64_t>(1234));
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.max_tokens, 40);  // max_completion_tokens wins
  EXPECT_EQ(p.stop_token_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(p.min_tokens, 2);
  EXPECT_TRUE(p.ignore_eos);
  ASSERT_EQ(p.logit_bias.size(), 2u);
  EXPECT_EQ(p.logit_bias[0], (std::pair<int32_t, float>{100, -100.0f}));
  EXPECT_EQ(p.logit_bias[1], (std::pair<int32_t, float>{7, 5.5f}));
  EXPECT_EQ(p.logprobs, -1);
}

TEST_F(ChatOptionsTest, DefaultMaxTokensFillsTheContext) {
  start();
  prompt_of({{"messages", {user("x")}}});
  const GenerationRequest r = engine().last_request();
  EXPECT_EQ(r.sampling.max_tokens, 4096 - static_cast<int32_t>(r.prompt.size()));
}

TEST_F(ChatOptionsTest, ToolConversationWithReasoningPassedBack) {
  start();
  const json msgs = {{{"role", "system"}, {"content", "Be brief."}},
                     user("weather in Oslo?"),
                     {{"role", "assistant"},
                      {"content", ""},
                      {"reasoning_content", "Need the tool."},
                      {"tool_calls",
                       {{{"id", "call_1"},
                         {"type", "function"},
                         {"function", {{"name", "get_weather"}, {"arguments", "{\"city\": \"Oslo\"}"}}}}}}},
                     {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "-3C, snow"}}};
  const std::string p = prompt_of({{"messages", msgs}, {"tools", one_tool()}});
  EXPECT_NE(p.find("Need the tool.</think>"), std::string::npos);  // tools present: reasoning kept
  EXPECT_NE(p.find("<tool_result>-3C, snow</tool_result>"), std::string::npos);
  EXPECT_NE(p.find("<" + kDsml + "parameter name=\"city\" string=\"true\">Oslo</" + kDsml + "parameter>"),
            std::string::npos);
  EXPECT_TRUE(ends_with(p, "<｜Assistant｜><think>"));
}

TEST_F(ChatOptionsTest, ModelNamesAreEchoed) {
  ServerConfig c = default_config();
  c.served_model_name = "my-flash";
  start(c);
  for (const char* name : {"my-flash", "deepseek-v4-flash", "deepseek/deepseek-v4-flash"}) {
    const json r = chat({{"model", name}, {"messages", {user("x")}}}, "</think>y");
    EXPECT_EQ(r["model"], name);
  }
  const json r = chat({{"messages", {user("x")}}}, "</think>y");
  EXPECT_EQ(r["model"], "my-flash");
}

TEST_F(ChatOptionsTest, CostIsReportedInHeaderAndUsage) {
  ServerConfig c = default_config();
  c.price_input = 0.14;
  c.price_cached_input = 0.028;
  c.price_output = 0.28;
  start(c);
  engine().set_responder([&](const GenerationRequest&) {
    Script s = text_script(tok(), "</think>four words of output");
    s.cached_prompt_tokens = 2;
    return s;
  });
  httplib::Result r = post_json("/v1/chat/completions", {{"messages", {user("How much?")}}});
  ASSERT_TRUE(r);
  const json u = json::parse(r->body)["usage"];
  const double n_prompt = u["prompt_tokens"].get<double>();
  const double n_out = u["completion_tokens"].get<double>();
  const double expected = (n_prompt - 2) * 0.14e-6 + 2 * 0.028e-6 + n_out * 0.28e-6;
  EXPECT_NEAR(u["cost"].get<double>(), expected, 1e-12);
  EXPECT_NEAR(u["cost_details"]["input_cost"].get<double>(), (n_prompt - 2) * 0.14e-6, 1e-12);
  EXPECT_NEAR(u["cost_details"]["cached_input_cost"].get<double>(), 2 * 0.028e-6, 1e-12);
  EXPECT_NEAR(u["cost_details"]["output_cost"].get<double>(), n_out * 0.28e-6, 1e-12);
  ASSERT_TRUE(r->has_header("x-dsv4-cost-usd"));
  EXPECT_NEAR(std::stod(r->get_header_value("x-dsv4-cost-usd")), expected, 1e-12);
  // Streaming: the usage chunk carries the cost (headers are sent before it is known).
  httplib::Result s =
      post_json("/v1/chat/completions",
                {{"messages", {user("How much?")}}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  ASSERT_TRUE(s);
  EXPECT_NEAR(chunks_of(parse_sse(s->body)).back()["usage"]["cost"].get<double>(), expected, 1e-12);
}

}  // namespace
}  // namespace dsv4::server::testing
