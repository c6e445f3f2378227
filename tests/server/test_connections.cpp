// Connection-level behaviour over raw sockets: partial (slow-loris) requests are dropped
// within the read timeout, malformed HTTP gets JSON errors, oversized chunked bodies get
// 413, pipelining works, idle connections cannot starve the server, a client that leaves
// (streaming or not) cancels its generation, the generation slots give quick 429s, and
// stop() ends in-flight streams and idle keep-alive connections at once.
#include <gtest/gtest.h>

#include <thread>

#include "server_fixture.h"

namespace dsv4::server::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class ConnectionTest : public ServerTest {
 protected:
  static std::string http_post(const std::string& path, const std::string& body, bool stream_close = false) {
    return "POST " + path +
           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n" + (stream_close ? "Connection: close\r\n" : "") + "\r\n" + body;
  }
  Script slow_script(int n_tokens, milliseconds delay) {
    std::string out = "</think>";
    for (int i = 0; i < n_tokens; ++i) out += "w" + std::to_string(i) + " ";
    Script s = text_script(tok(), out);
    s.delay = delay;
    return s;
  }
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TEST_F(ConnectionTest, PartialRequestsAreDroppedWithinTheReadTimeout) {
  start();  // read timeout 1 s
  const std::vector<std::string> partial = {
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",                      // headers never end
      "POST /v1/chat/compl",                                                    // request line cut
      http_post("/v1/chat/completions", std::string(100, ' ')).substr(0, 120),  // body cut short
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",  // chunk cut
  };
  std::vector<std::thread> threads;
  std::vector<double> took(partial.size(), 0.0);
  std::vector<bool> closed(partial.size(), false);
  for (size_t i = 0; i < partial.size(); ++i) {
    threads.emplace_back([&, i] {
      RawSocket s(port());
      ASSERT_TRUE(s.connected());
      const auto t0 = Clock::now();
      ASSERT_TRUE(s.send_all(partial[i]));
      bool c = false;
      s.read_until_closed(milliseconds(6000), &c);
      closed[i] = c;
      took[i] = seconds_since(t0);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < partial.size(); ++i) {
    EXPECT_TRUE(closed[i]) << "case " << i;
    EXPECT_LT(took[i], 4.0) << "case " << i;
  }
  expect_still_serving();
}

TEST_F(ConnectionTest, MalformedHttpGetsJsonErrors) {
  start();
  struct RawCase {
    std::string request;
    int status;
  };
  const std::vector<RawCase> cases = {
      {"HELLO\r\n\r\n", 400},
      {"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(9000, 'a') + "\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
  };
  for (const RawCase& c : cases) {
    RawSocket s(port());
    ASSERT_TRUE(s.send_all(c.request));
    const std::string reply = s.read_until("}}", milliseconds(4000));
    ASSERT_EQ(reply.rfind("HTTP/1.1 ", 0), 0u) << reply;
    EXPECT_EQ(std::stoi(reply.substr(9, 3)), c.status) << reply.substr(0, 200);
    const size_t body = reply.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    EXPECT_NE(reply.find("{\"error\":{", body), std::string::npos) << reply.substr(0, 300);
  }
  expect_still_serving();
}

TEST_F(ConnectionTest, OversizedChunkedBodyGets413AndTheConnectionCloses) {
  start();  // 1 MiB body limit
  RawSocket s(port());
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(64 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  ASSERT_TRUE(s.send_all(req));
  for (int i = 0; i < 20; ++i) {  // 1.25 MiB
    if (!s.send_all(size_line + chunk + "\r\n")) break;
  }
  const std::string reply = s.read_until("request_too_large", milliseconds(4000));
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  expect_still_serving();
}

// Requests one after another on one keep-alive connection. (httplib 0.11 drops requests
// pipelined before the previous answer: it buffers per request. No common client pipelines.)
TEST_F(ConnectionTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawSocket s(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.send_all("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string reply = s.read_until("0.1.0-test\"}", milliseconds(2000));
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  }
  // After a chunked body that was cut off by the size limit, the connection is closed.
  ASSERT_TRUE(s.send_all("POST /tokenize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk(300 * 1024, 'x');
  for (int i = 0; i < 4; ++i) {
    char size_line[32];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
    if (!s.send_all(size_line + chunk + "\r\n")) break;
  }
  bool closed = false;
  const std::string reply = s.read_until_closed(milliseconds(3000), &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  EXPECT_TRUE(closed);
}

TEST_F(ConnectionTest, IdleConnectionsCannotStarveTheServer) {
  start();  // 8 + 16 workers, keep-alive timeout 1 s
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<RawSocket>(port()));
  const auto t0 = Clock::now();
  httplib::Result r = get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(seconds_since(t0), 4.0);
}

TEST_F(ConnectionTest, ClientLeavingAStreamCancelsItsGeneration) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return slow_script(400, milliseconds(10)); });
  {
    RawSocket s(port());
    ASSERT_TRUE(s.send_all(
        http_post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stream": true})")));
    const std::string got = s.read_until("\"content\":\"w", milliseconds(4000));
    ASSERT_NE(got.find("data: "), std::string::npos);
  }  // closed mid-stream
  EXPECT_TRUE(engine().wait_idle(milliseconds(3000)));
  EXPECT_EQ(engine().n_cancelled(), 1);
  expect_still_serving();
}

TEST_F(ConnectionTest, ClientLeavingANonStreamingRequestCancelsItsGeneration) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return slow_script(400, milliseconds(10)); });
  {
    RawSocket s(port());
    ASSERT_TRUE(s.send_all(http_post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}]})")));
    std::this_thread::sleep_for(milliseconds(150));
  }
  EXPECT_TRUE(engine().wait_idle(milliseconds(3000)));
  EXPECT_EQ(engine().n_cancelled(), 1);
}

TEST_F(ConnectionTest, GenerationSlotsAnswer429WhenFull) {
  ServerConfig c = default_config();
  c.max_concurrent_requests = 1;
  c.retry_after_s = 3;
  start(c);
  engine().set_responder([&](const GenerationRequest&) { return slow_script(30, milliseconds(20)); });
  std::string body;
  std::thread first([&] {
    httplib::Result r =
        post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stream": true})");
    if (r) body = r->body;
  });
  const auto deadline = Clock::now() + milliseconds(2000);
  while (engine().n_open() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(2));
  httplib::Result second = post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "y"}]})");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_EQ(second->get_header_value("Retry-After"), "3");
  httplib::Result health = get("/health");  // spare workers still answer
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  first.join();
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  expect_still_serving();  // the slot is free again
}

TEST_F(ConnectionTest, StopEndsInFlightStreamsPromptly) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return slow_script(2000, milliseconds(10)); });
  std::thread client_thread([&] {
    (void)post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stream": true})");
  });
  std::thread waiter([&] { server_->wait(); });
  const auto deadline = Clock::now() + milliseconds(2000);
  while (engine().n_open() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(2));
  std::this_thread::sleep_for(milliseconds(50));
  const auto t0 = Clock::now();
  server_->stop();
  EXPECT_LT(seconds_since(t0), 3.0);
  waiter.join();
  client_thread.join();
  EXPECT_TRUE(engine().wait_idle(milliseconds(2000)));
  EXPECT_EQ(engine().n_cancelled(), 1);
}

// httplib looks at its stop flag only between requests, after a quiet keep-alive
// connection's idle timeout: stop() must not wait that out (clients such as the openai SDK
// keep pooled connections open).
TEST_F(ConnectionTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  ServerConfig config = default_config();
  config.keep_alive_timeout_s = 30;
  config.read_timeout_s = 30;
  start(config);
  RawSocket used(port());
  ASSERT_TRUE(used.send_all("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string reply = used.read_until("0.1.0-test\"}", milliseconds(2000));
  ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  RawSocket fresh(port());  // connected, nothing sent yet
  ASSERT_TRUE(fresh.connected());
  std::this_thread::sleep_for(milliseconds(50));  // both are now in httplib's idle wait
  const auto t0 = Clock::now();
  server_->stop();
  EXPECT_LT(seconds_since(t0), 3.0);
  for (RawSocket* s : {&used, &fresh}) {
    bool closed = false;
    (void)s->read_until_closed(milliseconds(2000), &closed);
    EXPECT_TRUE(closed);
  }
}

}  // namespace
}  // namespace dsv4::server::testing
