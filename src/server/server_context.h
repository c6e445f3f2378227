// What every endpoint shares: configuration, the engine and tokenizer, metrics, the served
// model names, and the HTTP-independent reply types endpoints answer with.
//
// Endpoints never see httplib: they get a parsed body and answer with an HttpReply, either a
// complete body or a StreamProducer that http_server.cpp drives as a chunked SSE response.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsv4/engine.h"
#include "server/cost.h"
#include "server/metrics.h"
#include "server/openai_errors.h"
#include "server/server.h"
#include "text/json_value.h"
#include "text/tokenizer.h"

namespace dsv4::server {

// Where streamed bytes go. write() false or client_alive() false: the client left.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual bool write(std::string_view data) = 0;
  virtual bool client_alive() = 0;
};

// A streaming response body, pulled step by step by the HTTP layer. Destroying it before
// it is done (client gone, server stopping) must cancel the generation behind it.
class StreamProducer {
 public:
  enum class Step : uint8_t { kMore, kDone, kAbort };
  virtual ~StreamProducer() = default;
  virtual Step step(ChunkSink& sink) = 0;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<StreamProducer> stream;  // set: an SSE response; body unused
};

HttpReply json_reply(std::string body, int status = 200);
HttpReply error_reply(const ApiError& error);

// An endpoint call: the parsed body and a probe for a client that left while a
// non-streaming request was generating.
struct EndpointRequest {
  const text::JsonValue* body = nullptr;
  std::function<bool()> client_gone = [] { return false; };
};

class ServerContext {
 public:
  ServerContext(const ServerConfig& config, Engine& engine, const text::Tokenizer& tokenizer);

  const ServerConfig config;
  Engine& engine;
  const text::Tokenizer& tokenizer;
  ServerMetrics metrics;
  Prices prices;
  std::vector<std::string> model_names;  // the served name first, then the aliases
  int32_t think_end_id = -1;
  int64_t created_unix = 0;
  std::string fingerprint;  // system_fingerprint; empty: null
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> n_generating{0};

  // The model name a response reports: the requested one when served, the served name
  // when the request names none; a 404 otherwise.
  std::optional<std::string> resolve_model(const text::JsonValue& body, ApiError* error) const;
};

// A generation slot: bounds the requests generating at once (ServerConfig::
// max_concurrent_requests) so that excess load gets a quick 429 instead of queueing.
class GenerationSlot {
 public:
  static std::optional<GenerationSlot> acquire(ServerContext& ctx);
  GenerationSlot(GenerationSlot&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  GenerationSlot& operator=(GenerationSlot&&) = delete;
  GenerationSlot(const GenerationSlot&) = delete;
  ~GenerationSlot() { release(); }
  // Frees the slot now (idempotent): a stream calls it before its last chunk, so that a
  // client that has read [DONE] finds the slot free for its next request.
  void release();

 private:
  explicit GenerationSlot(ServerContext* ctx) : ctx_(ctx) {}
  ServerContext* ctx_;
};

}  // namespace dsv4::server
