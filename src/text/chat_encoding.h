// The DeepSeek-V4 chat encoding: typed messages -> the prompt text the model reads.
//
// A C++ rendering of encoding/encoding_dsv4.py (spec/dsv4-architecture.md §5.2), byte
// for byte: tool messages folded into user turns in the order of the calls, the
// drop-thinking rule (off as soon as any message carries tools), the Max preamble, the
// tools and response-format blocks, assistant tool calls as DSML, quick-instruction task
// tokens and the generation prefix. The prompt starts with the BOS *text*; tokenize it
// with add_special_tokens=false (encode_chat_ids does), which gives exactly one BOS.
//
// Not supported: the reference's `context` argument (a pre-rendered prefix). Callers
// render the whole conversation; prefix caching makes the repeated part cheap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"
#include "text/chat_message.h"
#include "text/tokenizer.h"

namespace dsv4::text {

enum class ThinkingMode : uint8_t { kChat, kThinking };
// kHigh renders like no effort at all; kMax adds the preamble (thinking mode only).
enum class ReasoningEffort : uint8_t { kNone, kHigh, kMax };

struct ChatEncodeOptions {
  ThinkingMode thinking_mode = ThinkingMode::kThinking;
  ReasoningEffort reasoning_effort = ReasoningEffort::kHigh;
  // Drop reasoning of turns before the last user message (forced off when tools exist).
  bool drop_thinking = true;
  bool add_bos = true;
};

// Renders the prompt, generation prefix included. Runs validate_chat_messages first.
Result<std::string> encode_chat(const std::vector<ChatMessage>& messages, const ChatEncodeOptions& options);

// encode_chat, tokenized without special-token insertion (one BOS, from the text).
Result<std::vector<int32_t>> encode_chat_ids(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                             const ChatEncodeOptions& options);

// The "## Tools" block for these OpenAI function objects.
std::string render_tools_block(const std::vector<JsonValue>& functions);

// The DSML block an assistant message with these calls ends with, starting "\n\n".
// Arguments that are a JSON object become one parameter per key (strings raw with
// string="true", other values as Python JSON with string="false"); text that is not
// JSON becomes one string parameter named "arguments".
std::string render_dsml_tool_calls(const std::vector<ChatToolCall>& calls);

}  // namespace dsv4::text
