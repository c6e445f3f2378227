#include "runtime/request_stream.h"

namespace dsv4 {

void RequestStreamImpl::push(StreamEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event.finish != FinishReason::kNone) --n_open_;
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

void RequestStreamImpl::set_usage(const Usage& u) {
  std::lock_guard<std::mutex> lock(mutex_);
  usage_ = u;
}

Usage RequestStreamImpl::usage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return usage_;
}

bool RequestStreamImpl::ended() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return n_open_ == 0 && events_.empty();
}

bool RequestStreamImpl::next(StreamEvent* event) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return !events_.empty() || n_open_ == 0; });
  if (events_.empty()) return false;
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

bool RequestStreamImpl::next_for(StreamEvent* event, std::chrono::milliseconds timeout, bool* timed_out) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool ready = ready_.wait_for(lock, timeout, [&] { return !events_.empty() || n_open_ == 0; });
  if (timed_out != nullptr) *timed_out = !ready;
  if (!ready || events_.empty()) return false;
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

void RequestStreamImpl::cancel() {
  if (cancelled_.exchange(true)) return;
  if (on_cancel_) on_cancel_(id_);
}

}  // namespace dsv4
