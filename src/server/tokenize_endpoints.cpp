// Tokenize / detokenize and the informational endpoints (see tokenize_endpoints.h).
#include "server/tokenize_endpoints.h"

#include <algorithm>
#include <limits>

#include "server/chat_request.h"
#include "server/completions_endpoint.h"
#include "server/request_fields.h"
#include "text/chat_encoding.h"
#include "text/utf8.h"

namespace dsv4::server {

using text::JsonValue;

HttpReply handle_tokenize(ServerContext& ctx, const EndpointRequest& request) {
  const JsonValue& body = *request.body;
  if (!body.is_object()) return error_reply(bad_request("the request body must be a JSON object", ""));
  ApiError error;
  if (!ctx.resolve_model(body, &error)) return error_reply(error);
  const FieldReader f(body);
  std::vector<int32_t> ids;
  if (f.get("messages") != nullptr) {
    Result<ChatPlan> plan = parse_chat_plan(body, ctx.config.default_thinking);
    if (!plan.is_ok()) return error_reply(bad_request(plan.status().message()));
    Result<std::string> prompt = text::encode_chat(plan->messages, plan->encode);
    if (!prompt.is_ok()) return error_reply(bad_request(prompt.status().message()));
    ids = ctx.tokenizer.encode(*prompt + plan->prefill, /*add_special_tokens=*/false);
  } else {
    std::optional<std::string> prompt;
    if (Status s = f.read_string("prompt", &prompt); !s.is_ok()) return error_reply(bad_request(s.message()));
    if (!prompt) return error_reply(bad_request("prompt: missing (send \"prompt\" or \"messages\")", "prompt"));
    std::optional<bool> add_special;
    if (Status s = f.read_bool("add_special_tokens", &add_special); !s.is_ok())
      return error_reply(bad_request(s.message()));
    ids = encode_completion_prompt(ctx.tokenizer, *prompt, add_special.value_or(true));
  }
  std::optional<bool> strs;
  if (Status s = f.read_bool("return_token_strs", &strs); !s.is_ok()) return error_reply(bad_request(s.message()));
  Json r = Json::object();
  r["count"] = ids.size();
  r["max_model_len"] = ctx.engine.info().max_model_len;
  r["tokens"] = ids;
  if (strs.value_or(false)) {
    Json t = Json::array();
    for (int32_t id : ids) t.push_back(text::to_valid_utf8(ctx.tokenizer.token_bytes(id)));
    r["token_strs"] = std::move(t);
  }
  return json_reply(dump_json(r));
}

HttpReply handle_detokenize(ServerContext& ctx, const EndpointRequest& request) {
  const JsonValue& body = *request.body;
  if (!body.is_object()) return error_reply(bad_request("the request body must be a JSON object", ""));
  ApiError error;
  if (!ctx.resolve_model(body, &error)) return error_reply(error);
  const JsonValue* tokens = body.find("tokens");
  if (tokens == nullptr || tokens->is_null()) return error_reply(bad_request("tokens: missing", "tokens"));
  if (!tokens->is_array())
    return error_reply(bad_request(type_error("tokens", "an array of token ids", *tokens).message()));
  const int64_t vocab = static_cast<int64_t>(ctx.tokenizer.vocab_size());
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens->size(); ++i) {
    Result<int64_t> id = integer_value(tokens->items()[i], "tokens[" + std::to_string(i) + "]", 0, vocab - 1);
    if (!id.is_ok()) return error_reply(bad_request(id.status().message()));
    ids.push_back(static_cast<int32_t>(*id));
  }
  Json r = Json::object();
  r["prompt"] = ctx.tokenizer.decode(ids);
  return json_reply(dump_json(r));
}

namespace {

Json model_card(const ServerContext& ctx, const std::string& name) {
  Json m = Json::object();
  m["id"] = name;
  m["object"] = "model";
  m["created"] = ctx.created_unix;
  m["owned_by"] = "dsv4";
  m["root"] = ctx.model_names.front();
  m["max_model_len"] = ctx.engine.info().max_model_len;
  return m;
}

}  // namespace

HttpReply handle_models(const ServerContext& ctx) {
  Json data = Json::array();
  for (const std::string& name : ctx.model_names) data.push_back(model_card(ctx, name));
  Json r = Json::object();
  r["object"] = "list";
  r["data"] = std::move(data);
  return json_reply(dump_json(r));
}

HttpReply handle_model(const ServerContext& ctx, const std::string& id) {
  if (std::find(ctx.model_names.begin(), ctx.model_names.end(), id) == ctx.model_names.end()) {
    return error_reply(model_not_found(id));
  }
  return json_reply(dump_json(model_card(ctx, id)));
}

HttpReply handle_version(const ServerContext& ctx) {
  Json r = Json::object();
  r["version"] = ctx.config.version;
  return json_reply(dump_json(r));
}

HttpReply handle_metrics(const ServerContext& ctx) {
  HttpReply r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics.render(ctx.engine.metrics());
  return r;
}

}  // namespace dsv4::server
