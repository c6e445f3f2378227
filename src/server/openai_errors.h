// OpenAI's error JSON and the HTTP status of every failure the server reports.
//
// Every error leaves the server as {"error": {"message", "type", "param", "code"}} with the
// status OpenAI's API would use, so SDKs raise their usual exception classes
// (BadRequestError, AuthenticationError, NotFoundError, RateLimitError, ...). Messages
// from the text layer and the engine already start with the offending field
// ("messages[2].content: ..."), and that prefix becomes `param`.
#pragma once

#include <cstdint>
#include <string>

#include "dsv4/status.h"

namespace dsv4::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;          // empty: null
  std::string code;           // empty: null
  int64_t retry_after_s = 0;  // > 0: a Retry-After header (429)
};

// 400 with `param` taken from the message's "field.path: ..." prefix when it has one.
ApiError bad_request(const std::string& message);
ApiError bad_request(const std::string& message, const std::string& param, const std::string& code = {});
ApiError unauthorized();
ApiError model_not_found(const std::string& model);
ApiError route_not_found(const std::string& method, const std::string& path);
ApiError method_not_allowed(const std::string& method, const std::string& path);
ApiError payload_too_large(int64_t limit_bytes);
ApiError overloaded(const std::string& message, int64_t retry_after_s);
ApiError unavailable(const std::string& message);
ApiError server_error(const std::string& message);

// The error for a failed Status: invalid arguments -> 400, exhausted queues -> 429,
// unavailable -> 503, anything else -> 500.
ApiError from_status(const Status& status, int64_t retry_after_s);

// The field path a message starts with ("messages[0].role: ..." -> "messages[0].role"), or
// "" when the text before the first ": " is not a path. Engine messages name sampling
// fields without a colon ("temperature must be ..."): those are recognised by name.
std::string param_of_message(const std::string& message);

// {"error": {...}} as compact JSON.
std::string error_json(const ApiError& error);

}  // namespace dsv4::server
