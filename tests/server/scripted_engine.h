// A scripted Engine for the server tests: it plays back token events a test wrote, so the
// HTTP layer can be checked on outputs a random tiny model never produces (reasoning,
// DSML tool calls split anywhere, stop-string matches, engine errors, a full queue).
//
// Each submit() asks the responder for a Script: the events to release, a delay before
// each, and optionally a submit error. Streams behave like the real engine's: next_for
// blocks until the next event is due, cancel() ends every open choice with kCancelled, and
// usage is complete once the stream has ended. The engine counts submits, cancels and
// streams still open, so tests can check that a vanished client freed its request.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dsv4/engine.h"
#include "text/tokenizer.h"

namespace dsv4::server::testing {

struct Script {
  std::vector<StreamEvent> events;
  std::chrono::milliseconds delay{0};  // before each event
  Status submit_error;                 // not ok: submit() fails with it
  int64_t cached_prompt_tokens = 0;
};

// Events releasing the tokens of `text` one by one (choice 0), then a final event.
Script text_script(const text::Tokenizer& tokenizer, const std::string& text, FinishReason finish = FinishReason::kStop,
                   std::string stop_reason = "token 1", int32_t choice = 0);
// The same with the tokens grouped `group` at a time.
Script grouped_script(const text::Tokenizer& tokenizer, const std::string& text, size_t group,
                      FinishReason finish = FinishReason::kStop, std::string stop_reason = "token 1");

class ScriptedEngine final : public Engine {
 public:
  using Responder = std::function<Script(const GenerationRequest&)>;

  explicit ScriptedEngine(EngineInfo info);
  ~ScriptedEngine() override;

  void set_responder(Responder responder);

  Result<std::shared_ptr<RequestStream>> submit(GenerationRequest request) override;
  EngineMetrics metrics() const override;
  const EngineInfo& info() const override { return info_; }

  // What the tests observe.
  std::vector<GenerationRequest> submitted() const;
  GenerationRequest last_request() const;
  int64_t n_cancelled() const { return n_cancelled_.load(); }
  int64_t n_open() const { return n_open_.load(); }
  // Waits until no stream is open (all finished or cancelled); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;

  // Called by streams.
  void on_stream_closed(bool cancelled);

 private:
  EngineInfo info_;
  mutable std::mutex mutex_;
  mutable std::condition_variable idle_;
  Responder responder_;
  std::vector<GenerationRequest> submitted_;
  std::atomic<int64_t> n_cancelled_{0};
  std::atomic<int64_t> n_open_{0};
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace dsv4::server::testing
