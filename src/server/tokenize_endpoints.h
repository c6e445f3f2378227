// POST /tokenize and POST /detokenize (vLLM's shapes), and the small GET endpoints:
// /v1/models (+ /v1/models/{id}), /health, /version, /metrics.
//
// /tokenize takes {"prompt": text} (tokenized exactly as /v1/completions would: BOS first
// unless add_special_tokens is false) or {"messages": [...]} with the chat parameters
// (rendered exactly as /v1/chat/completions would, thinking mode and prefill included), and
// answers {"count", "max_model_len", "tokens"} (+ "token_strs" with return_token_strs).
// /detokenize takes {"tokens": [...]} and answers {"prompt": text}.
#pragma once

#include <string>

#include "server/server_context.h"

namespace dsv4::server {

HttpReply handle_tokenize(ServerContext& ctx, const EndpointRequest& request);
HttpReply handle_detokenize(ServerContext& ctx, const EndpointRequest& request);

HttpReply handle_models(const ServerContext& ctx);
HttpReply handle_model(const ServerContext& ctx, const std::string& id);
HttpReply handle_version(const ServerContext& ctx);
HttpReply handle_metrics(const ServerContext& ctx);

}  // namespace dsv4::server
