// Chat completion JSON: output events -> OpenAI chunk deltas (streaming) and the complete
// message (non-streaming), plus the per-token logprobs both carry.
//
// The chunk format is OpenAI's, field for field: every chunk repeats id, object, created,
// model and system_fingerprint; a choice's first chunk carries {"role": "assistant",
// "content": ""}; text arrives as "content" (and DeepSeek's "reasoning_content") deltas; a
// tool call starts with {"index", "id", "type": "function", "function": {"name",
// "arguments": ""}} and continues with {"index", "function": {"arguments": "<delta>"}};
// the choice ends with an empty delta and its finish_reason. With include_usage every chunk
// has "usage": null and a last chunk with "choices": [] carries the usage.
//
// Beyond OpenAI: a choice whose output broke the expected shape (a malformed or unfinished
// DSML tool call, or content that is not a JSON object under response_format json_object)
// keeps its OpenAI finish_reason and adds "output_error": {"type", "message"}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/request.h"
#include "server/choice_decoder.h"
#include "server/json_out.h"
#include "text/output_parser.h"
#include "text/tokenizer.h"

namespace dsv4::server {

struct ResponseHeader {
  std::string id;
  int64_t created = 0;
  std::string model;
  std::string fingerprint;  // empty: null
  bool include_usage = false;
};

// "stop", "length" or "tool_calls" (a stop with tool calls); cancelled and failed choices
// report "abort" / "error" (they only reach streams that are being torn down).
const char* chat_finish_reason(const ChoiceDecoder& choice);

// {"type", "message"} when the choice's output broke its expected shape, else null.
Json output_error(const ChoiceDecoder& choice, bool json_object);

// OpenAI chat logprobs entries ({"token", "logprob", "bytes", "top_logprobs"}) of `tokens`.
void append_chat_logprobs(const text::Tokenizer& tokenizer, const std::vector<GeneratedToken>& tokens,
                          int32_t top_logprobs, Json* content);

class ChatChunkWriter {
 public:
  explicit ChatChunkWriter(ResponseHeader header) : header_(std::move(header)) {}

  void role_chunk(int32_t index, std::string* out) const;
  // Chunks for `events`, consecutive deltas of one kind merged. A non-null `logprobs`
  // ({"content": [...]}) rides on the first chunk and is reset to null; if there is no
  // chunk it stays for the next call.
  void event_chunks(int32_t index, const std::vector<text::OutputEvent>& events, Json* logprobs,
                    std::string* out) const;
  void final_chunk(int32_t index, const char* finish_reason, Json logprobs, const Json& error, std::string* out) const;
  void usage_chunk(const Json& usage, std::string* out) const;

 private:
  Json chunk(Json choices) const;
  void emit(int32_t index, Json delta, Json* logprobs, std::string* out) const;

  ResponseHeader header_;
};

// The non-streaming "message" of a finished choice.
Json chat_message_json(const ChoiceDecoder& choice, bool thinking);

}  // namespace dsv4::server
