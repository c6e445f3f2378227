// Server-sent events framing, as OpenAI streams: "data: <json>\n\n" per chunk and a final
// "data: [DONE]\n\n".
#pragma once

#include <string>
#include <string_view>

namespace dsv4::server {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr const char* kSseContentType = "text/event-stream";

// Appends one event carrying `json` (which must not contain a raw newline; compact JSON
// escapes every newline inside strings).
void append_sse_data(std::string_view json, std::string* out);

// A failure after streaming began (the status line is gone): OpenAI's error object as a
// data event, as OpenAI and vLLM send it.
void append_error_event(const std::string& message, std::string* out);

}  // namespace dsv4::server
