// The completions endpoint (see completions_endpoint.h).
#include "server/completions_endpoint.h"

#include <limits>

#include "server/choice_decoder.h"
#include "server/generation.h"
#include "server/request_fields.h"
#include "server/sampling_request.h"
#include "server/sse.h"
#include "text/fim.h"
#include "text/utf8.h"

namespace dsv4::server {

std::vector<int32_t> encode_completion_prompt(const text::Tokenizer& tok, const std::string& text, bool add_bos) {
  std::vector<int32_t> ids;
  // The model was trained with BOS first, and the tokenizer's post-processor adds nothing.
  if (add_bos && tok.bos_id() >= 0 && text.rfind(tok.bos_text(), 0) != 0) ids.push_back(tok.bos_id());
  tok.encode_append(text, /*add_special_tokens=*/false, &ids);
  return ids;
}

namespace {

using text::JsonValue;

// OpenAI's (and vLLM's) default max_tokens for legacy completions.
constexpr int64_t kDefaultCompletionTokens = 16;

struct CompletionPlan {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> prompt_texts;  // for echo
  SamplingParams sampling;
  std::optional<int64_t> max_tokens;
  bool stream = false;
  bool include_usage = false;
  bool echo = false;
  int32_t logprobs = -1;  // -1: none
  bool skip_special_tokens = true;
};

Status read_token_prompt(const JsonValue& v, const std::string& path, std::vector<int32_t>* out) {
  if (v.size() == 0) return invalid_argument(path + ": the prompt is empty");
  for (size_t i = 0; i < v.size(); ++i) {
    DSV4_ASSIGN_OR_RETURN(const int64_t id, integer_value(v.items()[i], path + "[" + std::to_string(i) + "]", 0,
                                                          std::numeric_limits<int32_t>::max()));
    out->push_back(static_cast<int32_t>(id));
  }
  return Status::ok();
}

Status read_prompts(const FieldReader& f, const text::Tokenizer& tok, CompletionPlan* plan) {
  const JsonValue* p = f.get("prompt");
  if (p == nullptr) return invalid_argument("prompt: missing");
  std::optional<std::string> suffix;
  DSV4_RETURN_IF_ERROR(f.read_string("suffix", &suffix));
  std::optional<bool> add_special;
  DSV4_RETURN_IF_ERROR(f.read_bool("add_special_tokens", &add_special));
  const bool add_bos = add_special.value_or(true);
  std::vector<std::string> texts;
  if (p->is_string()) {
    texts.push_back(p->text());
  } else if (p->is_array()) {
    if (p->size() == 0) return invalid_argument("prompt: the array is empty");
    const JsonValue& first = p->items()[0];
    if (first.kind() == JsonValue::Kind::kNumber) {
      plan->prompts.emplace_back();
      DSV4_RETURN_IF_ERROR(read_token_prompt(*p, "prompt", &plan->prompts.back()));
    } else {
      for (size_t i = 0; i < p->size(); ++i) {
        const JsonValue& item = p->items()[i];
        const std::string path = "prompt[" + std::to_string(i) + "]";
        if (item.is_string() && first.is_string()) {
          texts.push_back(item.text());
        } else if (item.is_array() && first.is_array()) {
          plan->prompts.emplace_back();
          DSV4_RETURN_IF_ERROR(read_token_prompt(item, path, &plan->prompts.back()));
        } else {
          return type_error(
              path, first.is_string() ? "a string (like prompt[0])" : "an array of token ids (like prompt[0])", item);
        }
      }
    }
  } else {
    return type_error("prompt", "a string, an array of strings, or token ids", *p);
  }
  if (suffix && texts.empty()) return invalid_argument("suffix: needs a text prompt (fill-in-the-middle)");
  for (const std::string& t : texts) {
    if (suffix) {
      plan->prompts.push_back(tok.encode(text::render_fim_prompt(t, *suffix, add_bos), /*add_special_tokens=*/false));
    } else {
      plan->prompts.push_back(encode_completion_prompt(tok, t, add_bos));
    }
    plan->prompt_texts.push_back(t);
  }
  if (plan->prompt_texts.empty()) {
    for (const std::vector<int32_t>& ids : plan->prompts) plan->prompt_texts.push_back(tok.decode(ids));
  }
  if (plan->prompts.size() > 64) return invalid_argument("prompt: at most 64 prompts per request");
  return Status::ok();
}

Result<CompletionPlan> parse_completion_plan(const JsonValue& body, const text::Tokenizer& tok) {
  CompletionPlan plan;
  const FieldReader f(body);
  DSV4_RETURN_IF_ERROR(read_prompts(f, tok, &plan));
  DSV4_ASSIGN_OR_RETURN(SamplingFields s, read_sampling_fields(body, /*chat=*/false));
  plan.sampling = std::move(s.params);
  plan.max_tokens = s.max_tokens ? s.max_tokens : kDefaultCompletionTokens;
  std::optional<bool> b;
  DSV4_RETURN_IF_ERROR(f.read_bool("stream", &b));
  plan.stream = b.value_or(false);
  if (const JsonValue* so = f.get("stream_options")) {
    if (!so->is_object()) return type_error("stream_options", "an object", *so);
    std::optional<bool> usage;
    DSV4_RETURN_IF_ERROR(FieldReader(*so, "stream_options").read_bool("include_usage", &usage));
    plan.include_usage = plan.stream && usage.value_or(false);
  }
  b.reset();
  DSV4_RETURN_IF_ERROR(f.read_bool("echo", &b));
  plan.echo = b.value_or(false);
  b.reset();
  DSV4_RETURN_IF_ERROR(f.read_bool("skip_special_tokens", &b));
  plan.skip_special_tokens = b.value_or(true);
  std::optional<int64_t> lp;
  DSV4_RETURN_IF_ERROR(f.read_int("logprobs", 0, 20, &lp));
  plan.logprobs = lp ? static_cast<int32_t>(*lp) : -1;
  plan.sampling.logprobs = plan.logprobs;
  if (plan.echo && plan.logprobs >= 0) {
    return invalid_argument("echo: echo together with logprobs is not supported (prompt logprobs are not computed)");
  }
  std::optional<int64_t> best_of;
  DSV4_RETURN_IF_ERROR(f.read_int("best_of", 1, 128, &best_of));
  if (best_of && *best_of != plan.sampling.n) {
    return invalid_argument("best_of: only best_of == n is supported (no server-side ranking)");
  }
  return plan;
}

// OpenAI's legacy logprobs object for one choice, grown as tokens arrive.
class LegacyLogprobs {
 public:
  void append(const text::Tokenizer& tok, const std::vector<GeneratedToken>& tokens, int32_t top) {
    if (json_.is_null()) {
      json_ = Json{{"tokens", Json::array()},
                   {"token_logprobs", Json::array()},
                   {"top_logprobs", Json::array()},
                   {"text_offset", Json::array()}};
    }
    for (const GeneratedToken& t : tokens) {
      const std::string_view raw = tok.token_bytes(t.token);
      json_["tokens"].push_back(text::to_valid_utf8(raw));
      json_["token_logprobs"].push_back(float_json(t.logprob));
      Json alts = Json::object();
      for (size_t k = 0; k < t.top.size() && static_cast<int32_t>(k) < top; ++k) {
        alts[text::to_valid_utf8(tok.token_bytes(t.top[k].token))] = float_json(t.top[k].logprob);
      }
      json_["top_logprobs"].push_back(std::move(alts));
      json_["text_offset"].push_back(offset_);
      offset_ += static_cast<int64_t>(raw.size());
    }
  }
  Json take() { return std::exchange(json_, Json()); }
  const Json& json() const { return json_; }

 private:
  Json json_;
  int64_t offset_ = 0;
};

class CompletionRun final : public GenerationRun {
 public:
  CompletionRun(ServerContext& ctx, CompletionPlan plan, std::string id, std::string model, GenerationSlot slot)
      : ctx_(ctx),
        plan_(std::move(plan)),
        id_(std::move(id)),
        model_(std::move(model)),
        created_(unix_seconds_now()),
        slot_(std::move(slot)),
        timer_(&ctx.metrics) {
    const size_t n = static_cast<size_t>(plan_.sampling.n);
    for (size_t i = 0; i < plan_.prompts.size() * n; ++i) {
      ChoiceDecoderOptions o;
      o.parse_chat = false;
      o.skip_special_tokens = plan_.skip_special_tokens;
      o.stops = plan_.sampling.stop;
      choices_.emplace_back(ctx.tokenizer, ctx.think_end_id, std::move(o));
    }
    logprobs_.resize(choices_.size());
  }

  ServerContext& ctx() override { return ctx_; }
  StreamSet& streams() override { return streams_; }
  const std::string& failure() const override { return failure_; }

  void on_event(const StreamEvent& ev, size_t stream_index, std::string* out) override {
    const size_t c = stream_index * static_cast<size_t>(plan_.sampling.n) + static_cast<size_t>(ev.choice);
    if (ev.choice < 0 || c >= choices_.size()) return;
    timer_.on_tokens(ev.tokens.size());
    events_.clear();
    choices_[c].push(ev, &events_);
    if (plan_.logprobs >= 0 && !ev.tokens.empty()) logprobs_[c].append(ctx_.tokenizer, ev.tokens, plan_.logprobs);
    if (ev.finish != FinishReason::kNone) {
      if (!first_finish_) first_finish_ = ev.finish;
      if (ev.finish == FinishReason::kError || ev.finish == FinishReason::kCancelled) {
        failure_ = failure_message(ev.finish, ev.error);
      }
    }
    if (out == nullptr) return;
    std::string text;
    for (const text::OutputEvent& e : events_) text += e.text;
    const bool final = ev.finish != FinishReason::kNone && failure_.empty();
    if (!text.empty() || final) {
      append_sse_data(dump_json(chunk(c, text, logprobs_[c].take(), final ? finish_reason(choices_[c]) : nullptr)),
                      out);
    }
  }

  void stream_start(std::string* out) override {
    if (!plan_.echo) return;
    for (size_t c = 0; c < choices_.size(); ++c) {
      append_sse_data(dump_json(chunk(c, prompt_text(c), Json(), nullptr)), out);
    }
  }

  void stream_end(std::string* out) override {
    if (!plan_.include_usage) return;
    Json u = base();
    u["choices"] = Json::array();
    u["usage"] = usage_json(streams_.usage(), 0, ctx_.prices);
    append_sse_data(dump_json(u), out);
  }

  HttpReply complete_reply() override {
    const Usage usage = streams_.usage();
    Json choices = Json::array();
    for (size_t c = 0; c < choices_.size(); ++c) {
      Json j = Json::object();
      j["index"] = c;
      j["text"] = (plan_.echo ? prompt_text(c) : std::string()) + choices_[c].summary().content;
      j["logprobs"] = logprobs_[c].json();
      j["finish_reason"] = finish_reason(choices_[c]);
      choices.push_back(std::move(j));
    }
    Json r = base();
    r["choices"] = std::move(choices);
    r["usage"] = usage_json(usage, 0, ctx_.prices);
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
  static const char* finish_reason(const ChoiceDecoder& d) {
    return d.finish() == FinishReason::kLength ? "length" : "stop";
  }

  const std::string& prompt_text(size_t choice) const {
    return plan_.prompt_texts[choice / static_cast<size_t>(plan_.sampling.n)];
  }

  Json base() const {
    Json r = Json::object();
    r["id"] = id_;
    r["object"] = "text_completion";
    r["created"] = created_;
    r["model"] = model_;
    r["system_fingerprint"] = ctx_.fingerprint.empty() ? Json() : Json(ctx_.fingerprint);
    return r;
  }

  Json chunk(size_t index, const std::string& text, Json logprobs, const char* finish) const {
    Json choice = Json::object();
    choice["index"] = index;
    choice["text"] = text;
    choice["logprobs"] = std::move(logprobs);
    choice["finish_reason"] = finish != nullptr ? Json(finish) : Json();
    Json r = base();
    r["choices"] = Json::array({std::move(choice)});
    if (plan_.include_usage) r["usage"] = Json();
    return r;
  }

  ServerContext& ctx_;
  CompletionPlan plan_;
  std::string id_;
  std::string model_;
  int64_t created_;
  GenerationSlot slot_;
  RequestTimer timer_;
  StreamSet streams_;
  std::vector<ChoiceDecoder> choices_;
  std::vector<LegacyLogprobs> logprobs_;
  std::vector<text::OutputEvent> events_;
  std::optional<FinishReason> first_finish_;
  std::string failure_;
};

}  // namespace

HttpReply handle_completions(ServerContext& ctx, const EndpointRequest& request) {
  const JsonValue& body = *request.body;
  if (!body.is_object()) return error_reply(bad_request("the request body must be a JSON object", ""));
  ApiError error;
  const std::optional<std::string> model = ctx.resolve_model(body, &error);
  if (!model) return error_reply(error);
  Result<CompletionPlan> plan = parse_completion_plan(body, ctx.tokenizer);
  if (!plan.is_ok()) return error_reply(bad_request(plan.status().message()));

  std::vector<GenerationRequest> requests;
  for (std::vector<int32_t>& ids : plan->prompts) {
    GenerationRequest g;
    g.sampling = plan->sampling;
    if (std::optional<ApiError> e =
            fit_max_tokens(ctx.engine.info(), ids.size(), plan->max_tokens, "prompt", &g.sampling.max_tokens)) {
      return error_reply(*e);
    }
    g.prompt = std::move(ids);
    requests.push_back(std::move(g));
  }
  std::optional<GenerationSlot> slot = GenerationSlot::acquire(ctx);
  if (!slot) return overloaded_reply(ctx);
  const bool stream = plan->stream;
  auto run =
      std::make_unique<CompletionRun>(ctx, std::move(plan).value(), random_id("cmpl-"), *model, std::move(*slot));
  return run_generation(std::move(run), std::move(requests), stream, request);
}

}  // namespace dsv4::server
