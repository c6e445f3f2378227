// The OpenAI-compatible HTTP server: what src/app needs to start and stop it.
//
// The server sees only the public engine API (include/dsv4/engine.h) and the text layer
// (tokenizer, chat encoding, output parsing); it never sees tensors, pages or kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsv4/engine.h"
#include "dsv4/status.h"

namespace dsv4 {
namespace text {
class Tokenizer;
}

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8000;                            // 0: any free port (tests)
  std::string api_key;                        // empty: none; else Bearer (or x-api-key) on /v1/*, /tokenize
  std::string served_model_name;              // also answered: deepseek-v4-flash, deepseek/deepseek-v4-flash
  int64_t max_body_bytes = int64_t{8} << 20;  // larger bodies get 413
  int64_t max_concurrent_requests = 256;      // generating requests at once (more: 429); each holds a worker
  int64_t read_timeout_s = 30;                // a client that sends nothing for this long is dropped
  int64_t keep_alive_timeout_s = 5;           // an idle keep-alive connection is closed after this long
  int64_t retry_after_s = 1;                  // Retry-After of 429 answers
  bool default_thinking = true;               // DeepSeek's API default; requests may override
  // USD per 1M tokens, for cost reporting (0: no cost fields).
  double price_input = 0.0;
  double price_cached_input = 0.0;
  double price_output = 0.0;
  std::string version;  // reported by GET /version
};

class Server {
 public:
  virtual ~Server() = default;

  // The engine and the tokenizer must outlive the server.
  static Result<std::unique_ptr<Server>> create(const ServerConfig& config, Engine& engine,
                                                const text::Tokenizer& tokenizer);

  // Binds and starts serving on background threads; returns once the socket listens.
  virtual Status start() = 0;
  // The bound port (useful with port 0).
  virtual int port() const = 0;
  // Stops accepting, cancels in-flight generations, joins the threads.
  virtual void stop() = 0;
  // Blocks until stop() is called from another thread (or a signal handler path).
  virtual void wait() = 0;
};

}  // namespace dsv4
