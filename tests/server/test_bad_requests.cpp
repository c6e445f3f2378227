// The bad-request suite: malformed, mistyped, out-of-range and hostile requests, each with
// its documented status, OpenAI error JSON and `param`, sent while a long stream is being
// served; afterwards the stream is intact and the server still serves.
#include <gtest/gtest.h>

#include <thread>

#include "server_fixture.h"

namespace dsv4::server::testing {
namespace {

struct BadCase {
  const char* name;
  const char* path;
  std::string body;
  int status;
  const char* param;    // "" for null
  const char* message;  // a part of the message
};

std::string chat_with(const std::string& extra_fields) {
  return R"({"messages": [{"role": "user", "content": "hi"}])" + extra_fields + "}";
}

std::string messages(const std::string& list) { return R"({"messages": )" + list + "}"; }

std::vector<BadCase> bad_cases() {
  const char* chat = "/v1/chat/completions";
  const char* cmpl = "/v1/completions";
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += "lorem ipsum ";
  std::string tiny_messages = R"({"messages": [)";
  for (int i = 0; i < 33000; ++i) tiny_messages += std::string(i > 0 ? "," : "") + R"({"role":"user","content":"a"})";
  tiny_messages += "]}";
  return {
      // Broken JSON and wrong top-level types.
      {"empty body", chat, "", 400, "", "invalid JSON"},
      {"truncated JSON", chat, R"({"messages": [)", 400, "", "invalid JSON"},
      {"trailing garbage", chat, chat_with("") + "}", 400, "", "invalid JSON"},
      {"array body", chat, "[]", 400, "", "must be a JSON object"},
      {"null body", chat, "null", 400, "", "must be a JSON object"},
      {"single quotes", chat, "{'messages': []}", 400, "", "invalid JSON"},
      {"invalid UTF-8", chat, std::string(R"({"messages": [{"role": "user", "content": "a)") + "\xff\xfe" + R"("}]})",
       400, "", "UTF-8"},
      {"lone surrogate", chat, R"({"messages": [{"role": "user", "content": "\ud800"}]})", 400, "", "surrogate"},
      {"nesting 100k deep", chat, std::string(100000, '['), 400, "", "deep"},
      // Messages.
      {"messages missing", chat, "{}", 400, "messages", "missing"},
      {"messages not array", chat, messages(R"("hi")"), 400, "messages", "expected an array"},
      {"messages empty", chat, messages("[]"), 400, "messages", "at least one"},
      {"message not object", chat, messages("[1]"), 400, "messages[0]", "expected an object"},
      {"role missing", chat, messages(R"([{"content": "x"}])"), 400, "messages[0].role", "expected a string"},
      {"unknown role", chat, messages(R"([{"role": "wizard", "content": "x"}])"), 400, "messages[0].role",
       "unknown role"},
      {"role not string", chat, messages(R"([{"role": 7, "content": "x"}])"), 400, "messages[0].role",
       "expected a string"},
      {"content number", chat, messages(R"([{"role": "user", "content": 5}])"), 400, "messages[0].content", "expected"},
      {"user content null", chat, messages(R"([{"role": "user", "content": null}])"), 400, "messages[0].content",
       "needs text"},
      {"image part", chat,
       messages(R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])"), 400,
       "messages[0].content[0]", "not supported"},
      {"tool result without call", chat, messages(R"([{"role": "tool", "tool_call_id": "c1", "content": "r"}])"), 400,
       "messages[0]", "must follow an assistant message with tool_calls"},
      {"tool result for unknown call", chat,
       messages(
           R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c9", "content": "r"}])"),
       400, "messages[2].tool_call_id", "matches no tool call"},
      {"tool_calls on a user message", chat, messages(R"([{"role": "user", "content": "q", "tool_calls": []}])"), 400,
       "messages[0].tool_calls", "only assistant"},
      {"tool call arguments not a string", chat,
       messages(
           R"([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}])"),
       400, "messages[1].tool_calls[0].function.arguments", "expected a string"},
      {"tool call arguments a JSON array", chat,
       messages(
           R"([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}])"),
       400, "messages[1].tool_calls[0].function.arguments", "expected a JSON object"},
      {"empty developer message", chat, messages(R"([{"role": "developer", "content": ""}])"), 400,
       "messages[0].content", "non-empty"},
      // Numbers.
      {"negative max_tokens", chat, chat_with(R"(, "max_tokens": -5)"), 400, "max_tokens", "out of range"},
      {"zero max_tokens", chat, chat_with(R"(, "max_tokens": 0)"), 400, "max_tokens", "out of range"},
      {"max_tokens as string", chat, chat_with(R"(, "max_tokens": "10")"), 400, "max_tokens", "expected an integer"},
      {"max_tokens 1e30", chat, chat_with(R"(, "max_tokens": 1e30)"), 400, "max_tokens", "out of range"},
      {"max_tokens 30 digits", chat, chat_with(R"(, "max_tokens": 999999999999999999999999999999)"), 400, "max_tokens",
       "out of range"},
      {"max_tokens fractional", chat, chat_with(R"(, "max_tokens": 10.5)"), 400, "max_tokens", "expected an integer"},
      {"negative max_completion_tokens", chat, chat_with(R"(, "max_completion_tokens": -1)"), 400,
       "max_completion_tokens", "out of range"},
      {"temperature string", chat, chat_with(R"(, "temperature": "hot")"), 400, "temperature", "expected a number"},
      {"negative temperature", chat, chat_with(R"(, "temperature": -1)"), 400, "temperature", "out of range"},
      {"NaN temperature", chat, chat_with(R"(, "temperature": NaN)"), 400, "temperature", "out of range"},
      {"infinite temperature", chat, chat_with(R"(, "temperature": 1e400)"), 400, "temperature", "out of range"},
      {"top_p zero", chat, chat_with(R"(, "top_p": 0)"), 400, "top_p", "greater than 0"},
      {"top_p above one", chat, chat_with(R"(, "top_p": 1.5)"), 400, "top_p", "out of range"},
      {"presence_penalty 3", chat, chat_with(R"(, "presence_penalty": 3)"), 400, "presence_penalty", "out of range"},
      {"frequency_penalty -2.5", chat, chat_with(R"(, "frequency_penalty": -2.5)"), 400, "frequency_penalty",
       "out of range"},
      {"repetition_penalty zero", chat, chat_with(R"(, "repetition_penalty": 0)"), 400, "repetition_penalty",
       "greater than 0"},
      {"n zero", chat, chat_with(R"(, "n": 0)"), 400, "n", "out of range"},
      {"n string", chat, chat_with(R"(, "n": "2")"), 400, "n", "expected an integer"},
      {"seed string", chat, chat_with(R"(, "seed": "abc")"), 400, "seed", "expected an integer"},
      {"seed 1e20", chat, chat_with(R"(, "seed": 1e20)"), 400, "seed", "out of range"},
      {"logit_bias array", chat, chat_with(R"(, "logit_bias": [1, 2])"), 400, "logit_bias", "expected an object"},
      {"logit_bias key not a token", chat, chat_with(R"(, "logit_bias": {"abc": 1})"), 400, "logit_bias.abc",
       "token id"},
      {"logit_bias value 200", chat, chat_with(R"(, "logit_bias": {"5": 200})"), 400, "logit_bias.5", "out of range"},
      {"stop number", chat, chat_with(R"(, "stop": 5)"), 400, "stop", "expected a string or an array"},
      {"stop empty string", chat, chat_with(R"(, "stop": [""])"), 400, "stop[0]", "empty"},
      {"stop mixed", chat, chat_with(R"(, "stop": ["a", 3])"), 400, "stop[1]", "expected a string"},
      {"stream string", chat, chat_with(R"(, "stream": "yes")"), 400, "stream", "expected a boolean"},
      {"stream_options string", chat, chat_with(R"(, "stream_options": "x")"), 400, "stream_options",
       "expected an object"},
      {"logprobs string", chat, chat_with(R"(, "logprobs": "true")"), 400, "logprobs", "expected a boolean"},
      {"top_logprobs 50", chat, chat_with(R"(, "logprobs": true, "top_logprobs": 50)"), 400, "top_logprobs",
       "out of range"},
      {"top_logprobs without logprobs", chat, chat_with(R"(, "top_logprobs": 2)"), 400, "top_logprobs", "needs"},
      // Tools, formats, thinking.
      {"tools not array", chat, chat_with(R"(, "tools": {})"), 400, "tools", "expected an array"},
      {"tool without name", chat, chat_with(R"(, "tools": [{"type": "function", "function": {}}])"), 400,
       "tools[0].function.name", "non-empty string"},
      {"tool_choice unknown", chat, chat_with(R"(, "tool_choice": "sometimes")"), 400, "tool_choice", "unknown value"},
      {"tool_choice required without tools", chat, chat_with(R"(, "tool_choice": "required")"), 400, "tool_choice",
       "needs `tools`"},
      {"tool_choice names an unknown tool", chat,
       chat_with(
           R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}, "thinking": {"type": "disabled"})"),
       400, "tool_choice.function.name", "not one of the tools"},
      {"tool_choice required while thinking", chat,
       chat_with(R"(, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required")"), 400,
       "tool_choice", "thinking disabled"},
      {"parallel_tool_calls string", chat, chat_with(R"(, "parallel_tool_calls": "no")"), 400, "parallel_tool_calls",
       "expected a boolean"},
      {"json_schema", chat, chat_with(R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}})"),
       400, "response_format.type", "json_schema is not supported"},
      {"response_format string", chat, chat_with(R"(, "response_format": "json")"), 400, "response_format",
       "expected an object"},
      {"thinking type maybe", chat, chat_with(R"(, "thinking": {"type": "maybe"})"), 400, "thinking.type", "enabled"},
      {"reasoning_effort extreme", chat, chat_with(R"(, "reasoning_effort": "extreme")"), 400, "reasoning_effort",
       "unknown effort"},
      {"chat_template_kwargs string", chat, chat_with(R"(, "chat_template_kwargs": "x")"), 400, "chat_template_kwargs",
       "expected an object"},
      // Context.
      {"prompt over the context", chat, messages(R"([{"role": "user", "content": ")" + long_text + R"("}])"), 400,
       "messages", "maximum context length is 4096 tokens"},
      {"prompt plus max_tokens over the context", chat, chat_with(R"(, "max_tokens": 4092)"), 400, "messages",
       "However, you requested"},
      // Models.
      {"unknown model", chat, chat_with(R"(, "model": "gpt-4o")"), 404, "model", "does not exist"},
      {"model number", chat, chat_with(R"(, "model": 5)"), 400, "model", "expected a string"},
      // Completions.
      {"completions prompt missing", cmpl, "{}", 400, "prompt", "missing"},
      {"completions prompt number", cmpl, R"({"prompt": 5})", 400, "prompt", "expected a string"},
      {"completions prompt empty array", cmpl, R"({"prompt": []})", 400, "prompt", "empty"},
      {"completions mixed prompt array", cmpl, R"({"prompt": ["a", 3]})", 400, "prompt[1]", "expected a string"},
      {"completions negative token", cmpl, R"({"prompt": [-1]})", 400, "prompt[0]", "out of range"},
      {"completions suffix with token ids", cmpl, R"({"prompt": [1, 2], "suffix": "x"})", 400, "suffix", "text prompt"},
      {"completions echo with logprobs", cmpl, R"({"prompt": "x", "echo": true, "logprobs": 1})", 400, "echo",
       "not supported"},
      {"completions best_of", cmpl, R"({"prompt": "x", "best_of": 3})", 400, "best_of", "best_of == n"},
      {"completions logprobs 21", cmpl, R"({"prompt": "x", "logprobs": 21})", 400, "logprobs", "out of range"},
      {"completions max_tokens over the context", cmpl, R"({"prompt": "x", "max_tokens": 5000})", 400, "prompt",
       "maximum context length"},
      // Tokenizer endpoints.
      {"tokenize without prompt", "/tokenize", "{}", 400, "prompt", "missing"},
      {"detokenize tokens string", "/detokenize", R"({"tokens": "abc"})", 400, "tokens", "expected an array"},
      {"detokenize id beyond vocabulary", "/detokenize", R"({"tokens": [999999999]})", 400, "tokens[0]",
       "out of range"},
      {"detokenize negative id", "/detokenize", R"({"tokens": [-1]})", 400, "tokens[0]", "out of range"},
      {"33k tiny messages over the context", chat, tiny_messages, 400, "messages", "maximum context length"},
      {"max_tokens boolean", chat, chat_with(R"(, "max_tokens": true)"), 400, "max_tokens", "expected an integer"},
      // Routing.
      {"unknown route", "/v1/embeddings", "{}", 404, "", "Unknown route"},
  };
}

class BadRequestTest : public ServerTest {};

TEST_F(BadRequestTest, EveryCaseGetsItsStatusAndErrorWhileAStreamRuns) {
  start();
  // A long stream runs through the whole suite and must come out intact.
  std::string long_output = "</think>";
  for (int i = 0; i < 60; ++i) long_output += "word" + std::to_string(i) + " ";
  engine().set_responder([&](const GenerationRequest&) {
    Script s = text_script(tok(), long_output);
    s.delay = std::chrono::milliseconds(5);
    return s;
  });
  std::string stream_body;
  std::thread streamer([&] {
    httplib::Result r =
        post_json("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "long"}}}}, {"stream", true}});
    if (r) stream_body = r->body;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  const std::vector<BadCase> cases = bad_cases();
  EXPECT_GE(cases.size(), 50u);
  // In a lambda, so that a fatal assertion still joins the streamer below.
  [&] {
    for (const BadCase& c : cases) {
      httplib::Result r = post(c.path, c.body);
      ASSERT_TRUE(r) << c.name << ": no answer";
      EXPECT_EQ(r->status, c.status) << c.name << ": " << r->body;
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << c.name;
      json j;
      ASSERT_NO_THROW(j = json::parse(r->body)) << c.name << ": " << r->body;
      ASSERT_TRUE(j.contains("error")) << c.name;
      const json& e = j["error"];
      EXPECT_TRUE(e["message"].is_string()) << c.name;
      EXPECT_TRUE(e["type"].is_string()) << c.name;
      EXPECT_TRUE(e.contains("code")) << c.name;
      if (std::string(c.param).empty()) {
        EXPECT_TRUE(e["param"].is_null()) << c.name << ": " << e.dump();
      } else {
        EXPECT_EQ(e["param"], c.param) << c.name << ": " << e.dump();
      }
      EXPECT_NE(e["message"].get<std::string>().find(c.message), std::string::npos) << c.name << ": " << e.dump();
    }
  }();
  streamer.join();
  const std::vector<AssembledChoice> a = assemble_chat(chunks_of(parse_sse(stream_body)));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].content, long_output.substr(8));
  EXPECT_EQ(a[0].finish_reason, "stop");
  expect_still_serving();
}

TEST_F(BadRequestTest, ContextErrorsCarryTheNumbers) {
  start();
  httplib::Result r = post(
      "/v1/chat/completions",
      R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4094, "thinking": {"type": "disabled"}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 400) << r->body;
  const json e = json::parse(r->body)["error"];
  const int64_t n_prompt =
      static_cast<int64_t>(tok().encode("<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜></think>", false).size());
  EXPECT_EQ(e["code"], "context_length_exceeded");
  EXPECT_EQ(e["message"], "This model's maximum context length is 4096 tokens. However, you requested " +
                              std::to_string(n_prompt + 4094) + " tokens (" + std::to_string(n_prompt) +
                              " in the messages, 4094 in the completion). Please reduce the length of the messages or "
                              "completion.");
}

TEST_F(BadRequestTest, WrongMethodAndHugeBodies) {
  start();
  httplib::Result g = get("/v1/chat/completions");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 405);
  EXPECT_EQ(json::parse(g->body)["error"]["code"], "method_not_allowed");
  httplib::Result post_health = post("/health", "{}");
  ASSERT_TRUE(post_health);
  EXPECT_EQ(post_health->status, 405);
  httplib::Result long_id = get("/v1/models/" + std::string(8000, 'm'));
  ASSERT_TRUE(long_id);
  EXPECT_EQ(long_id->status, 404);
  EXPECT_EQ(json::parse(long_id->body)["error"]["code"], "model_not_found");
  httplib::Result nf = get("/nope");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(json::parse(nf->body)["error"]["type"], "not_found_error");
  // 10 MB against a 1 MiB limit.
  httplib::Result big = post("/v1/chat/completions", std::string(10u << 20, 'x'));
  ASSERT_TRUE(big) << httplib::to_string(big.error());
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "request_too_large");
  // Just over the limit, as valid JSON.
  httplib::Result over = post("/v1/chat/completions", chat_with(R"(, "user": ")" + std::string(1u << 20, 'a') + "\""));
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  expect_still_serving();
}

TEST_F(BadRequestTest, EngineRejectionsMapToStatuses) {
  start();
  engine().set_responder([](const GenerationRequest&) {
    Script s;
    s.submit_error = resource_exhausted("the engine's queue is full (4160 requests)");
    return s;
  });
  httplib::Result full = post("/v1/chat/completions", chat_with(""));
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 429);
  EXPECT_EQ(full->get_header_value("Retry-After"), "1");
  const json e = json::parse(full->body)["error"];
  EXPECT_EQ(e["type"], "rate_limit_error");
  EXPECT_EQ(e["code"], "rate_limit_exceeded");
  EXPECT_NE(e["message"].get<std::string>().find("queue is full"), std::string::npos);

  engine().set_responder([](const GenerationRequest&) {
    Script s;
    s.submit_error = invalid_argument("n must be in [1, 16], got 20");
    return s;
  });
  httplib::Result n = post("/v1/chat/completions", chat_with(R"(, "n": 20)"));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 400);
  EXPECT_EQ(json::parse(n->body)["error"]["param"], "n");

  engine().set_responder([](const GenerationRequest&) {
    Script s;
    s.submit_error = ::dsv4::unavailable("the engine is shutting down");
    return s;
  });
  httplib::Result down = post("/v1/completions", R"({"prompt": "x"})");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  expect_still_serving();
}

}  // namespace
}  // namespace dsv4::server::testing
