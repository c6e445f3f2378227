// Finding a request's socket by its address pair (see connection_probe.h).
#include "server/connection_probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace dsv4::server {
namespace {

// Numeric host and port of a socket address, as httplib reports them (getnameinfo with
// NI_NUMERICHOST spells addresses as inet_ntop does).
bool address_of(const sockaddr_storage& a, std::string* host, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &a, sizeof(in));
    if (inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf)) == nullptr) return false;
    *port = ntohs(in.sin_port);
  } else if (a.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &a, sizeof(in6));
    if (inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf)) == nullptr) return false;
    *port = ntohs(in6.sin6_port);
  } else {
    return false;
  }
  *host = buf;
  return true;
}

bool matches(int fd, const std::string& remote_addr, int remote_port, const std::string& local_addr, int local_port) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
  std::string host;
  int port = 0;
  if (!address_of(peer, &host, &port) || port != remote_port || host != remote_addr) return false;
  sockaddr_storage self{};
  len = sizeof(self);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) return false;
  return address_of(self, &host, &port) && port == local_port && host == local_addr;
}

}  // namespace

ConnectionProbe ConnectionProbe::find(const std::string& remote_addr, int remote_port, const std::string& local_addr,
                                      int local_port) {
  // Each HTTP worker serves one connection at a time, usually for several requests.
  thread_local int last_fd = -1;
  if (last_fd >= 0 && matches(last_fd, remote_addr, remote_port, local_addr, local_port))
    return ConnectionProbe(last_fd);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return ConnectionProbe(-1);
  int found = -1;
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    if (matches(static_cast<int>(fd), remote_addr, remote_port, local_addr, local_port)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  last_fd = found;
  return ConnectionProbe(found);
}

bool ConnectionProbe::peer_closed() const {
  if (fd_ < 0) return false;
  pollfd p{};
  p.fd = fd_;
  p.events = POLLRDHUP;
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void ConnectionProbe::shutdown_read() const {
  if (fd_ >= 0) shutdown(fd_, SHUT_RD);
}

void ConnectionProbe::shutdown_read_all(int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage self{};
    socklen_t len = sizeof(self);
    std::string host;
    int port = 0;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&self), &len) != 0) continue;
    if (!address_of(self, &host, &port) || port != local_port) continue;
    // Only accepted connections have a peer; a client socket of this process that talks
    // to the server has the server's port as its peer's, not as its own.
    sockaddr_storage peer{};
    len = sizeof(peer);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    shutdown(static_cast<int>(fd), SHUT_RD);
  }
  closedir(dir);
}

}  // namespace dsv4::server
