// The scripted engine (see scripted_engine.h).
#include "scripted_engine.h"

#include <algorithm>

namespace dsv4::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

GeneratedToken token_with_logprobs(int32_t id, int32_t logprobs) {
  GeneratedToken t;
  t.token = id;
  if (logprobs >= 0) {
    t.logprob = -0.25f;
    for (int32_t k = 0; k < logprobs; ++k) t.top.push_back({id + k, -0.25f - static_cast<float>(k)});
  }
  return t;
}

class ScriptedStream final : public RequestStream {
 public:
  ScriptedStream(ScriptedEngine* engine, uint64_t id, Script script, const GenerationRequest& request)
      : engine_(engine), id_(id), script_(std::move(script)), start_(Clock::now()) {
    n_open_ = request.sampling.n;
    usage_.prompt_tokens = static_cast<int64_t>(request.prompt.size());
    usage_.cached_prompt_tokens = script_.cached_prompt_tokens;
    for (StreamEvent& e : script_.events) {
      for (GeneratedToken& t : e.tokens) t = token_with_logprobs(t.token, request.sampling.logprobs);
    }
  }

  ~ScriptedStream() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) {
      closed_ = true;
      engine_->on_stream_closed(cancelled_);
    }
  }

  uint64_t id() const override { return id_; }

  bool next(StreamEvent* event) override {
    bool timed_out = false;
    while (true) {
      if (next_for(event, std::chrono::milliseconds(1000), &timed_out)) return true;
      if (!timed_out) return false;
    }
  }

  bool next_for(StreamEvent* event, std::chrono::milliseconds timeout, bool* timed_out) override {
    std::unique_lock<std::mutex> lock(mutex_);
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      if (cancelled_ && n_open_ > 0) {
        // Like the engine: every open choice ends with kCancelled.
        *event = StreamEvent{};
        event->choice = next_cancelled_choice();
        event->finish = FinishReason::kCancelled;
        close_choice(*event);
        *timed_out = false;
        return true;
      }
      if (next_ >= script_.events.size() || n_open_ == 0) {
        *timed_out = false;
        return false;
      }
      const Clock::time_point due = start_ + script_.delay * static_cast<int64_t>(next_ + 1);
      if (Clock::now() >= due) {
        *event = script_.events[next_++];
        if (event->finish != FinishReason::kNone) close_choice(*event);
        usage_.completion_tokens += static_cast<int64_t>(event->tokens.size());
        *timed_out = false;
        return true;
      }
      if (Clock::now() >= deadline) {
        *timed_out = true;
        return false;
      }
      wake_.wait_until(lock, std::min(due, deadline));
    }
  }

  void cancel() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cancelled_ || n_open_ == 0) return;
      cancelled_ = true;
    }
    wake_.notify_all();
  }

  Usage usage() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return usage_;
  }

 private:
  int32_t next_cancelled_choice() {
    for (int32_t c = 0; c < static_cast<int32_t>(closed_choices_.size() + 64); ++c) {
      if (std::find(closed_choices_.begin(), closed_choices_.end(), c) == closed_choices_.end()) return c;
    }
    return 0;
  }

  void close_choice(const StreamEvent& e) {
    closed_choices_.push_back(e.choice);
    if (--n_open_ == 0 && !closed_) {
      closed_ = true;
      engine_->on_stream_closed(cancelled_);
    }
  }

  ScriptedEngine* engine_;
  uint64_t id_;
  Script script_;
  Clock::time_point start_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  size_t next_ = 0;
  int32_t n_open_ = 1;
  std::vector<int32_t> closed_choices_;
  bool cancelled_ = false;
  bool closed_ = false;
  Usage usage_;
};

std::vector<int32_t> ids_of(const text::Tokenizer& tokenizer, const std::string& text) {
  return tokenizer.encode(text, /*add_special_tokens=*/false);
}

}  // namespace

Script grouped_script(const text::Tokenizer& tokenizer, const std::string& text, size_t group, FinishReason finish,
                      std::string stop_reason) {
  Script s;
  const std::vector<int32_t> ids = ids_of(tokenizer, text);
  for (size_t i = 0; i < ids.size(); i += group) {
    StreamEvent e;
    for (size_t k = i; k < std::min(ids.size(), i + group); ++k) e.tokens.push_back({ids[k], 0.0f, {}});
    s.events.push_back(std::move(e));
  }
  StreamEvent last;
  last.finish = finish;
  last.stop_reason = std::move(stop_reason);
  s.events.push_back(std::move(last));
  return s;
}

Script text_script(const text::Tokenizer& tokenizer, const std::string& text, FinishReason finish,
                   std::string stop_reason, int32_t choice) {
  Script s = grouped_script(tokenizer, text, 1, finish, std::move(stop_reason));
  for (StreamEvent& e : s.events) e.choice = choice;
  return s;
}

ScriptedEngine::ScriptedEngine(EngineInfo info) : info_(std::move(info)) {
  responder_ = [](const GenerationRequest&) { return Script{}; };
}

ScriptedEngine::~ScriptedEngine() = default;

void ScriptedEngine::set_responder(Responder responder) {
  std::lock_guard<std::mutex> lock(mutex_);
  responder_ = std::move(responder);
}

Result<std::shared_ptr<RequestStream>> ScriptedEngine::submit(GenerationRequest request) {
  Responder responder;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    submitted_.push_back(request);
    responder = responder_;
  }
  Script script = responder(request);
  if (!script.submit_error.is_ok()) return script.submit_error;
  if (script.events.empty()) {
    StreamEvent e;
    e.finish = FinishReason::kStop;
    e.stop_reason = "token 1";
    script.events.push_back(e);
  }
  n_open_.fetch_add(1);
  return std::shared_ptr<RequestStream>(std::make_shared<ScriptedStream>(this, next_id_++, std::move(script), request));
}

void ScriptedEngine::on_stream_closed(bool cancelled) {
  if (cancelled) n_cancelled_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    n_open_.fetch_sub(1);
  }
  idle_.notify_all();
}

bool ScriptedEngine::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] { return n_open_.load() == 0; });
}

EngineMetrics ScriptedEngine::metrics() const {
  EngineMetrics m;
  m.running = n_open_.load();
  m.kv_pages_total = info_.kv_pages;
  m.kv_pages_used = std::min<int64_t>(m.running, info_.kv_pages);
  m.prefix_cache_queries = 100;
  m.prefix_cache_hits = 40;
  m.graph_replays = 172;
  m.graph_captures = 86;
  std::lock_guard<std::mutex> lock(mutex_);
  m.requests_finished = static_cast<int64_t>(submitted_.size());
  return m;
}

std::vector<GenerationRequest> ScriptedEngine::submitted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_;
}

GenerationRequest ScriptedEngine::last_request() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_.empty() ? GenerationRequest{} : submitted_.back();
}

}  // namespace dsv4::server::testing
