// Shared set-up of the server tests: the real DeepSeek-V4 tokenizer, a scripted engine, a
// server on a free loopback port, an HTTP client, raw sockets, and SSE parsing and
// reassembly (the way the openai SDK accumulates a chat stream).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "scripted_engine.h"
#include "server/server.h"
#include "text/tokenizer.h"

namespace dsv4::server::testing {

using nlohmann::json;

// Loaded once from DSV4_TOKENIZER_DIR; fails the calling test when it is missing.
const text::Tokenizer* test_tokenizer();

// vocabulary of the real tokenizer, a 4096-token context, 64 pages of 256 tokens.
EngineInfo test_engine_info();

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the server (port 0) with `config`; the fixture's default config has small
  // timeouts so that failure paths stay fast.
  void start(ServerConfig config);
  void start() { start(default_config()); }
  static ServerConfig default_config();

  httplib::Client client() const;
  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) const;
  httplib::Result post_json(const std::string& path, const json& body, const httplib::Headers& headers = {}) const {
    return post(path, body.dump(), headers);
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) const;

  // The server still answers /health and a small chat request.
  void expect_still_serving();

  int port() const { return server_->port(); }
  ScriptedEngine& engine() { return *engine_; }
  const text::Tokenizer& tok() const { return *tokenizer_; }

  const text::Tokenizer* tokenizer_ = nullptr;
  std::unique_ptr<ScriptedEngine> engine_;
  std::unique_ptr<Server> server_;
};

// A connected loopback socket with blocking send / receive helpers.
class RawSocket {
 public:
  explicit RawSocket(int port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_all(const std::string& data);
  // Reads until the peer closes or `timeout` passes; the bytes read.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool* closed);
  // Reads until `needle` appears (or timeout / close).
  std::string read_until(const std::string& needle, std::chrono::milliseconds timeout);
  void close();

 private:
  int fd_ = -1;
};

// The data payloads of an SSE body; `ok` is false (with `error`) if any event is not of
// the form "data: <payload>\n\n".
struct SseEvents {
  std::vector<std::string> data;
  bool ok = true;
  std::string error;
};
SseEvents parse_sse(const std::string& body);

struct AssembledToolCall {
  std::string id;
  std::string type;
  std::string name;
  std::string arguments;
};
struct AssembledChoice {
  std::string role;
  std::string content;
  std::string reasoning_content;
  std::vector<AssembledToolCall> tool_calls;
  std::string finish_reason;
  json output_error;
};
// Accumulates chat chunks the way openai-python's stream helpers do: deltas appended per
// choice index, tool calls per tool index (id / type / name from the first fragment,
// arguments concatenated).
std::vector<AssembledChoice> assemble_chat(const std::vector<json>& chunks);

// The parsed JSON chunks of a stream (without the final [DONE]).
std::vector<json> chunks_of(const SseEvents& events);

}  // namespace dsv4::server::testing
