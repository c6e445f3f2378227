// A scripted OpenAI-style streaming server for the `dsv4 bench serve` tests: httplib on an
// ephemeral loopback port, /v1/models, and /v1/completions + /v1/chat/completions streams
// whose timing (first token after ttft_ms, then one token chunk every itl_ms) and failure
// modes (429, 500, a dropped connection, no [DONE], malformed data, an error event, a stall)
// are chosen per request by the order in which requests arrive. It records what it saw
// (bodies, arrival times, most streams active at once) for the tests to compare.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/listen_backlog.h"

namespace dsv4::testing {

enum class Behavior {
  kOk,
  kStatus429,
  kStatus500,
  kDropMidStream,  // two token chunks, then the connection is cut
  kNoDone,         // a complete stream that ends without "data: [DONE]"
  kMalformed,      // one token chunk, then a data line that is not JSON
  kErrorEvent,     // one token chunk, then {"error": {...}}
  kStall,          // headers, then silence until the client leaves or the server stops
};

struct ScriptConfig {
  int ttft_ms = 20;
  int itl_ms = 5;
  std::string model = "scripted-model";
  // The behavior of the k-th request to arrive (0-based).
  std::function<Behavior(int64_t k)> behavior = [](int64_t) { return Behavior::kOk; };
};

class ScriptedServer {
 public:
  explicit ScriptedServer(ScriptConfig cfg) : cfg_(std::move(cfg)), t0_(std::chrono::steady_clock::now()) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_timeout(1);
    server_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(nlohmann::json{{"object", "list"}, {"data", {{{"id", cfg_.model}, {"object", "model"}}}}}.dump(),
                      "application/json");
    });
    server_.Post("/v1/completions",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, /*chat=*/false); });
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, /*chat=*/true); });
    // Bursts of hundreds of connects would overflow httplib's own backlog of 5.
    port_ = server::bind_with_backlog(server_, "127.0.0.1", 0, 256);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket already listens (connections queue in its backlog); waiting for the accept
    // loop keeps stop() in the destructor from racing its start.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~ScriptedServer() {
    stopping_.store(true);
    server_.stop();
    thread_.join();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int64_t max_active() const { return max_active_.load(); }
  int64_t n_requests() const { return n_requests_.load(); }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lk(mu_);
    return bodies_;
  }
  std::vector<double> arrival_s() {
    std::lock_guard<std::mutex> lk(mu_);
    return arrivals_;
  }

 private:
  void enter() {
    const int64_t now = ++active_;
    int64_t seen = max_active_.load();
    while (now > seen && !max_active_.compare_exchange_weak(seen, now)) {
    }
  }

  std::string chunk(bool chat, const std::string& text, bool final_chunk) const {
    nlohmann::json choice = {{"index", 0}, {"finish_reason", final_chunk ? nlohmann::json("length") : nlohmann::json()}};
    if (chat)
      choice["delta"] = {{"content", text}};
    else
      choice["text"] = text;
    return "data: " + nlohmann::json{{"id", "x"}, {"model", cfg_.model}, {"choices", {choice}}}.dump() + "\n\n";
  }

  void handle(const httplib::Request& req, httplib::Response& res, bool chat) {
    const int64_t k = n_requests_++;
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    {
      std::lock_guard<std::mutex> lk(mu_);
      bodies_.push_back(body);
      arrivals_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
    }
    const Behavior b = cfg_.behavior(k);
    if (b == Behavior::kStatus429 || b == Behavior::kStatus500) {
      res.status = b == Behavior::kStatus429 ? 429 : 500;
      const char* msg = b == Behavior::kStatus429 ? "rate limited, slow down" : "engine exploded";
      res.set_content(nlohmann::json{{"error", {{"message", msg}, {"type", "x"}}}}.dump(), "application/json");
      return;
    }
    int64_t n_out = body.value("max_tokens", int64_t{4});
    int64_t n_prompt = 0;
    if (body.contains("prompt") && body["prompt"].is_array()) n_prompt = static_cast<int64_t>(body["prompt"].size());
    if (body.contains("prompt") && body["prompt"].is_string())
      n_prompt = 1 + std::count(body["prompt"].get<std::string>().begin(), body["prompt"].get<std::string>().end(), ' ');
    enter();
    // A request stops being active just before the server writes what lets the client finish
    // it (the last chunk, or the error): the client may send its next request as soon as it
    // has read that, before httplib runs the releaser. Whichever comes first leaves, once.
    auto left = std::make_shared<std::atomic<bool>>(false);
    auto leave = [this, left] {
      if (!left->exchange(true)) --active_;
    };
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, b, chat, n_out, n_prompt, leave](size_t, httplib::DataSink& sink) {
          return stream(sink, b, chat, n_out, n_prompt, leave);
        },
        [leave](bool) { leave(); });
  }

  static void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  template <class Leave>
  bool stream(httplib::DataSink& sink, Behavior b, bool chat, int64_t n_out, int64_t n_prompt, const Leave& leave) {
    auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
    if (b == Behavior::kStall) {
      for (int i = 0; i < 500 && !stopping_.load() && sink.is_writable(); ++i) sleep_ms(10);
      return false;
    }
    // The role chunk comes at once and carries no token: TTFT must not count it.
    if (chat && !write("data: " + nlohmann::json{{"choices", {{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}}}}}.dump() + "\n\n"))
      return false;
    sleep_ms(cfg_.ttft_ms);
    for (int64_t i = 0; i < n_out; ++i) {
      if (i > 0) sleep_ms(cfg_.itl_ms);
      if (!write(chunk(chat, "tok", false))) return false;
      if (b == Behavior::kDropMidStream && i == 1) return false;
      if (b == Behavior::kMalformed) return leave(), write("data: {\"choices\": [oops\n\n") && (sink.done(), true);
      if (b == Behavior::kErrorEvent)
        return leave(), write("data: {\"error\": {\"message\": \"out of KV pages\"}}\n\n") && (sink.done(), true);
    }
    leave();
    write(chunk(chat, "", true));
    write("data: " + nlohmann::json{{"choices", nlohmann::json::array()},
                                    {"usage", {{"prompt_tokens", n_prompt}, {"completion_tokens", n_out},
                                               {"total_tokens", n_prompt + n_out}}}}.dump() + "\n\n");
    if (b != Behavior::kNoDone) write("data: [DONE]\n\n");
    sink.done();
    return true;
  }

  ScriptConfig cfg_;
  std::chrono::steady_clock::time_point t0_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> n_requests_{0};
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t> max_active_{0};
  std::mutex mu_;
  std::vector<nlohmann::json> bodies_;
  std::vector<double> arrivals_;
};

}  // namespace dsv4::testing
