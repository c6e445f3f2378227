// Chat streaming over the scripted engine: SSE bytes in OpenAI's chunk format, reasoning /
// content / tool-call deltas under every chunking, the usage chunk, n > 1, logprobs, and
// streamed output equal to the non-streaming response.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace dsv4::server::testing {
namespace {

const std::string kDsml = "｜DSML｜";

// Reasoning, content and two tool calls, written as the model writes them.
std::string tool_call_output() {
  return "I should look this up.</think>Checking the weather.\n\n<" + kDsml + "tool_calls>\n<" + kDsml +
         "invoke name=\"get_weather\">\n<" + kDsml + "parameter name=\"city\" string=\"true\">Paris \"центр\"</" +
         kDsml + "parameter>\n<" + kDsml + "parameter name=\"days\" string=\"false\">3</" + kDsml + "parameter>\n</" +
         kDsml + "invoke>\n<" + kDsml + "invoke name=\"get_time\">\n<" + kDsml +
         "parameter name=\"tz\" string=\"true\">Europe/Paris</" + kDsml + "parameter>\n</" + kDsml + "invoke>\n</" +
         kDsml + "tool_calls>";
}

json weather_tools() {
  return json::array(
      {{{"type", "function"},
        {"function",
         {{"name", "get_weather"},
          {"description", "Weather for a city"},
          {"parameters",
           {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}}}}}}},
       {{"type", "function"},
        {"function", {{"name", "get_time"}, {"parameters", {{"type", "object"}, {"properties", json::object()}}}}}}});
}

json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

// Events whose tokens are those of each piece, then a final EOS event.
Script pieces_script(const text::Tokenizer& tok, const std::vector<std::string>& pieces) {
  Script s;
  for (const std::string& p : pieces) {
    StreamEvent e;
    for (int32_t id : tok.encode(p, false)) e.tokens.push_back({id, 0.0f, {}});
    s.events.push_back(std::move(e));
  }
  StreamEvent last;
  last.finish = FinishReason::kStop;
  last.stop_reason = "token 1";
  s.events.push_back(last);
  return s;
}

class ChatStreamTest : public ServerTest {};

TEST_F(ChatStreamTest, SseBytesFollowOpenAIChunkFormatExactly) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return pieces_script(tok(), {"Think.", "</think>", "Hi!"}); });
  httplib::Result r = post_json("/v1/chat/completions",
                                {{"model", "deepseek-v4-flash"}, {"messages", {user("hello")}}, {"stream", true}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  const SseEvents ev = parse_sse(r->body);
  ASSERT_TRUE(ev.ok) << ev.error;
  const json first = json::parse(ev.data.at(0));
  const std::string id = first["id"];
  const int64_t created = first["created"];
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  const std::string head =
      "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + std::to_string(created) +
      ",\"model\":\"deepseek-v4-flash\",\"system_fingerprint\":\"fp_dsv4_0.1.0-test\",\"choices\":[";
  const std::string expected =
      head +
      "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}"
      "\n\n" +
      head +
      "{\"index\":0,\"delta\":{\"reasoning_content\":\"Think.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n" +
      head + "{\"index\":0,\"delta\":{\"content\":\"Hi!\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n" + head +
      "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n" + "data: [DONE]\n\n";
  EXPECT_EQ(r->body, expected);
}

TEST_F(ChatStreamTest, UsageChunkComesLastAndEveryOtherChunkHasNullUsage) {
  start();
  engine().set_responder([&](const GenerationRequest&) {
    Script s = pieces_script(tok(), {"Think", " more.", "</think>", "Done."});
    s.cached_prompt_tokens = 3;
    return s;
  });
  httplib::Result r =
      post_json("/v1/chat/completions",
                {{"messages", {user("hello")}}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  ASSERT_TRUE(r);
  const SseEvents ev = parse_sse(r->body);
  ASSERT_TRUE(ev.ok) << ev.error;
  const std::vector<json> chunks = chunks_of(ev);
  ASSERT_GE(chunks.size(), 3u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    ASSERT_TRUE(chunks[i].contains("usage")) << chunks[i].dump();
    EXPECT_TRUE(chunks[i]["usage"].is_null());
  }
  const json& last = chunks.back();
  EXPECT_TRUE(last["choices"].empty());
  const json& u = last["usage"];
  const int64_t n_prompt = static_cast<int64_t>(engine().last_request().prompt.size());
  const int64_t n_reasoning = static_cast<int64_t>(tok().encode("Think more.</think>", false).size());
  EXPECT_EQ(u["prompt_tokens"], n_prompt);
  EXPECT_EQ(u["prompt_tokens_details"]["cached_tokens"], 3);
  EXPECT_EQ(u["prompt_cache_hit_tokens"], 3);
  EXPECT_EQ(u["prompt_cache_miss_tokens"], n_prompt - 3);
  EXPECT_EQ(u["completion_tokens_details"]["reasoning_tokens"], n_reasoning);
  EXPECT_EQ(u["total_tokens"], u["prompt_tokens"].get<int64_t>() + u["completion_tokens"].get<int64_t>());
  EXPECT_FALSE(u.contains("cost"));  // no prices configured
}

// Every chunking of the same output (1..9 tokens per engine event) reassembles to the same
// reasoning, content and tool calls; no chunk carries DSML markup.
TEST_F(ChatStreamTest, ToolCallDeltasReassembleExactlyUnderAnyChunking) {
  start();
  const json body = {{"messages", {user("weather in Paris?")}}, {"tools", weather_tools()}, {"stream", true}};
  for (size_t group = 1; group <= 9; ++group) {
    engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), tool_call_output(), group); });
    httplib::Result r = post_json("/v1/chat/completions", body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body.find("DSML"), std::string::npos) << "group " << group;
    const SseEvents ev = parse_sse(r->body);
    ASSERT_TRUE(ev.ok) << ev.error;
    const std::vector<AssembledChoice> a = assemble_chat(chunks_of(ev));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].role, "assistant");
    EXPECT_EQ(a[0].reasoning_content, "I should look this up.");
    EXPECT_EQ(a[0].content, "Checking the weather.");
    ASSERT_EQ(a[0].tool_calls.size(), 2u) << "group " << group;
    EXPECT_EQ(a[0].tool_calls[0].name, "get_weather");
    EXPECT_EQ(a[0].tool_calls[0].type, "function");
    EXPECT_EQ(a[0].tool_calls[0].arguments, "{\"city\": \"Paris \\\"центр\\\"\", \"days\": 3}");
    EXPECT_EQ(json::parse(a[0].tool_calls[0].arguments)["city"], "Paris \"центр\"");
    EXPECT_EQ(a[0].tool_calls[1].name, "get_time");
    EXPECT_EQ(a[0].tool_calls[1].arguments, "{\"tz\": \"Europe/Paris\"}");
    EXPECT_EQ(a[0].tool_calls[0].id.rfind("call_", 0), 0u);
    EXPECT_NE(a[0].tool_calls[0].id, a[0].tool_calls[1].id);
    EXPECT_EQ(a[0].finish_reason, "tool_calls");
    EXPECT_TRUE(a[0].output_error.is_null());
  }
}

TEST_F(ChatStreamTest, ToolCallChunksHaveOpenAIShape) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), tool_call_output(), 4); });
  httplib::Result r = post_json("/v1/chat/completions",
                                {{"messages", {user("weather?")}}, {"tools", weather_tools()}, {"stream", true}});
  ASSERT_TRUE(r);
  // The first fragment of a call names it with empty arguments; later ones carry only
  // index and an arguments delta.
  EXPECT_NE(r->body.find("\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},"
                         "\"logprobs\":null,\"finish_reason\":null}"),
            std::string::npos);
  EXPECT_NE(r->body.find("\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\""), std::string::npos);
  EXPECT_NE(r->body.find("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}"), std::string::npos);
}

TEST_F(ChatStreamTest, StreamedAndNonStreamedResponsesAgree) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), tool_call_output(), 3); });
  json body = {{"messages", {user("weather?")}}, {"tools", weather_tools()}};
  httplib::Result plain = post_json("/v1/chat/completions", body);
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  const json resp = json::parse(plain->body);
  EXPECT_EQ(resp["object"], "chat.completion");
  const json& msg = resp["choices"][0]["message"];
  body["stream"] = true;
  httplib::Result streamed = post_json("/v1/chat/completions", body);
  ASSERT_TRUE(streamed);
  const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(streamed->body)));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(msg["role"], "assistant");
  EXPECT_EQ(msg["content"], a[0].content);
  EXPECT_EQ(msg["reasoning_content"], a[0].reasoning_content);
  ASSERT_EQ(msg["tool_calls"].size(), a[0].tool_calls.size());
  for (size_t i = 0; i < a[0].tool_calls.size(); ++i) {
    EXPECT_EQ(msg["tool_calls"][i]["function"]["name"], a[0].tool_calls[i].name);
    EXPECT_EQ(msg["tool_calls"][i]["function"]["arguments"], a[0].tool_calls[i].arguments);
    EXPECT_EQ(msg["tool_calls"][i]["type"], "function");
  }
  EXPECT_EQ(resp["choices"][0]["finish_reason"], "tool_calls");
}

TEST_F(ChatStreamTest, ContentWithoutToolsNeverLeaksPartialMarkers) {
  start();
  // Text that looks like the start of markers but is not: must come through as content.
  const std::string out = "</think>a < b and <｜User｜> is literal; 2 </ 3\n\nend";
  for (size_t group = 1; group <= 4; ++group) {
    engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), out, group); });
    httplib::Result r = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"stream", true}});
    ASSERT_TRUE(r);
    const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(r->body)));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].content, "a < b and <｜User｜> is literal; 2 </ 3\n\nend") << "group " << group;
    EXPECT_EQ(a[0].reasoning_content, "");
    EXPECT_EQ(a[0].finish_reason, "stop");
  }
}

TEST_F(ChatStreamTest, SeveralChoicesInterleave) {
  start();
  engine().set_responder([&](const GenerationRequest& req) {
    EXPECT_EQ(req.sampling.n, 2);
    Script a = text_script(tok(), "</think>first answer", FinishReason::kStop, "token 1", 0);
    Script b = text_script(tok(), "</think>second", FinishReason::kLength, "", 1);
    Script s;
    for (size_t i = 0; i < std::max(a.events.size(), b.events.size()); ++i) {
      if (i < a.events.size()) s.events.push_back(a.events[i]);
      if (i < b.events.size()) s.events.push_back(b.events[i]);
    }
    return s;
  });
  httplib::Result r = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"n", 2}, {"stream", true}});
  ASSERT_TRUE(r);
  const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(r->body)));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].content, "first answer");
  EXPECT_EQ(a[0].finish_reason, "stop");
  EXPECT_EQ(a[1].content, "second");
  EXPECT_EQ(a[1].finish_reason, "length");
  EXPECT_EQ(a[0].role, "assistant");
  EXPECT_EQ(a[1].role, "assistant");

  httplib::Result plain = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"n", 2}});
  ASSERT_TRUE(plain);
  const json resp = json::parse(plain->body);
  ASSERT_EQ(resp["choices"].size(), 2u);
  EXPECT_EQ(resp["choices"][1]["index"], 1);
  EXPECT_EQ(resp["choices"][1]["message"]["content"], "second");
  EXPECT_EQ(resp["choices"][1]["finish_reason"], "length");
}

TEST_F(ChatStreamTest, LogprobsCoverEveryTokenOnce) {
  start();
  const std::string out = "</think>Hello there, world.";
  engine().set_responder([&](const GenerationRequest&) { return grouped_script(tok(), out, 2); });
  const json body = {{"messages", {user("x")}}, {"logprobs", true}, {"top_logprobs", 2}, {"stream", true}};
  httplib::Result r = post_json("/v1/chat/completions", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(engine().last_request().sampling.logprobs, 2);
  size_t n = 0;
  std::string text;
  for (const json& c : chunks_of(parse_sse(r->body))) {
    const json& lp = c["choices"][0]["logprobs"];
    if (lp.is_null()) continue;
    for (const json& e : lp["content"]) {
      ++n;
      text += e["token"].get<std::string>();
      EXPECT_EQ(e["logprob"], -0.25);
      EXPECT_EQ(e["top_logprobs"].size(), 2u);
      EXPECT_EQ(e["bytes"].size(), e["token"].get<std::string>().size());
    }
  }
  EXPECT_EQ(n, tok().encode(out, false).size());
  EXPECT_EQ(text, out);

  httplib::Result plain = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"logprobs", true}});
  ASSERT_TRUE(plain);
  const json lp = json::parse(plain->body)["choices"][0]["logprobs"];
  EXPECT_EQ(lp["content"].size(), tok().encode(out, false).size());
  EXPECT_TRUE(lp["content"][0]["top_logprobs"].empty());
}

TEST_F(ChatStreamTest, EngineFailureMidStreamEndsWithAnErrorEvent) {
  start();
  engine().set_responder([&](const GenerationRequest&) {
    Script s = text_script(tok(), "</think>partial", FinishReason::kError, "");
    s.events.back().error = "device lost";
    return s;
  });
  httplib::Result r = post_json("/v1/chat/completions", {{"messages", {user("x")}}, {"stream", true}});
  ASSERT_TRUE(r);
  const SseEvents ev = parse_sse(r->body);
  ASSERT_TRUE(ev.ok) << ev.error;
  ASSERT_GE(ev.data.size(), 2u);
  const json err = json::parse(ev.data[ev.data.size() - 2]);
  EXPECT_EQ(err["error"]["type"], "server_error");
  EXPECT_NE(err["error"]["message"].get<std::string>().find("device lost"), std::string::npos);

  httplib::Result plain = post_json("/v1/chat/completions", {{"messages", {user("x")}}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 500);
  EXPECT_NE(plain->body.find("device lost"), std::string::npos);
}

}  // namespace
}  // namespace dsv4::server::testing
