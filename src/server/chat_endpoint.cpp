// The chat completions endpoint (see chat_endpoint.h).
#include "server/chat_endpoint.h"

#include "server/chat_request.h"
#include "server/chat_stream.h"
#include "server/generation.h"
#include "text/chat_encoding.h"

namespace dsv4::server {

namespace {

// One chat request in flight: its stream, one decoder per choice, and the response state.
class ChatRun final : public GenerationRun {
 public:
  ChatRun(ServerContext& ctx, ChatPlan plan, ResponseHeader header, GenerationSlot slot)
      : ctx_(ctx),
        plan_(std::move(plan)),
        writer_(header),
        header_(std::move(header)),
        slot_(std::move(slot)),
        timer_(&ctx.metrics) {
    const size_t max_calls =
        plan_.tool_choice == ToolChoice::kNone ? 0 : (plan_.parallel_tool_calls ? SIZE_MAX : size_t{1});
    const uint64_t seed = random_u64();
    for (int32_t i = 0; i < plan_.sampling.n; ++i) {
      ChoiceDecoderOptions o;
      o.parse_chat = true;
      o.thinking_mode = plan_.encode.thinking_mode;
      o.call_id_seed = seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
      o.max_tool_calls = max_calls;
      o.prefill = plan_.prefill;
      o.stops = plan_.sampling.stop;
      choices_.emplace_back(ctx.tokenizer, ctx.think_end_id, std::move(o));
    }
    logprobs_.resize(choices_.size());
  }

  ServerContext& ctx() override { return ctx_; }
  StreamSet& streams() override { return streams_; }
  const std::string& failure() const override { return failure_; }

  void on_event(const StreamEvent& ev, size_t /*stream_index*/, std::string* out) override {
    if (ev.choice < 0 || static_cast<size_t>(ev.choice) >= choices_.size()) return;
    const size_t c = static_cast<size_t>(ev.choice);
    timer_.on_tokens(ev.tokens.size());
    events_.clear();
    choices_[c].push(ev, &events_);
    if (plan_.logprobs && !ev.tokens.empty()) {
      if (logprobs_[c].is_null()) logprobs_[c] = Json{{"content", Json::array()}};
      append_chat_logprobs(ctx_.tokenizer, ev.tokens, plan_.top_logprobs, &logprobs_[c]["content"]);
    }
    if (ev.finish != FinishReason::kNone) {
      if (!first_finish_) first_finish_ = ev.finish;
      if (ev.finish == FinishReason::kError || ev.finish == FinishReason::kCancelled) {
        failure_ = failure_message(ev.finish, ev.error);
      }
    }
    if (out == nullptr) return;
    writer_.event_chunks(ev.choice, events_, &logprobs_[c], out);
    if (ev.finish != FinishReason::kNone && failure_.empty()) {
      writer_.final_chunk(ev.choice, chat_finish_reason(choices_[c]), std::exchange(logprobs_[c], Json()),
                          output_error(choices_[c], plan_.json_object), out);
    }
  }

  void stream_start(std::string* out) override {
    for (int32_t i = 0; i < plan_.sampling.n; ++i) writer_.role_chunk(i, out);
  }

  void stream_end(std::string* out) override {
    if (header_.include_usage) writer_.usage_chunk(usage_json(streams_.usage(), reasoning_tokens(), ctx_.prices), out);
  }

  HttpReply complete_reply() override {
    const Usage usage = streams_.usage();
    Json choices = Json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      Json c = Json::object();
      c["index"] = i;
      c["message"] = chat_message_json(choices_[i], plan_.encode.thinking_mode == text::ThinkingMode::kThinking);
      c["logprobs"] = logprobs_[i];
      c["finish_reason"] = chat_finish_reason(choices_[i]);
      Json err = output_error(choices_[i], plan_.json_object);
      if (!err.is_null()) c["output_error"] = std::move(err);
      choices.push_back(std::move(c));
    }
    Json r = Json::object();
    r["id"] = header_.id;
    r["object"] = "chat.completion";
    r["created"] = header_.created;
    r["model"] = header_.model;
    r["choices"] = std::move(choices);
    r["usage"] = usage_json(usage, reasoning_tokens(), ctx_.prices);
    r["system_fingerprint"] = header_.fingerprint.empty() ? Json() : Json(header_.fingerprint);
    HttpReply reply = json_reply(dump_json(r));
    if (ctx_.prices.enabled())
      reply.headers.emplace_back(kCostHeader, usd_text(compute_cost(usage, ctx_.prices).total()));
    return reply;
  }

  void release_slot() override { slot_.release(); }

  void finish_metrics() override {
    timer_.on_finish(metric_finish_reason(first_finish_.value_or(FinishReason::kCancelled)));
  }

 private:
  int64_t reasoning_tokens() const {
    int64_t n = 0;
    for (const ChoiceDecoder& d : choices_) n += d.n_reasoning_tokens();
    return n;
  }

  ServerContext& ctx_;
  ChatPlan plan_;
  ChatChunkWriter writer_;
  ResponseHeader header_;
  GenerationSlot slot_;
  RequestTimer timer_;
  StreamSet streams_;  // after the decoders' inputs, before nothing that outlives it
  std::vector<ChoiceDecoder> choices_;
  std::vector<Json> logprobs_;  // per choice: pending {"content": [...]} or null
  std::vector<text::OutputEvent> events_;
  std::optional<FinishReason> first_finish_;
  std::string failure_;
};

}  // namespace

HttpReply handle_chat_completions(ServerContext& ctx, const EndpointRequest& request) {
  const text::JsonValue& body = *request.body;
  if (!body.is_object()) return error_reply(bad_request("the request body must be a JSON object", ""));
  ApiError error;
  const std::optional<std::string> model = ctx.resolve_model(body, &error);
  if (!model) return error_reply(error);
  Result<ChatPlan> plan = parse_chat_plan(body, ctx.config.default_thinking);
  if (!plan.is_ok()) return error_reply(bad_request(plan.status().message()));

  Result<std::string> prompt = text::encode_chat(plan->messages, plan->encode);
  if (!prompt.is_ok()) return error_reply(bad_request(prompt.status().message()));
  GenerationRequest gen;
  gen.prompt = ctx.tokenizer.encode(*prompt + plan->prefill, /*add_special_tokens=*/false);
  if (std::optional<ApiError> e = fit_max_tokens(ctx.engine.info(), gen.prompt.size(), plan->max_tokens, "messages",
                                                 &plan->sampling.max_tokens)) {
    return error_reply(*e);
  }
  gen.sampling = plan->sampling;

  std::optional<GenerationSlot> slot = GenerationSlot::acquire(ctx);
  if (!slot) return overloaded_reply(ctx);
  ResponseHeader header;
  header.id = random_id("chatcmpl-");
  header.created = unix_seconds_now();
  header.model = *model;
  header.fingerprint = ctx.fingerprint;
  header.include_usage = plan->stream && plan->include_usage;
  const bool stream = plan->stream;
  auto run = std::make_unique<ChatRun>(ctx, std::move(plan).value(), std::move(header), std::move(*slot));
  std::vector<GenerationRequest> requests;
  requests.push_back(std::move(gen));
  return run_generation(std::move(run), std::move(requests), stream, request);
}

}  // namespace dsv4::server
