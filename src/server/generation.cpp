// max_tokens sizing, submission and multi-stream reading (see generation.h).
#include "server/generation.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "server/sse.h"

namespace dsv4::server {

std::optional<ApiError> fit_max_tokens(const EngineInfo& info, size_t n_prompt_tokens, std::optional<int64_t> requested,
                                       const char* prompt_param, int32_t* max_tokens) {
  const int64_t n_prompt = static_cast<int64_t>(n_prompt_tokens);
  const int64_t context = info.max_model_len;
  // A request whose prompt + max_tokens needs more pages than the whole cache can never run.
  const int64_t kv_tokens = info.kv_pages > 0 && info.page_tokens > 0 ? info.kv_pages * info.page_tokens
                                                                      : std::numeric_limits<int64_t>::max();
  const std::string where = std::string(" in the ") + (std::string(prompt_param) == "messages" ? "messages" : "prompt");
  if (!requested) {
    const int64_t limit = std::min(context, kv_tokens);
    if (n_prompt >= limit) {
      const std::string what =
          limit == context ? "This model's maximum context length is " : "This server's KV cache holds at most ";
      return bad_request(
          what + std::to_string(limit) + " tokens. However, your request has " + std::to_string(n_prompt) + " tokens" +
              where + " and no room is left for the completion. Please reduce the length of the " + prompt_param + ".",
          prompt_param, "context_length_exceeded");
    }
    *max_tokens = static_cast<int32_t>(std::min<int64_t>(limit - n_prompt, std::numeric_limits<int32_t>::max()));
    return std::nullopt;
  }
  const int64_t total = n_prompt + *requested;
  if (total > context) {
    return bad_request("This model's maximum context length is " + std::to_string(context) +
                           " tokens. However, you requested " + std::to_string(total) + " tokens (" +
                           std::to_string(n_prompt) + where + ", " + std::to_string(*requested) +
                           " in the completion). Please reduce the length of the " + prompt_param + " or completion.",
                       prompt_param, "context_length_exceeded");
  }
  if (total > kv_tokens) {
    return bad_request("The request needs " + std::to_string(total) + " tokens of KV cache (" +
                           std::to_string(n_prompt) + where + ", " + std::to_string(*requested) +
                           " in the completion) but the server's cache holds " + std::to_string(kv_tokens) +
                           ". Please reduce max_tokens or the " + prompt_param + ".",
                       "max_tokens", "context_length_exceeded");
  }
  *max_tokens = static_cast<int32_t>(*requested);
  return std::nullopt;
}

std::optional<ApiError> StreamSet::submit_all(Engine& engine, std::vector<GenerationRequest> requests,
                                              int64_t retry_after_s) {
  for (GenerationRequest& r : requests) {
    const int32_t n_choices = r.sampling.n;
    Result<std::shared_ptr<RequestStream>> s = engine.submit(std::move(r));
    if (!s.is_ok()) {
      cancel_all();
      return from_status(s.status(), retry_after_s);
    }
    streams_.push_back(std::move(s).value());
    ended_.push_back(false);
    open_choices_.push_back(n_choices);
  }
  return std::nullopt;
}

StreamSet::Next StreamSet::next(StreamEvent* event, size_t* stream_index, std::chrono::milliseconds wait) {
  const Next r = next_any(event, stream_index, wait);
  // After the last final event nothing more can come: the stream has ended, and it must not
  // be cancelled (which would cost the engine an inbox round trip).
  if (r == Next::kEvent && event->finish != FinishReason::kNone && --open_choices_[*stream_index] <= 0) {
    ended_[*stream_index] = true;
  }
  return r;
}

StreamSet::Next StreamSet::next_any(StreamEvent* event, size_t* stream_index, std::chrono::milliseconds wait) {
  if (all_ended()) return Next::kEnded;
  // One non-blocking pass, starting after the stream served last, then a blocking wait on
  // the first open stream (others are polled again on the next call).
  const size_t n = streams_.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (cursor_ + k) % n;
    if (ended_[i]) continue;
    bool timed_out = false;
    if (streams_[i]->next_for(event, std::chrono::milliseconds(0), &timed_out)) {
      cursor_ = (i + 1) % n;
      *stream_index = i;
      return Next::kEvent;
    }
    if (!timed_out) ended_[i] = true;
  }
  if (all_ended()) return Next::kEnded;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (cursor_ + k) % n;
    if (ended_[i]) continue;
    // With several streams, wait in short slices so that the others are not starved.
    const std::chrono::milliseconds slice = n == 1 ? wait : std::min(wait, std::chrono::milliseconds(2));
    bool timed_out = false;
    if (streams_[i]->next_for(event, slice, &timed_out)) {
      cursor_ = (i + 1) % n;
      *stream_index = i;
      return Next::kEvent;
    }
    if (!timed_out) {
      ended_[i] = true;
      return all_ended() ? Next::kEnded : Next::kIdle;
    }
    return Next::kIdle;
  }
  return Next::kEnded;
}

void StreamSet::cancel_all() {
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (!ended_[i]) streams_[i]->cancel();
  }
}

bool StreamSet::all_ended() const {
  return std::all_of(ended_.begin(), ended_.end(), [](bool e) { return e; });
}

Usage StreamSet::usage() const {
  Usage u;
  for (const auto& s : streams_) {
    const Usage one = s->usage();
    u.prompt_tokens += one.prompt_tokens;
    u.cached_prompt_tokens += one.cached_prompt_tokens;
    u.completion_tokens += one.completion_tokens;
  }
  return u;
}

const char* metric_finish_reason(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kNone:
    case FinishReason::kCancelled:
      return "abort";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

std::string failure_message(FinishReason finish, const std::string& error) {
  if (finish == FinishReason::kError) return "the engine failed this request: " + error;
  return "the generation was cancelled" + (error.empty() ? std::string() : ": " + error);
}

namespace {

class RunStreamProducer final : public StreamProducer {
 public:
  explicit RunStreamProducer(std::unique_ptr<GenerationRun> run) : run_(std::move(run)) {}
  ~RunStreamProducer() override { finish(); }  // the StreamSet inside cancels

  Step step(ChunkSink& sink) override {
    std::string out;
    if (!started_) {
      started_ = true;
      run_->stream_start(&out);
    }
    // Wait up to one slice for events, then send everything that is ready in one write.
    bool ended = false;
    std::chrono::milliseconds wait = kPollSlice;
    const auto deadline = std::chrono::steady_clock::now() + kPollSlice;
    while (std::chrono::steady_clock::now() < deadline) {
      StreamEvent ev;
      size_t which = 0;
      const StreamSet::Next r = run_->streams().next(&ev, &which, wait);
      if (r == StreamSet::Next::kEnded) {
        ended = true;
        break;
      }
      if (r == StreamSet::Next::kIdle) break;
      run_->on_event(ev, which, &out);
      if (!run_->failure().empty()) {
        ended = true;
        break;
      }
      wait = std::chrono::milliseconds(0);
    }
    if (ended) {
      if (!run_->failure().empty()) {
        append_error_event(run_->failure(), &out);
      } else {
        run_->stream_end(&out);
      }
      out.append(kSseDone);
      finish();  // before the last write: a client that read [DONE] sees the request done
    }
    if (!out.empty() && !sink.write(out)) return Step::kAbort;
    if (ended) return Step::kDone;
    if (run_->ctx().stopping.load() || !sink.client_alive()) return Step::kAbort;
    return Step::kMore;
  }

 private:
  void finish() {
    if (std::exchange(finished_, true)) return;
    run_->finish_metrics();
    run_->release_slot();
  }

  std::unique_ptr<GenerationRun> run_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<StreamProducer> make_stream_producer(std::unique_ptr<GenerationRun> run) {
  return std::make_shared<RunStreamProducer>(std::move(run));
}

HttpReply collect_reply(GenerationRun& run, const EndpointRequest& request) {
  auto last_check = std::chrono::steady_clock::now();
  for (;;) {
    StreamEvent ev;
    size_t which = 0;
    const StreamSet::Next r = run.streams().next(&ev, &which, kPollSlice);
    if (r == StreamSet::Next::kEnded) break;
    if (r == StreamSet::Next::kEvent) {
      run.on_event(ev, which, nullptr);
      if (!run.failure().empty()) break;
    }
    // Events may keep coming for a long time: check the client on the clock, not only when idle.
    const auto now = std::chrono::steady_clock::now();
    if (r == StreamSet::Next::kIdle || now - last_check >= kPollSlice) {
      last_check = now;
      if (run.ctx().stopping.load()) return error_reply(unavailable("the server is shutting down"));
      if (request.client_gone()) return error_reply(unavailable("the client disconnected"));
    }
  }
  if (!run.failure().empty()) return error_reply(server_error(run.failure()));
  return run.complete_reply();
}

HttpReply run_generation(std::unique_ptr<GenerationRun> run, std::vector<GenerationRequest> requests, bool stream,
                         const EndpointRequest& request) {
  ServerContext& ctx = run->ctx();
  if (std::optional<ApiError> e = run->streams().submit_all(ctx.engine, std::move(requests), ctx.config.retry_after_s)) {
    return error_reply(*e);
  }
  if (!stream) {
    HttpReply reply = collect_reply(*run, request);
    run->finish_metrics();
    return reply;
  }
  HttpReply reply;
  reply.content_type = kSseContentType;
  reply.stream = make_stream_producer(std::move(run));
  return reply;
}

HttpReply overloaded_reply(const ServerContext& ctx) {
  return error_reply(overloaded(
      "too many requests in flight (" + std::to_string(ctx.config.max_concurrent_requests) + "); retry later",
      ctx.config.retry_after_s));
}

}  // namespace dsv4::server
