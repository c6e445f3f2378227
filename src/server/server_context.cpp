// ServerContext, replies and generation slots (see server_context.h).
#include "server/server_context.h"

#include <algorithm>

#include "server/json_out.h"

namespace dsv4::server {

HttpReply json_reply(std::string body, int status) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpReply error_reply(const ApiError& error) {
  HttpReply r = json_reply(error_json(error), error.status);
  if (error.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(error.retry_after_s));
  return r;
}

ServerContext::ServerContext(const ServerConfig& c, Engine& e, const text::Tokenizer& t)
    : config(c),
      engine(e),
      tokenizer(t),
      metrics(c.served_model_name.empty() ? "deepseek-v4-flash" : c.served_model_name, e.info().device) {
  prices.input = c.price_input;
  prices.cached_input = c.price_cached_input;
  prices.output = c.price_output;
  for (const std::string& name :
       {c.served_model_name, std::string("deepseek-v4-flash"), std::string("deepseek/deepseek-v4-flash")}) {
    if (!name.empty() && std::find(model_names.begin(), model_names.end(), name) == model_names.end()) {
      model_names.push_back(name);
    }
  }
  think_end_id = t.token_to_id("</think>");
  created_unix = unix_seconds_now();
  if (!c.version.empty()) fingerprint = "fp_dsv4_" + c.version;
}

std::optional<std::string> ServerContext::resolve_model(const text::JsonValue& body, ApiError* error) const {
  const text::JsonValue* m = body.find("model");
  if (m == nullptr || m->is_null()) return model_names.front();
  if (!m->is_string()) {
    *error =
        bad_request(std::string("model: expected a string, got ") + text::JsonValue::kind_name(m->kind()), "model");
    return std::nullopt;
  }
  if (std::find(model_names.begin(), model_names.end(), m->text()) == model_names.end()) {
    *error = model_not_found(m->text());
    return std::nullopt;
  }
  return m->text();
}

std::optional<GenerationSlot> GenerationSlot::acquire(ServerContext& ctx) {
  const int64_t limit = std::max<int64_t>(1, ctx.config.max_concurrent_requests);
  if (ctx.n_generating.fetch_add(1) >= limit) {
    ctx.n_generating.fetch_sub(1);
    return std::nullopt;
  }
  return GenerationSlot(&ctx);
}

void GenerationSlot::release() {
  if (ctx_ != nullptr) std::exchange(ctx_, nullptr)->n_generating.fetch_sub(1);
}

}  // namespace dsv4::server
