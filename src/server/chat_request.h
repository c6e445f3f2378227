// A chat completion request body -> everything the chat endpoint needs: the messages and
// encoder options (thinking mode, effort, tools, response format), sampling parameters,
// streaming options and the tool-call policy.
//
// Decisions (documented in the server's README section):
//  * Thinking defaults to ServerConfig::default_thinking. Controls, strongest first:
//    `thinking: {type: enabled|disabled}`, `chat_template_kwargs.thinking` (or
//    `enable_thinking`), then `reasoning_effort: "none"`. Effort maps as DeepSeek's API does:
//    minimal / low / medium / high -> high, xhigh / max -> max (Think Max preamble).
//    `chat_template_kwargs.reasoning_effort` ("high" / "max") is read too (vLLM's recipe).
//  * tool_choice "none": the tools are not rendered, and any tool call the model writes
//    anyway is dropped from the response (never leaked as DSML into content).
//  * tool_choice "required" / a named function: in thinking mode -> 400 (DeepSeek's API
//    rejects these too: a call can only be forced after the reasoning, which the server
//    cannot see coming). Without thinking the assistant turn is prefilled with the start of
//    a DSML tool-call block (`<｜DSML｜tool_calls>` + `<｜DSML｜invoke name="` [+ the name]),
//    exactly the bytes the encoder renders for an assistant turn that calls tools, so the
//    model can only continue with a call.
//  * parallel_tool_calls false: only the first call is returned.
//  * response_format: "text" is the default; "json_object" renders DeepSeek's response-format
//    block and the content is checked for JSON validity at the end; "json_schema" -> 400
//    (no constrained decoding yet: refusing is better than silently ignoring the schema).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsv4/request.h"
#include "dsv4/status.h"
#include "text/chat_encoding.h"
#include "text/chat_message.h"
#include "text/json_value.h"

namespace dsv4::server {

enum class ToolChoice : uint8_t { kAuto, kNone, kRequired, kNamed };

struct ChatPlan {
  std::vector<text::ChatMessage> messages;
  text::ChatEncodeOptions encode;
  SamplingParams sampling;  // max_tokens set by the endpoint when not given
  std::optional<int64_t> max_tokens;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool has_tools = false;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_name;  // kNamed
  bool parallel_tool_calls = true;
  bool json_object = false;
  // Assistant text forced right after the generation prefix (forced tool calls). It is part
  // of the prompt and is fed to the output parser first, never returned as text itself.
  std::string prefill;
};

// `body` must be an object. Errors are invalid_argument with the field path first.
Result<ChatPlan> parse_chat_plan(const text::JsonValue& body, bool default_thinking);

}  // namespace dsv4::server
