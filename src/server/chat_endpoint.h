// POST /v1/chat/completions.
//
// body -> ChatPlan -> DeepSeek-V4 prompt (+ prefill) -> token ids -> Engine::submit, then
// per choice tokens -> ChoiceDecoder -> OpenAI chunks (stream) or one JSON response with
// usage, cost and the x-dsv4-cost-usd header. A streaming request holds its HTTP worker
// for its life; dropping the stream producer (client gone, server stopping) cancels the
// generation and frees its KV pages.
#pragma once

#include "server/server_context.h"

namespace dsv4::server {

HttpReply handle_chat_completions(ServerContext& ctx, const EndpointRequest& request);

}  // namespace dsv4::server
