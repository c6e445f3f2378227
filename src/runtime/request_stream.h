// RequestStreamImpl: the engine's side of a request's event stream.
//
// The engine thread pushes events and final usage; any front-end thread pops them.
// cancel() only raises a flag and pokes the engine (which frees the request's pages at
// the next step boundary and then sends the final events).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "dsv4/engine.h"

namespace dsv4 {

class RequestStreamImpl final : public RequestStream {
 public:
  RequestStreamImpl(uint64_t id, int32_t n_choices, std::function<void(uint64_t)> on_cancel)
      : id_(id), n_open_(n_choices), on_cancel_(std::move(on_cancel)) {}

  uint64_t id() const override { return id_; }
  bool next(StreamEvent* event) override;
  bool next_for(StreamEvent* event, std::chrono::milliseconds timeout, bool* timed_out) override;
  void cancel() override;
  Usage usage() const override;

  // Engine side.
  void push(StreamEvent event);  // an event with a finish reason closes its choice
  void set_usage(const Usage& u);
  bool cancel_requested() const { return cancelled_.load(std::memory_order_acquire); }
  bool ended() const;

 private:
  const uint64_t id_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<StreamEvent> events_;
  int32_t n_open_;  // choices without a final event yet
  Usage usage_;
  std::atomic<bool> cancelled_{false};
  std::function<void(uint64_t)> on_cancel_;
};

}  // namespace dsv4
