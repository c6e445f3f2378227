// The socket a request arrived on, found from its address pair, to notice a client that
// closed its connection while a non-streaming request was generating.
//
// cpp-httplib 0.11 gives handlers no access to the connection, and a non-streaming response
// cannot be written before the generation ends (its cost header depends on it). Without a
// probe, a client that gives up would leave its generation running to max_tokens. The
// probe finds the descriptor among the process's sockets by matching the request's local and
// remote address and port (a TCP connection is unique by that pair, so a match is the
// connection itself), then polls it for POLLRDHUP. Streaming responses do not need it:
// httplib's sink reports a closed peer itself. Linux only, like the server.
#pragma once

#include <string>

namespace dsv4::server {

class ConnectionProbe {
 public:
  // An unusable probe (peer_closed() always false) when no socket matches.
  static ConnectionProbe find(const std::string& remote_addr, int remote_port, const std::string& local_addr,
                              int local_port);

  bool valid() const { return fd_ >= 0; }
  // True once the peer has closed (or reset) the connection.
  bool peer_closed() const;
  // Stops reading from the connection (a body the server will not read to its end): the
  // connection then closes after the response instead of parsing the rest as a request.
  void shutdown_read() const;

  // Stops reading from every connection accepted on `local_port`. For stop(): httplib's
  // keep-alive loop waits out its whole idle timeout on a quiet connection before it looks
  // at the stop flag, so an idle pooled client (the openai SDK keeps one) would hold up
  // shutdown; a read shutdown wakes that wait at once and the connection closes.
  static void shutdown_read_all(int local_port);

 private:
  explicit ConnectionProbe(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace dsv4::server
