// Binding a cpp-httplib server with a listen backlog larger than the library's own.
//
// httplib 0.11.4 (Debian) listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG is compiled
// into the .so): a burst of new connections overflows it and the dropped SYNs are retried
// after 1 s, which clients see as 1 s of extra latency. Used by the server and by test
// servers that take bursts of hundreds of clients.
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace dsv4::server {

// Binds `http` to host:port (port 0: any free port) and raises the listen backlog to
// `backlog`; a port already in use fails (no SO_REUSEPORT). Returns the bound port, or -1
// with errno set when binding failed. Leaves the server's socket options at httplib's
// defaults afterwards.
int bind_with_backlog(httplib::Server& http, const std::string& host, int port, int backlog);

}  // namespace dsv4::server
