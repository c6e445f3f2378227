// The HTTP layer: cpp-httplib set-up, routing, authentication, body limits, the worker
// pool, SSE plumbing, and start / stop. Implements Server (server.h).
//
// Every route reads its body through a bounded reader (httplib checks Content-Length
// itself, but not chunked bodies), authenticates after the body is read so that the
// connection stays in step, parses the JSON once, and hands the endpoint an
// HTTP-independent request. Endpoint replies are either complete bodies or stream producers
// driven here as chunked text/event-stream responses. httplib's own failures (a malformed
// request line, an unknown route, a body over the limit) get OpenAI error JSON from the
// error handler, and any exception becomes a 500 with the same shape: no request can take
// the process down or reach another request's state.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>

#include "server/chat_endpoint.h"
#include "server/completions_endpoint.h"
#include "server/connection_probe.h"
#include "server/listen_backlog.h"
#include "server/server.h"
#include "server/server_context.h"
#include "server/tokenize_endpoints.h"
#include "text/json_value.h"

namespace dsv4 {
namespace server {
namespace {

// Workers beyond max_concurrent_requests: they answer health checks, metrics and quick
// 429s while every generation slot is taken.
constexpr int64_t kSpareWorkers = 16;
constexpr size_t kKeepAliveMaxRequests = 100000;
// Pending connections the kernel queues before accept (bursts of hundreds of clients).
constexpr int kListenBacklog = 1024;

using PostEndpoint = HttpReply (*)(ServerContext&, const EndpointRequest&);

// httplib's DataSink as the endpoints' ChunkSink.
class HttplibSink final : public ChunkSink {
 public:
  explicit HttplibSink(httplib::DataSink& sink) : sink_(sink) {}
  bool write(std::string_view data) override { return sink_.write(data.data(), data.size()); }
  bool client_alive() override { return sink_.is_writable(); }

 private:
  httplib::DataSink& sink_;
};

// Comparison whose time does not depend on where the strings differ.
bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

ApiError error_for_status(int status, const ServerConfig& config, const httplib::Request& req) {
  switch (status) {
    case 404:
      return route_not_found(req.method, req.path);
    case 413:
      return payload_too_large(config.max_body_bytes);
    case 414: {
      ApiError e = bad_request("the request URI is too long", "");
      e.status = 414;
      return e;
    }
    case 400:
      return bad_request("malformed HTTP request", "");
    default:
      break;
  }
  if (status >= 500) return server_error("internal error (HTTP " + std::to_string(status) + ")");
  ApiError e = bad_request("the request could not be processed (HTTP " + std::to_string(status) + ")", "");
  e.status = status;
  return e;
}

}  // namespace

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerConfig& config, Engine& engine, const text::Tokenizer& tokenizer)
      : ctx_(config, engine, tokenizer) {
    configure();
    install_routes();
  }
  ~ServerImpl() override { stop(); }

  Status start() override;
  int port() const override { return port_; }
  void stop() override;
  void wait() override;

 private:
  void configure();
  void install_routes();
  void post_route(const std::string& path, PostEndpoint endpoint);
  void handle_post(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                   PostEndpoint endpoint);
  bool authorized(const httplib::Request& req) const;
  void send(httplib::Response& res, HttpReply reply) const;

  ServerContext ctx_;
  httplib::Server http_;  // after ctx_: its handlers use ctx_ until it is gone
  std::thread listener_;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable stopped_cv_;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

void ServerImpl::configure() {
  const ServerConfig& c = ctx_.config;
  const size_t n_workers = static_cast<size_t>(std::max<int64_t>(1, c.max_concurrent_requests) + kSpareWorkers);
  http_.new_task_queue = [n_workers] { return new httplib::ThreadPool(n_workers); };
  // Without TCP_NODELAY every keep-alive response waits ~40 ms for a delayed ACK.
  http_.set_tcp_nodelay(true);
  http_.set_read_timeout(static_cast<time_t>(std::max<int64_t>(1, c.read_timeout_s)), 0);
  http_.set_write_timeout(static_cast<time_t>(std::max<int64_t>(1, c.read_timeout_s)), 0);
  http_.set_keep_alive_timeout(static_cast<time_t>(std::max<int64_t>(1, c.keep_alive_timeout_s)));
  http_.set_keep_alive_max_count(kKeepAliveMaxRequests);
  http_.set_payload_max_length(static_cast<size_t>(std::max<int64_t>(1, c.max_body_bytes)));
  http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // the endpoints' own error JSON
    const ApiError e = error_for_status(res.status, ctx_.config, req);
    res.set_content(error_json(e), "application/json");
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(error_json(server_error("internal error: " + what)), "application/json");
  });
  // Runs after the response is written: the place to end a connection whose request was
  // not read to its end (a read shutdown makes httplib's keep-alive loop close it; doing
  // it before the write would make httplib think the peer had gone).
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    ctx_.metrics.count_http_status(res.status);
    if (res.get_header_value("Connection") == "close" && req.get_header_value("Connection") != "close") {
      ConnectionProbe::find(req.remote_addr, req.remote_port, req.local_addr, req.local_port).shutdown_read();
    }
  });
}

bool ServerImpl::authorized(const httplib::Request& req) const {
  const std::string& key = ctx_.config.api_key;
  if (key.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  static constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
    return constant_time_equal(auth.substr(kBearer.size()), key);
  }
  const std::string x_api_key = req.get_header_value("x-api-key");
  return !x_api_key.empty() && constant_time_equal(x_api_key, key);
}

void ServerImpl::send(httplib::Response& res, HttpReply reply) const {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (!reply.stream) {
    res.set_content(std::move(reply.body), reply.content_type.c_str());
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  std::shared_ptr<StreamProducer> producer = std::move(reply.stream);
  // The provider owns the producer; httplib destroys it with the response, which cancels a
  // generation the client did not wait for.
  res.set_chunked_content_provider(reply.content_type, [producer](size_t, httplib::DataSink& sink) {
    HttplibSink s(sink);
    // httplib calls providers outside its handler try-block: an exception here would end
    // the process, so a failing step aborts this one response instead.
    StreamProducer::Step step = StreamProducer::Step::kAbort;
    try {
      step = producer->step(s);
    } catch (...) {
      return false;
    }
    switch (step) {
      case StreamProducer::Step::kMore:
        return true;
      case StreamProducer::Step::kDone:
        sink.done();
        return true;
      case StreamProducer::Step::kAbort:
        return false;
    }
    return false;
  });
}

void ServerImpl::handle_post(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                             PostEndpoint endpoint) {
  const size_t limit = static_cast<size_t>(std::max<int64_t>(1, ctx_.config.max_body_bytes));
  std::string body;
  bool too_large = false;
  const bool read = reader([&](const char* data, size_t n) {
    if (body.size() + n > limit) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (!read) {
    // httplib reads and drops a body whose Content-Length is over the limit (413 set, the
    // connection stays usable). Otherwise the rest of the body may still be on the wire:
    // "Connection: close" makes the logger end the connection once the answer is out.
    const bool skipped = !too_large && res.status == 413;
    if (!skipped) res.set_header("Connection", "close");
    if (too_large || skipped) return send(res, error_reply(payload_too_large(ctx_.config.max_body_bytes)));
    return send(res, error_reply(bad_request("the request body could not be read (incomplete or malformed)", "")));
  }
  if (!authorized(req)) return send(res, error_reply(unauthorized()));
  if (ctx_.stopping.load()) return send(res, error_reply(unavailable("the server is shutting down")));
  Result<text::JsonValue> json = text::parse_json(body);
  if (!json.is_ok()) return send(res, error_reply(bad_request(json.status().message(), "")));
  EndpointRequest request;
  request.body = &json.value();
  // Found on first use: only a non-streaming generation asks.
  std::optional<ConnectionProbe> probe;
  request.client_gone = [&] {
    if (!probe) probe = ConnectionProbe::find(req.remote_addr, req.remote_port, req.local_addr, req.local_port);
    return probe->peer_closed();
  };
  send(res, endpoint(ctx_, request));
}

void ServerImpl::post_route(const std::string& path, PostEndpoint endpoint) {
  http_.Post(path, [this, endpoint](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) { handle_post(req, res, reader, endpoint); });
  http_.Get(path, [this, path](const httplib::Request& req, httplib::Response& res) {
    send(res, error_reply(method_not_allowed(req.method, path)));
  });
}

void ServerImpl::install_routes() {
  post_route("/v1/chat/completions", &handle_chat_completions);
  post_route("/v1/completions", &handle_completions);
  post_route("/tokenize", &handle_tokenize);
  post_route("/detokenize", &handle_detokenize);
  auto authed_get = [this](const std::string& path, auto fn) {
    http_.Get(path, [this, fn](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req)) return send(res, error_reply(unauthorized()));
      send(res, fn(req));
    });
  };
  authed_get("/v1/models", [this](const httplib::Request&) { return handle_models(ctx_); });
  authed_get(R"(/v1/models/(.+))", [this](const httplib::Request& req) { return handle_model(ctx_, req.matches[1]); });
  http_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (ctx_.stopping.load()) return send(res, error_reply(unavailable("the server is shutting down")));
    res.status = 200;
  });
  http_.Get("/version", [this](const httplib::Request&, httplib::Response& res) { send(res, handle_version(ctx_)); });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { send(res, handle_metrics(ctx_)); });
  // POST to a GET route: 405 after draining the body (which keeps the connection in step).
  for (const char* path : {"/v1/models", "/health", "/version", "/metrics"}) {
    http_.Post(path,
               [this, path](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                 reader([](const char*, size_t) { return true; });
                 send(res, error_reply(method_not_allowed(req.method, path)));
               });
  }
}

Status ServerImpl::start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_requested_) return failed_precondition("the server was stopped");
    if (listener_.joinable()) return failed_precondition("the server is already started");
  }
  const ServerConfig& c = ctx_.config;
  port_ = bind_with_backlog(http_, c.host, c.port, kListenBacklog);
  if (port_ <= 0) {
    const int err = errno;
    return ::dsv4::unavailable("cannot listen on " + c.host + ":" + std::to_string(c.port) +
                               (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so that a stop()
  // right after start() cannot be lost.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!http_.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::ok();
}

void ServerImpl::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_requested_) return;
    stop_requested_ = true;
  }
  ctx_.stopping.store(true);
  http_.stop();
  // After http_.stop(): a connection accepted from now on is closed unserved (httplib checks
  // its listening socket first), so waking the idle ones now misses none.
  if (port_ > 0) ConnectionProbe::shutdown_read_all(port_);
  // Joins the accept loop, which joins every worker: streams end at their next step,
  // non-streaming waits notice the stop flag within a poll slice.
  if (listener_.joinable()) listener_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

void ServerImpl::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopped_cv_.wait(lock, [&] { return stopped_; });
}

}  // namespace server

Result<std::unique_ptr<Server>> Server::create(const ServerConfig& config, Engine& engine,
                                               const text::Tokenizer& tokenizer) {
  if (config.port < 0 || config.port > 65535)
    return invalid_argument("port must be in [0, 65535], got " + std::to_string(config.port));
  if (config.max_body_bytes < 1024) return invalid_argument("max_body_bytes must be at least 1024");
  if (config.max_concurrent_requests < 1) return invalid_argument("max_concurrent_requests must be at least 1");
  if (config.read_timeout_s < 1) return invalid_argument("read_timeout_s must be at least 1");
  if (config.keep_alive_timeout_s < 1) return invalid_argument("keep_alive_timeout_s must be at least 1");
  if (config.price_input < 0 || config.price_cached_input < 0 || config.price_output < 0) {
    return invalid_argument("prices must not be negative");
  }
  return std::unique_ptr<Server>(std::make_unique<server::ServerImpl>(config, engine, tokenizer));
}

}  // namespace dsv4
