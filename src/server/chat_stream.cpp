// Chat chunks, messages and logprobs (see chat_stream.h).
#include "server/chat_stream.h"

#include "server/generation.h"
#include "server/sse.h"
#include "text/json_value.h"
#include "text/utf8.h"

namespace dsv4::server {

using text::OutputEvent;
using text::OutputEventKind;

const char* chat_finish_reason(const ChoiceDecoder& choice) {
  if (choice.finish() == FinishReason::kStop && !choice.summary().tool_calls.empty()) return "tool_calls";
  return metric_finish_reason(choice.finish());
}

namespace {

Json error_object(const char* type, const std::string& message) { return Json{{"type", type}, {"message", message}}; }

std::string trim_ws(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Json token_entry(const text::Tokenizer& tokenizer, int32_t token, float logprob) {
  const std::string_view raw = tokenizer.token_bytes(token);
  Json bytes = Json::array();
  for (char c : raw) bytes.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  Json e = Json::object();
  e["token"] = text::to_valid_utf8(raw);
  e["logprob"] = float_json(logprob);
  e["bytes"] = std::move(bytes);
  return e;
}

}  // namespace

Json output_error(const ChoiceDecoder& choice, bool json_object) {
  const text::OutputSummary& s = choice.summary();
  switch (s.end_state) {
    case text::OutputEndState::kMalformedToolCall:
      return error_object("malformed_tool_call", s.error);
    case text::OutputEndState::kUnfinishedToolCall:
      return error_object("unfinished_tool_call", s.error);
    case text::OutputEndState::kComplete:
    case text::OutputEndState::kUnterminatedReasoning:
      break;
  }
  if (json_object && s.tool_calls.empty()) {
    const std::string content = trim_ws(s.content);
    Result<text::JsonValue> parsed = text::parse_json(content);
    if (!parsed.is_ok())
      return error_object("invalid_json", "the content is not valid JSON: " + parsed.status().message());
    if (!parsed->is_object()) return error_object("invalid_json", "the content is JSON but not an object");
  }
  return Json();
}

void append_chat_logprobs(const text::Tokenizer& tokenizer, const std::vector<GeneratedToken>& tokens,
                          int32_t top_logprobs, Json* content) {
  for (const GeneratedToken& t : tokens) {
    Json e = token_entry(tokenizer, t.token, t.logprob);
    Json top = Json::array();
    for (size_t k = 0; k < t.top.size() && static_cast<int32_t>(k) < top_logprobs; ++k) {
      top.push_back(token_entry(tokenizer, t.top[k].token, t.top[k].logprob));
    }
    e["top_logprobs"] = std::move(top);
    content->push_back(std::move(e));
  }
}

Json ChatChunkWriter::chunk(Json choices) const {
  Json c = Json::object();
  c["id"] = header_.id;
  c["object"] = "chat.completion.chunk";
  c["created"] = header_.created;
  c["model"] = header_.model;
  c["system_fingerprint"] = header_.fingerprint.empty() ? Json() : Json(header_.fingerprint);
  c["choices"] = std::move(choices);
  if (header_.include_usage) c["usage"] = Json();
  return c;
}

void ChatChunkWriter::emit(int32_t index, Json delta, Json* logprobs, std::string* out) const {
  Json choice = Json::object();
  choice["index"] = index;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = logprobs != nullptr ? std::exchange(*logprobs, Json()) : Json();
  choice["finish_reason"] = Json();
  append_sse_data(dump_json(chunk(Json::array({std::move(choice)}))), out);
}

void ChatChunkWriter::role_chunk(int32_t index, std::string* out) const {
  emit(index, Json{{"role", "assistant"}, {"content", ""}}, nullptr, out);
}

void ChatChunkWriter::event_chunks(int32_t index, const std::vector<OutputEvent>& events, Json* logprobs,
                                   std::string* out) const {
  size_t i = 0;
  while (i < events.size()) {
    const OutputEvent& e = events[i];
    switch (e.kind) {
      case OutputEventKind::kReasoningDelta:
      case OutputEventKind::kContentDelta: {
        std::string text;
        size_t j = i;
        for (; j < events.size() && events[j].kind == e.kind; ++j) text += events[j].text;
        const char* key = e.kind == OutputEventKind::kContentDelta ? "content" : "reasoning_content";
        if (!text.empty()) emit(index, Json{{key, text}}, logprobs, out);
        i = j;
        break;
      }
      case OutputEventKind::kToolCallStart: {
        Json call = Json::object();
        call["index"] = e.tool_index;
        call["id"] = e.id;
        call["type"] = "function";
        call["function"] = Json{{"name", e.name}, {"arguments", ""}};
        emit(index, Json{{"tool_calls", Json::array({std::move(call)})}}, logprobs, out);
        ++i;
        break;
      }
      case OutputEventKind::kToolCallArgumentsDelta: {
        std::string args;
        size_t j = i;
        for (; j < events.size() && events[j].kind == e.kind && events[j].tool_index == e.tool_index; ++j) {
          args += events[j].text;
        }
        Json call = Json::object();
        call["index"] = e.tool_index;
        call["function"] = Json{{"arguments", args}};
        if (!args.empty()) emit(index, Json{{"tool_calls", Json::array({std::move(call)})}}, logprobs, out);
        i = j;
        break;
      }
      case OutputEventKind::kToolCallEnd:
        ++i;
        break;
    }
  }
}

void ChatChunkWriter::final_chunk(int32_t index, const char* finish_reason, Json logprobs, const Json& error,
                                  std::string* out) const {
  Json choice = Json::object();
  choice["index"] = index;
  choice["delta"] = Json::object();
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = finish_reason;
  if (!error.is_null()) choice["output_error"] = error;
  append_sse_data(dump_json(chunk(Json::array({std::move(choice)}))), out);
}

void ChatChunkWriter::usage_chunk(const Json& usage, std::string* out) const {
  Json c = chunk(Json::array());
  c["usage"] = usage;
  append_sse_data(dump_json(c), out);
}

Json chat_message_json(const ChoiceDecoder& choice, bool thinking) {
  const text::OutputSummary& s = choice.summary();
  Json m = Json::object();
  m["role"] = "assistant";
  m["content"] = s.content.empty() && !s.tool_calls.empty() ? Json() : Json(s.content);
  if (thinking) m["reasoning_content"] = s.reasoning;
  if (!s.tool_calls.empty()) {
    Json calls = Json::array();
    for (const text::ParsedToolCall& c : s.tool_calls) {
      Json call = Json::object();
      call["id"] = c.id;
      call["type"] = "function";
      call["function"] = Json{{"name", c.name}, {"arguments", c.arguments}};
      calls.push_back(std::move(call));
    }
    m["tool_calls"] = std::move(calls);
  }
  return m;
}

}  // namespace dsv4::server
