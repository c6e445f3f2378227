// Server test fixture (see server_fixture.h).
#include "server_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace dsv4::server::testing {

const text::Tokenizer* test_tokenizer() {
  static const Result<text::Tokenizer>* loaded = new Result<text::Tokenizer>(text::Tokenizer::load(DSV4_TOKENIZER_DIR));
  if (!loaded->is_ok()) {
    ADD_FAILURE() << "cannot load the DeepSeek-V4 tokenizer from " << DSV4_TOKENIZER_DIR
                  << " (scripts/setup.sh installs it): " << loaded->status().to_string();
    return nullptr;
  }
  return &loaded->value();
}

EngineInfo test_engine_info() {
  EngineInfo info;
  info.model_dir = "(scripted)";
  info.device = "GPU 0 (scripted \"test\" device)";
  info.vocab_size = 129280;
  info.max_model_len = 4096;
  info.bos_token_id = 0;
  info.eos_token_id = 1;
  info.kv_pages = 64;
  info.page_tokens = 256;
  info.max_num_seqs = 8;
  return info;
}

ServerConfig ServerTest::default_config() {
  ServerConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.max_concurrent_requests = 8;
  c.read_timeout_s = 1;
  c.keep_alive_timeout_s = 1;
  c.version = "0.1.0-test";
  c.max_body_bytes = int64_t{1} << 20;
  return c;
}

void ServerTest::SetUp() {
  tokenizer_ = test_tokenizer();
  ASSERT_NE(tokenizer_, nullptr);
  engine_ = std::make_unique<ScriptedEngine>(test_engine_info());
}

void ServerTest::start(ServerConfig config) {
  Result<std::unique_ptr<Server>> s = Server::create(config, *engine_, *tokenizer_);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  server_ = std::move(s).value();
  const Status st = server_->start();
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_GT(server_->port(), 0);
}

void ServerTest::TearDown() {
  if (server_) server_->stop();
  server_.reset();
  if (engine_) {
    EXPECT_TRUE(engine_->wait_idle(std::chrono::seconds(5))) << "streams left open: " << engine_->n_open();
  }
  engine_.reset();
}

httplib::Client ServerTest::client() const {
  httplib::Client c("127.0.0.1", server_->port());
  c.set_read_timeout(20, 0);
  c.set_write_timeout(20, 0);
  c.set_connection_timeout(5, 0);
  return c;
}

httplib::Result ServerTest::post(const std::string& path, const std::string& body,
                                 const httplib::Headers& headers) const {
  return client().Post(path, headers, body, "application/json");
}

httplib::Result ServerTest::get(const std::string& path, const httplib::Headers& headers) const {
  return client().Get(path, headers);
}

void ServerTest::expect_still_serving() {
  httplib::Result h = get("/health");
  ASSERT_TRUE(h) << "no answer to /health";
  EXPECT_EQ(h->status, 200);
  engine_->set_responder([this](const GenerationRequest&) { return text_script(*tokenizer_, "</think>fine"); });
  httplib::Result r = post_json("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  ASSERT_TRUE(r) << "no answer to a chat request";
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["choices"][0]["message"]["content"], "fine");
}

RawSocket::RawSocket(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) close();
}

RawSocket::~RawSocket() { close(); }

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::send_all(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string RawSocket::read_until_closed(std::chrono::milliseconds timeout, bool* closed) {
  std::string out;
  *closed = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawSocket::read_until(const std::string& needle, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline && out.find(needle) == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

SseEvents parse_sse(const std::string& body) {
  SseEvents ev;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) {
      ev.ok = false;
      ev.error = "unterminated event at byte " + std::to_string(pos);
      return ev;
    }
    const std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) != 0 || event.find('\n') != std::string::npos) {
      ev.ok = false;
      ev.error = "not a single data line: " + event.substr(0, 80);
      return ev;
    }
    ev.data.push_back(event.substr(6));
    pos = end + 2;
  }
  if (ev.data.empty() || ev.data.back() != "[DONE]") {
    ev.ok = false;
    ev.error = "the stream does not end with data: [DONE]";
  }
  return ev;
}

std::vector<json> chunks_of(const SseEvents& events) {
  std::vector<json> out;
  for (const std::string& d : events.data) {
    if (d != "[DONE]") out.push_back(json::parse(d));
  }
  return out;
}

std::vector<AssembledChoice> assemble_chat(const std::vector<json>& chunks) {
  std::vector<AssembledChoice> choices;
  for (const json& c : chunks) {
    for (const json& ch : c["choices"]) {
      const size_t index = ch["index"].get<size_t>();
      if (choices.size() <= index) choices.resize(index + 1);
      AssembledChoice& a = choices[index];
      const json& d = ch["delta"];
      if (d.contains("role")) a.role = d["role"];
      if (d.contains("content") && d["content"].is_string()) a.content += d["content"].get<std::string>();
      if (d.contains("reasoning_content") && d["reasoning_content"].is_string()) {
        a.reasoning_content += d["reasoning_content"].get<std::string>();
      }
      if (d.contains("tool_calls")) {
        for (const json& tc : d["tool_calls"]) {
          const size_t ti = tc["index"].get<size_t>();
          if (a.tool_calls.size() <= ti) a.tool_calls.resize(ti + 1);
          AssembledToolCall& t = a.tool_calls[ti];
          if (tc.contains("id")) t.id = tc["id"];
          if (tc.contains("type")) t.type = tc["type"];
          if (tc.contains("function")) {
            const json& f = tc["function"];
            if (f.contains("name")) t.name += f["name"].get<std::string>();
            if (f.contains("arguments")) t.arguments += f["arguments"].get<std::string>();
          }
        }
      }
      if (!ch["finish_reason"].is_null()) a.finish_reason = ch["finish_reason"];
      if (ch.contains("output_error")) a.output_error = ch["output_error"];
    }
  }
  return choices;
}

}  // namespace dsv4::server::testing
