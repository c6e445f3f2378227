// Between the endpoints and the engine: sizing max_tokens against the context, submitting,
// and reading the event streams of one HTTP request while watching for a client that left
// or a server that is stopping.
//
// A StreamSet owns the engine streams of one HTTP request (one per prompt; completions may
// send several) and cancels every stream that has not ended when it is destroyed. Every
// exit path, an error, a vanished client, a server stop or an exception, therefore frees
// the request's KV pages.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsv4/engine.h"
#include "server/openai_errors.h"
#include "server/server_context.h"

namespace dsv4::server {

// How often waits wake up to check for a vanished client or a server stop.
inline constexpr std::chrono::milliseconds kPollSlice{50};

// Picks max_tokens: the request's, else what is left of the context and of the KV cache.
// Answers OpenAI's context_length_exceeded 400 (with the numbers) when the prompt does not
// fit; `prompt_param` names the prompt field ("messages" or "prompt").
std::optional<ApiError> fit_max_tokens(const EngineInfo& info, size_t n_prompt, std::optional<int64_t> requested,
                                       const char* prompt_param, int32_t* max_tokens);

class StreamSet {
 public:
  StreamSet() = default;
  StreamSet(const StreamSet&) = delete;
  StreamSet& operator=(const StreamSet&) = delete;
  ~StreamSet() { cancel_all(); }

  // Submits every request or none: on the first failure the earlier ones are cancelled.
  std::optional<ApiError> submit_all(Engine& engine, std::vector<GenerationRequest> requests, int64_t retry_after_s);

  enum class Next : uint8_t { kEvent, kIdle, kEnded };
  // The next event of any stream (fair across streams), kIdle after `wait` without one,
  // kEnded once every stream has ended.
  Next next(StreamEvent* event, size_t* stream_index, std::chrono::milliseconds wait);

  void cancel_all();
  bool all_ended() const;
  size_t size() const { return streams_.size(); }
  // Summed over the streams (complete once all have ended).
  Usage usage() const;

 private:
  Next next_any(StreamEvent* event, size_t* stream_index, std::chrono::milliseconds wait);

  std::vector<std::shared_ptr<RequestStream>> streams_;
  std::vector<bool> ended_;
  std::vector<int32_t> open_choices_;  // per stream; a stream whose choices all finished has ended
  size_t cursor_ = 0;
};

// The metrics label of a finish reason ("stop", "length", "abort", "error").
const char* metric_finish_reason(FinishReason finish);
// The message of a request the engine failed or cancelled.
std::string failure_message(FinishReason finish, const std::string& error);

// A generation in flight as the two drivers below see it; chat and completions implement it.
class GenerationRun {
 public:
  virtual ~GenerationRun() = default;
  virtual ServerContext& ctx() = 0;
  virtual StreamSet& streams() = 0;
  // Feeds one event of stream `stream_index`; appends its SSE chunks to `out` when
  // streaming (out is null otherwise).
  virtual void on_event(const StreamEvent& event, size_t stream_index, std::string* out) = 0;
  // Non-empty once a choice failed or was cancelled by the engine: the request is over.
  virtual const std::string& failure() const = 0;
  virtual void stream_start(std::string* out) = 0;
  // Chunks after the last choice finished (the usage chunk); the driver adds [DONE].
  virtual void stream_end(std::string* out) = 0;
  // The complete response once every stream has ended (non-streaming).
  virtual HttpReply complete_reply() = 0;
  // Records the request in the metrics; called once, at the end, whatever the outcome.
  virtual void finish_metrics() = 0;
  // Frees the request's generation slot; a stream calls it before writing its last chunk.
  virtual void release_slot() = 0;
};

// Streaming: an SSE producer that owns the run (dropping it cancels the generation).
std::shared_ptr<StreamProducer> make_stream_producer(std::unique_ptr<GenerationRun> run);
// Non-streaming: waits for the end while watching the client and the server's stop flag.
HttpReply collect_reply(GenerationRun& run, const EndpointRequest& request);

// Submits `requests` for `run` and answers: the SSE stream, or the complete response.
HttpReply run_generation(std::unique_ptr<GenerationRun> run, std::vector<GenerationRequest> requests, bool stream,
                         const EndpointRequest& request);
// The 429 of a request that found every generation slot taken.
HttpReply overloaded_reply(const ServerContext& ctx);

}  // namespace dsv4::server
