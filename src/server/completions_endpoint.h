// POST /v1/completions: raw text completion.
//
// `prompt` is a string, an array of strings, an array of token ids or an array of such
// arrays; each prompt becomes one engine request and its choices are numbered
// prompt_index * n + choice, as OpenAI numbers them. Text prompts start with BOS unless
// they already do (or add_special_tokens is false); token prompts are used as given.
// `suffix` renders a fill-in-the-middle prompt (text/fim.h; the layout of the earlier
// DeepSeek coder models, unverified for V4). `echo` prepends the prompt text;
// echo with logprobs is refused because prompt logprobs are not computed. `logprobs: k`
// returns OpenAI's legacy logprobs object. Output is detokenized with
// skip_special_tokens (default true, as vLLM) and cut at stop strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/server_context.h"

namespace dsv4::server {

HttpReply handle_completions(ServerContext& ctx, const EndpointRequest& request);

// A text prompt's token ids: BOS (unless `add_bos` is false or the text starts with the BOS
// text) followed by the text, special-token texts matched as such. /tokenize uses it too.
std::vector<int32_t> encode_completion_prompt(const text::Tokenizer& tokenizer, const std::string& text, bool add_bos);

}  // namespace dsv4::server
