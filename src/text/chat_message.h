// Chat messages: OpenAI message / tool JSON -> typed structs, with precise errors.
//
// The server hands over the request body as received; this file reads "messages" and
// "tools" from it into the structs the DeepSeek-V4 encoder renders, and refuses bad input
// with a message naming the offending field (messages[3].tool_calls[0].function.name ...).
// Besides the OpenAI fields it accepts DeepSeek-V4's own message fields (developer and
// latest_reminder roles, reasoning_content, tools / response_format on system and
// developer messages, task, wo_eos).
//
// Decisions where the reference encoder is silent or would crash:
//  * content may be a string or an array of {"type": "text", "text": ...} parts, joined
//    by "\n\n" (the separator the reference uses for tool-result parts); other part types
//    are refused except in tool results, where the reference renders "[Unsupported T]".
//  * null content means "" for system and assistant messages; user, tool, developer and
//    latest_reminder messages need text (the reference would crash or print "None").
//  * a tool message must follow an assistant message with tool_calls (or another tool
//    message), name one of its call ids, and answer each call at most once.
//  * function.arguments must be a string; text that is not JSON is kept and rendered as a
//    single "arguments" parameter (the reference's fallback); JSON that is not an object
//    is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsv4/status.h"
#include "text/json_value.h"

namespace dsv4::text {

enum class ChatRole : uint8_t { kSystem, kUser, kAssistant, kTool, kDeveloper, kLatestReminder };
// Quick-instruction tasks: a special token after the message (see chat_encoding.h).
enum class ChatTask : uint8_t { kNone, kAction, kQuery, kAuthority, kDomain, kTitle, kReadUrl };

const char* chat_role_name(ChatRole role);

struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text as the client sent it
};

// One part of a tool result given as an array.
struct ToolResultPart {
  std::string type;  // "text" or whatever the client sent
  std::string text;  // for "text" parts
};

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string content;
  // Tool messages whose content was an array keep its parts (rendered by the encoder).
  std::optional<std::vector<ToolResultPart>> content_parts;
  std::optional<std::string> reasoning_content;  // assistant only
  std::vector<ChatToolCall> tool_calls;           // assistant only
  std::string tool_call_id;                       // tool only
  std::vector<JsonValue> tools;                   // system / developer: OpenAI "function" objects
  std::optional<JsonValue> response_format;       // system / developer
  ChatTask task = ChatTask::kNone;
  bool wo_eos = false;  // assistant: no end-of-sentence (a prefix to continue)
};

// Parses an OpenAI chat request body: "messages" (required) and "tools" (optional). Tools
// given on the request are attached to the first message when it is a system message,
// else to an empty system message inserted first, which renders to nothing itself.
Result<std::vector<ChatMessage>> parse_chat_request(std::string_view request_json);
// The same for an already parsed body.
Result<std::vector<ChatMessage>> parse_chat_request(const JsonValue& request);

// Cross-message rules (tool results match calls, non-empty list, ...). The encoder runs
// this too, so structs built in C++ get the same checks as parsed JSON.
Status validate_chat_messages(const std::vector<ChatMessage>& messages);

}  // namespace dsv4::text
