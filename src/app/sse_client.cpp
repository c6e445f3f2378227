// Base URLs, SSE framing and the streaming HTTP client of `dsv4 bench serve` (see
// sse_client.h).
#include "app/sse_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <httplib.h>

namespace dsv4 {
namespace {

constexpr size_t kMaxErrorBody = 4096;

// Splits seconds into the (sec, usec) pair httplib's timeouts take.
std::pair<time_t, time_t> split_seconds(double s) {
  const double clamped = std::clamp(s, 0.0, 1e9);
  const double whole = std::floor(clamped);
  return {static_cast<time_t>(whole), static_cast<time_t>((clamped - whole) * 1e6)};
}

}  // namespace

Result<BaseUrl> parse_base_url(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return invalid_argument("base URL '" + url + "' has no scheme (expected http://host:port)");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return invalid_argument("base URL '" + url + "': scheme must be http or https");
  const size_t host_begin = scheme_end + 3;
  const size_t path_begin = url.find('/', host_begin);
  BaseUrl b;
  b.scheme_host_port = url.substr(0, path_begin);
  if (b.scheme_host_port.size() == host_begin) return invalid_argument("base URL '" + url + "' has no host");
  if (path_begin != std::string::npos) b.path_prefix = url.substr(path_begin);
  // "http://h:8000/" and "http://h:8000" mean the same; a trailing slash would double up.
  while (!b.path_prefix.empty() && b.path_prefix.back() == '/') b.path_prefix.pop_back();
  return b;
}

bool SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
    }
    const size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      return true;
    }
    line_.append(bytes.substr(i, end - i));
    after_cr_ = bytes[end] == '\r';
    i = end + 1;
    if (!end_line(on_event)) return false;
  }
  return true;
}

bool SseParser::finish(const OnEvent& on_event) {
  if (!line_.empty() && !end_line(on_event)) return false;
  return dispatch(on_event);
}

bool SseParser::end_line(const OnEvent& on_event) {
  if (line_.empty()) return dispatch(on_event);
  if (line_[0] != ':') {  // ':' starts a comment (keep-alive pings)
    const size_t colon = line_.find(':');
    const std::string_view field = std::string_view(line_).substr(0, colon);
    if (field == "data") {
      std::string_view value;
      if (colon != std::string::npos) {
        value = std::string_view(line_).substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
      }
      if (has_data_) data_.push_back('\n');
      data_.append(value);
      has_data_ = true;
    }
  }
  line_.clear();
  return true;
}

bool SseParser::dispatch(const OnEvent& on_event) {
  if (!has_data_) return true;
  has_data_ = false;
  ++n_events_;
  const bool go_on = on_event(data_);
  data_.clear();
  return go_on;
}

SseClient::SseClient(const BaseUrl& base, const SseClientSettings& settings)
    : base_(base), client_(std::make_unique<httplib::Client>(base.scheme_host_port)) {
  // Without TCP_NODELAY every small SSE write waits for the delayed ACK (~40 ms), which
  // would show up as fake inter-token latency.
  client_->set_tcp_nodelay(true);
  client_->set_keep_alive(true);
  const auto [c_sec, c_usec] = split_seconds(settings.connect_timeout_s);
  client_->set_connection_timeout(c_sec, c_usec);
  const auto [r_sec, r_usec] = split_seconds(settings.read_timeout_s);
  client_->set_read_timeout(r_sec, r_usec);
  client_->set_write_timeout(r_sec, r_usec);
  if (!settings.api_key.empty()) client_->set_bearer_token_auth(settings.api_key);
}

SseClient::~SseClient() = default;

void SseClient::cancel() {
  cancelled_.store(true);
  // httplib's stop() only shuts the socket down while a request is in flight (the one
  // operation on it that is safe from another thread); the blocked read then fails.
  client_->stop();
}

SseStreamResult SseClient::post_stream(const std::string& path, const std::string& json_body,
                                       const SseParser::OnEvent& on_event) {
  SseStreamResult out;
  SseParser parser;
  bool ok_status = false;
  httplib::Request req;
  req.method = "POST";
  req.path = base_.path_prefix + path;
  // identity: a compressed event stream would be buffered by the decompressor, hiding timing.
  req.headers = {{"Accept", "text/event-stream"}, {"Accept-Encoding", "identity"}, {"Content-Type", "application/json"}};
  req.body = json_body;
  req.response_handler = [&](const httplib::Response& res) {
    out.http_status = res.status;
    out.content_type = res.get_header_value("Content-Type");
    ok_status = res.status >= 200 && res.status < 300;
    return !cancelled_.load();
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (cancelled_.load()) return false;
    if (!ok_status) {
      out.error_body.append(data, std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, out.error_body.size())));
      return true;
    }
    if (!parser.feed(std::string_view(data, n), on_event)) {
      out.stopped_by_callback = true;
      return false;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = client_->send(req, res, err);
  out.cancelled = cancelled_.load();
  if (out.cancelled) {
    out.transport_error = "cancelled";
  } else if (!sent && !out.stopped_by_callback) {
    out.transport_error = "connection error: " + httplib::to_string(err);
  } else if (sent && ok_status && !parser.finish(on_event)) {
    out.stopped_by_callback = true;
  }
  out.n_events = parser.n_events();
  return out;
}

Result<nlohmann::json> SseClient::get_json(const std::string& path) {
  const std::string full = base_.path_prefix + path;
  httplib::Result res = client_->Get(full, httplib::Headers{{"Accept-Encoding", "identity"}});
  if (!res) return unavailable("GET " + full + ": connection error: " + httplib::to_string(res.error()));
  if (res->status != 200)
    return unavailable("GET " + full + ": HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300));
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return data_loss("GET " + full + ": the response is not JSON");
  return j;
}

}  // namespace dsv4
