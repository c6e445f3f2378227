// The HTTP side of `dsv4 bench serve`: base-URL parsing, an incremental Server-Sent Events
// parser, and a keep-alive client that POSTs a JSON body and hands each SSE event's data to a
// callback as the bytes arrive (so the caller can timestamp tokens), plus a plain GET for
// /v1/models. It knows nothing of OpenAI chunk semantics; bench_serve_request.cpp reads them.
//
// One SseClient serves one thread at a time (httplib::Client keeps one connection); cancel()
// is the one member safe to call from another thread, which is how request timeouts abort a
// stream that has gone silent.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dsv4/status.h"

namespace httplib {
class Client;
}

namespace dsv4 {

// "http://host:port/prefix" split into what httplib connects to ("http://host:port") and a
// path prefix ("/prefix", or empty) put in front of every request path.
struct BaseUrl {
  std::string scheme_host_port;
  std::string path_prefix;
};
Result<BaseUrl> parse_base_url(const std::string& url);

// Incremental SSE framing (the WHATWG event-stream rules that OpenAI-style servers follow):
// lines end in LF, CRLF or CR, possibly split across reads; "data:" fields (one optional space
// after the colon) of one event are joined with '\n' and the event is dispatched at the blank
// line that ends it; comments (":...") and other fields ("event:", "id:", "retry:") are ignored.
class SseParser {
 public:
  // Called with each event's data; returning false stops the parse.
  using OnEvent = std::function<bool(std::string_view data)>;

  // Feeds raw bytes; false when on_event stopped the parse.
  bool feed(std::string_view bytes, const OnEvent& on_event);
  // At end of stream: a last line without a newline, or an event without its closing blank
  // line, is dispatched too (the spec drops it; being lenient keeps "[DONE]" from a server
  // that forgets the final blank line). False when on_event stopped the parse.
  bool finish(const OnEvent& on_event);
  // Events dispatched so far.
  int64_t n_events() const { return n_events_; }

 private:
  bool end_line(const OnEvent& on_event);
  bool dispatch(const OnEvent& on_event);

  std::string line_;   // the current line, without its terminator
  std::string data_;   // data fields of the current event, joined by '\n'
  bool has_data_ = false;
  bool after_cr_ = false;  // the previous byte was CR: a following LF belongs to it
  int64_t n_events_ = 0;
};

struct SseClientSettings {
  std::string api_key;              // sent as "Authorization: Bearer <key>" when not empty
  double connect_timeout_s = 10.0;
  double read_timeout_s = 3600.0;   // longest silence on the socket before the read fails
};

// How one streamed request ended. A request succeeded at the HTTP level when http_status is
// 2xx and transport_error is empty; what the events said is the caller's business.
struct SseStreamResult {
  int http_status = 0;          // 0: no response status was received
  std::string content_type;
  std::string transport_error;  // empty, or why the connection failed or was aborted
  bool cancelled = false;       // cancel() aborted it (transport_error says so too)
  bool stopped_by_callback = false;
  std::string error_body;       // the start of a non-2xx response body (at most 4 KiB)
  int64_t n_events = 0;
};

class SseClient {
 public:
  SseClient(const BaseUrl& base, const SseClientSettings& settings);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // POSTs `json_body` to base path prefix + `path` with "Accept: text/event-stream" and calls
  // on_event for every SSE event of a 2xx response as it arrives. Returning false from
  // on_event aborts the request (stopped_by_callback).
  SseStreamResult post_stream(const std::string& path, const std::string& json_body,
                              const SseParser::OnEvent& on_event);

  // GETs base path prefix + `path` and parses the body as JSON.
  Result<nlohmann::json> get_json(const std::string& path);

  // Clears a cancel() left over from an earlier request; call before post_stream.
  void reset_cancel() { cancelled_.store(false); }
  // Aborts the request in flight, if any, from any thread: its post_stream returns with
  // cancelled set. Safe to call repeatedly and when nothing is in flight.
  void cancel();

 private:
  BaseUrl base_;
  std::unique_ptr<httplib::Client> client_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace dsv4
