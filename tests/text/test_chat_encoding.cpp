// DeepSeek-V4 chat encoding: byte parity with the reference encoders on the committed
// cases (scripts/text/gen_chat_fixtures.py), rule coverage of those cases, and precise
// errors for malformed requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "test_support.h"
#include "text/chat_encoding.h"
#include "text/chat_templates.h"
#include "text/fim.h"

namespace dsv4::text {
namespace {

using testing::read_jsonl_fixture;
using testing::real_tokenizer;

ChatEncodeOptions options_from(const nlohmann::json& o) {
  ChatEncodeOptions opts;
  opts.thinking_mode = o["thinking_mode"] == "chat" ? ThinkingMode::kChat : ThinkingMode::kThinking;
  opts.reasoning_effort = o["reasoning_effort"].is_null() ? ReasoningEffort::kNone
                          : o["reasoning_effort"] == "max" ? ReasoningEffort::kMax
                                                           : ReasoningEffort::kHigh;
  opts.drop_thinking = o["drop_thinking"].get<bool>();
  opts.add_bos = o["add_bos"].get<bool>();
  return opts;
}

const std::vector<nlohmann::json>& cases() {
  static const std::vector<nlohmann::json> c = read_jsonl_fixture("chat_encoding.jsonl");
  return c;
}

TEST(ChatEncoding, PromptsMatchTheReferenceEncoderByteForByte) {
  ASSERT_GE(cases().size(), 200u);
  for (const nlohmann::json& c : cases()) {
    const std::string name = c["name"].get<std::string>();
    Result<std::vector<ChatMessage>> messages = parse_chat_request(c["request_json"].get<std::string>());
    ASSERT_TRUE(messages.is_ok()) << name << ": " << messages.status().to_string();
    Result<std::string> prompt = encode_chat(*messages, options_from(c["options"]));
    ASSERT_TRUE(prompt.is_ok()) << name << ": " << prompt.status().to_string();
    EXPECT_EQ(*prompt, c["prompt"].get<std::string>()) << name;
  }
}

TEST(ChatEncoding, PromptIdsMatchAndCarryExactlyOneBos) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  for (const nlohmann::json& c : cases()) {
    Result<std::vector<ChatMessage>> messages = parse_chat_request(c["request_json"].get<std::string>());
    ASSERT_TRUE(messages.is_ok());
    const ChatEncodeOptions opts = options_from(c["options"]);
    Result<std::vector<int32_t>> ids = encode_chat_ids(*tok, *messages, opts);
    ASSERT_TRUE(ids.is_ok());
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>()) << c["name"];
    const auto n_bos = std::count(ids->begin(), ids->end(), tok->bos_id());
    EXPECT_EQ(n_bos, opts.add_bos ? 1 : 0) << c["name"];
    if (opts.add_bos) {
      EXPECT_EQ(ids->front(), tok->bos_id());
      // Special-token insertion on top of the rendered BOS must not add a second one.
      const std::string prompt = c["prompt"].get<std::string>();
      EXPECT_EQ(tok->encode(prompt, /*add_special_tokens=*/true), *ids) << c["name"];
    }
  }
}

TEST(ChatEncoding, CasesCoverEveryRule) {
  std::set<std::string> seen;
  for (const nlohmann::json& c : cases()) {
    const nlohmann::json& o = c["options"];
    seen.insert("mode_" + o["thinking_mode"].get<std::string>());
    if (o["reasoning_effort"] == "max" && o["thinking_mode"] == "thinking") seen.insert("effort_max");
    if (o["reasoning_effort"] == "high") seen.insert("effort_high");
    if (!o["drop_thinking"].get<bool>()) seen.insert("drop_thinking_off");
    if (!o["add_bos"].get<bool>()) seen.insert("no_bos");
    if (c["reference"] != "sglang-0.5.16") seen.insert("arguments_not_json");
    const std::string& req = c["request_json"].get_ref<const std::string&>();
    for (const char* needle : {"\"tools\"", "\"role\": \"developer\"", "\"role\": \"latest_reminder\"",
                               "\"role\": \"tool\"", "\"task\": \"action\"", "\"task\": \"query\"", "\"task\": \"title\"",
                               "\"wo_eos\": true", "\"response_format\"", "\"reasoning_content\"", "image_url",
                               "\"type\": \"text\""}) {
      if (req.find(needle) != std::string::npos) seen.insert(needle);
    }
    const std::string& prompt = c["prompt"].get_ref<const std::string&>();
    if (prompt.find("</tool_result>\n\n<tool_result>") != std::string::npos) seen.insert("several_tool_results");
    if (prompt.find("</tool_result>\n\n") != std::string::npos) seen.insert("user_after_tool_results");
  }
  for (const char* rule : {"mode_chat", "mode_thinking", "effort_max", "effort_high", "drop_thinking_off", "no_bos",
                           "arguments_not_json", "\"tools\"", "\"role\": \"developer\"", "\"role\": \"latest_reminder\"",
                           "\"role\": \"tool\"", "\"task\": \"action\"", "\"task\": \"query\"", "\"task\": \"title\"",
                           "\"wo_eos\": true", "\"response_format\"", "\"reasoning_content\"", "image_url",
                           "\"type\": \"text\"", "several_tool_results", "user_after_tool_results"}) {
    EXPECT_TRUE(seen.count(rule)) << "no committed case exercises " << rule;
  }
}

TEST(ChatEncoding, SpecWorkedExamples) {
  Result<std::vector<ChatMessage>> m = parse_chat_request(R"({"messages": [{"role": "user", "content": "Hi"}]})");
  ASSERT_TRUE(m.is_ok());
  ChatEncodeOptions chat;
  chat.thinking_mode = ThinkingMode::kChat;
  EXPECT_EQ(*encode_chat(*m, chat), "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜></think>");
  EXPECT_EQ(*encode_chat(*m, ChatEncodeOptions{}), "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>");

  // spec §5.1 round-trip example.
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  const std::string text = "<｜User｜>你好<｜Assistant｜><think>推理</think>答案<｜end▁of▁sentence｜>";
  const std::vector<int32_t> want = {128803, 30594, 128804, 128821, 36101, 128822, 7624, 1};
  EXPECT_EQ(tok->encode(text), want);
  EXPECT_EQ(tok->decode(want), text);
}

TEST(ChatEncoding, FimLayout) {
  EXPECT_EQ(render_fim_prompt("def f(", "):\n"),
            "<｜begin▁of▁sentence｜><｜fim▁begin｜>def f(<｜fim▁hole｜>):\n<｜fim▁end｜>");
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> ids = tok->encode(render_fim_prompt("a", "b"));
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 128801, 67, 128800, 68, 128802}));
}

struct BadRequest {
  const char* json;
  const char* error;  // substring of the expected message
};

TEST(ChatEncoding, MalformedRequestsGetPreciseErrors) {
  const BadRequest bad[] = {
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role: unknown role \"wizard\""},
      {R"({"messages": []})", "at least one message"},
      {R"({"messages": {}})", "messages: expected an array, got object"},
      {R"({"nothing": 1})", "messages: missing"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content: expected a string or an array"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content: this message needs text content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
       "messages[0].content[0]: content parts of type \"image_url\" are not supported"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "c1", "content": "r"}]})",
       "messages[1]: a tool message must follow an assistant message with tool_calls"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c9", "content": "r"}]})",
       "messages[2].tool_call_id: \"c9\" matches no tool call of messages[1] (ids: \"c1\")"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "r"}, {"role": "tool", "tool_call_id": "c1", "content": "r"}]})",
       "call \"c1\" already has a result"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f"}}]}]})",
       "messages[1].tool_calls[0].function.arguments: expected a string"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "[1, 2]"}}]}]})",
       "arguments: expected a JSON object, got array"},
      {R"({"messages": [{"role": "tool", "content": "r"}]})", "messages[0].tool_call_id: a tool message needs"},
      {R"({"messages": [{"role": "developer", "content": ""}]})", "a developer message needs non-empty content"},
      {R"({"messages": [{"role": "user", "content": "a", "task": "dance"}]})", "messages[0].task: unknown task \"dance\""},
      {R"({"messages": [{"role": "user", "content": "a", "tools": []}]})", "only system and developer messages carry tools"},
      {R"({"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function", "function": {}}]})",
       "tools[0].function.name: expected a non-empty string"},
      {R"({"messages": [{"role": "system", "content": "s", "tools": [{"function": {"name": "g"}}]}], "tools": [{"function": {"name": "f"}}]})",
       "given both on the request and on messages[0]"},
      {R"({"messages": [{"role": "assistant", "content": "a", "wo_eos": "yes"}]})", "messages[0].wo_eos: expected a boolean"},
      {R"({"messages": [{"role": "user", "content": "a"}],})", "invalid JSON at byte"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", "not valid UTF-8"},
      {R"({"messages": [{"role": "user", "content": "\ud800"}]})", "lone surrogate"},
  };
  for (const BadRequest& b : bad) {
    Result<std::vector<ChatMessage>> r = parse_chat_request(b.json);
    ASSERT_FALSE(r.is_ok()) << b.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(b.error), std::string::npos) << "got: " << r.status().message();
  }
}

TEST(ChatEncoding, StructsBuiltInCodeAreValidatedToo) {
  ChatMessage tool;
  tool.role = ChatRole::kTool;
  tool.tool_call_id = "x";
  Result<std::string> r = encode_chat({tool}, ChatEncodeOptions{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("must follow an assistant message"), std::string::npos);
}

}  // namespace
}  // namespace dsv4::text
