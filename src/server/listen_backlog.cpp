// Binding with a larger listen backlog (see listen_backlog.h).
#include "server/listen_backlog.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <httplib.h>

#include "core/log.h"

namespace dsv4::server {

int bind_with_backlog(httplib::Server& http, const std::string& host, int port, int backlog) {
  // The socket-options hook sees the listening socket before bind, and Linux lets listen()
  // be called again on a listening socket to raise its backlog.
  int listen_fd = -1;
  http.set_socket_options([&listen_fd](int sock) {
    // SO_REUSEADDR (restart while old connections sit in TIME_WAIT) but not httplib's default
    // SO_REUSEPORT, which lets a second server bind a port that is in use and silently
    // share its connections instead of failing with "Address already in use".
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  errno = 0;
  const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  const int bind_errno = errno;
  // The hook captured a local: put the defaults back before it goes out of scope.
  http.set_socket_options(httplib::default_socket_options);
  if (bound <= 0) {
    errno = bind_errno;
    return -1;
  }
  if (listen_fd >= 0 && ::listen(listen_fd, backlog) != 0) {
    DSV4_LOG_WARNING("server: cannot raise the listen backlog to %d: %s", backlog, std::strerror(errno));
  }
  return bound;
}

}  // namespace dsv4::server
