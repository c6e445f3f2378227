// OpenAI error bodies and status mapping (see openai_errors.h).
#include "server/openai_errors.h"

#include <array>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/json_out.h"

namespace dsv4::server {
namespace {

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '[' || c == ']';
}

// Engine (runtime/sampler_params.cpp) messages start with the SamplingParams field name;
// the ones whose OpenAI name differs are renamed.
std::string engine_field_param(std::string_view message) {
  static constexpr std::array<std::string_view, 14> kFields = {
      "temperature", "top_p", "top_k",      "min_p",      "presence_penalty", "frequency_penalty", "repetition_penalty",
      "logprobs",    "n",     "max_tokens", "min_tokens", "logit_bias",       "stop_token_ids",    "stop"};
  for (std::string_view f : kFields) {
    if (message.size() > f.size() && message.substr(0, f.size()) == f &&
        (message[f.size()] == ' ' || message[f.size()] == ':')) {
      if (f == "logprobs") return "top_logprobs";
      return std::string(f);
    }
  }
  return {};
}

}  // namespace

std::string param_of_message(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon != std::string::npos && colon > 0) {
    bool path = true;
    for (size_t i = 0; i < colon; ++i) path = path && is_path_char(message[i]);
    if (path) return message.substr(0, colon);
  }
  return engine_field_param(message);
}

ApiError bad_request(const std::string& message) { return bad_request(message, param_of_message(message)); }

ApiError bad_request(const std::string& message, const std::string& param, const std::string& code) {
  ApiError e;
  e.status = 400;
  e.message = message;
  e.param = param;
  e.code = code;
  return e;
}

ApiError unauthorized() {
  ApiError e;
  e.status = 401;
  e.message = "Incorrect or missing API key: send it as \"Authorization: Bearer <key>\".";
  e.code = "invalid_api_key";
  return e;
}

ApiError model_not_found(const std::string& model) {
  ApiError e;
  e.status = 404;
  e.message = "The model `" + model + "` does not exist (GET /v1/models lists the served names).";
  e.param = "model";
  e.code = "model_not_found";
  return e;
}

ApiError route_not_found(const std::string& method, const std::string& path) {
  ApiError e;
  e.status = 404;
  e.message = "Unknown route: " + method + " " + path;
  e.type = "not_found_error";
  return e;
}

ApiError method_not_allowed(const std::string& method, const std::string& path) {
  ApiError e;
  e.status = 405;
  e.message = method + " is not allowed on " + path;
  e.code = "method_not_allowed";
  return e;
}

ApiError payload_too_large(int64_t limit_bytes) {
  ApiError e;
  e.status = 413;
  e.message = "The request body is larger than the server's limit of " + std::to_string(limit_bytes) + " bytes.";
  e.code = "request_too_large";
  return e;
}

ApiError overloaded(const std::string& message, int64_t retry_after_s) {
  ApiError e;
  e.status = 429;
  e.message = message;
  e.type = "rate_limit_error";
  e.code = "rate_limit_exceeded";
  e.retry_after_s = retry_after_s > 0 ? retry_after_s : 1;
  return e;
}

ApiError unavailable(const std::string& message) {
  ApiError e;
  e.status = 503;
  e.message = message;
  e.type = "server_error";
  e.code = "service_unavailable";
  return e;
}

ApiError server_error(const std::string& message) {
  ApiError e;
  e.status = 500;
  e.message = message;
  e.type = "server_error";
  return e;
}

ApiError from_status(const Status& status, int64_t retry_after_s) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kNotFound:
      return bad_request(status.message());
    case StatusCode::kResourceExhausted:
      return overloaded(status.message(), retry_after_s);
    case StatusCode::kUnavailable:
      return unavailable(status.message());
    case StatusCode::kOk:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      break;
  }
  return server_error(status.to_string());
}

std::string error_json(const ApiError& error) {
  Json inner = Json::object();
  inner["message"] = error.message;
  inner["type"] = error.type;
  inner["param"] = error.param.empty() ? Json() : Json(error.param);
  inner["code"] = error.code.empty() ? Json() : Json(error.code);
  Json body = Json::object();
  body["error"] = std::move(inner);
  return dump_json(body);
}

}  // namespace dsv4::server
