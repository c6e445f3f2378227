// SSE framing (see sse.h).
#include "server/sse.h"

#include "server/json_out.h"

namespace dsv4::server {

void append_sse_data(std::string_view json, std::string* out) { out->append("data: ").append(json).append("\n\n"); }

void append_error_event(const std::string& message, std::string* out) {
  Json inner = Json::object();
  inner["message"] = message;
  inner["type"] = "server_error";
  inner["param"] = Json();
  inner["code"] = Json();
  Json body = Json::object();
  body["error"] = std::move(inner);
  append_sse_data(dump_json(body), out);
}

}  // namespace dsv4::server
