#include "civet_socket.hpp"

#include <civetweb.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace aiusage {

namespace {

// Whether `fd` is the connection of `ri`: its peer is the client's address and port, and its
// local port the server's.
bool is_connection_of(int fd, const mg_request_info* ri) {
  sockaddr_storage peer{}, local{};
  socklen_t peer_len = sizeof peer, local_len = sizeof local;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return false;
  char addr[INET6_ADDRSTRLEN] = "";
  int peer_port = 0, local_port = 0;
  if (peer.ss_family == AF_INET) {
    auto* p = reinterpret_cast<sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &p->sin_addr, addr, sizeof addr);
    peer_port = ntohs(p->sin_port);
    local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  } else if (peer.ss_family == AF_INET6) {
    auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &p->sin6_addr, addr, sizeof addr);
    peer_port = ntohs(p->sin6_port);
    local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  }
  return peer_port == ri->remote_port && local_port == ri->server_port &&
         ri->remote_addr == std::string(addr);
}

}  // namespace

void Connection::wait_answered() {
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return !answering; });
}

void Connection::begin_answer() {
  std::lock_guard lock(mutex);
  answering = true;
}

void Connection::end_answer() {
  // Notified under the lock: once it is released the waiter may delete the connection.
  std::lock_guard lock(mutex);
  answering = false;
  cv.notify_all();
}

int init_connection(const mg_connection*, void** conn_data) {
  *conn_data = new Connection;
  return 0;
}

Connection* connection_of(const mg_connection* conn) {
  return static_cast<Connection*>(mg_get_user_connection_data(conn));
}

bool close_connection(mg_connection* conn) {
  Connection* c = connection_of(conn);
  if (c == nullptr) return false;
  c->wait_answered();
  mg_set_user_connection_data(conn, nullptr);
  delete c;
  return true;
}

int socket_of(const mg_connection* conn, const mg_request_info* ri) {
  Connection* c = connection_of(conn);
  if (c != nullptr && c->fd >= 0) return c->fd;
  int last = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(dir)) continue;
    if (is_connection_of(fd, ri)) {
      last = fd;
      break;
    }
  }
  closedir(dir);
  if (c != nullptr) c->fd = last;
  return last;
}

BodyWatchdog::BodyWatchdog() : thread_([this] { run(); }) {}

BodyWatchdog::~BodyWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::uint64_t BodyWatchdog::arm(int fd, Deadline deadline) {
  std::lock_guard lock(mutex_);
  armed_[++next_ticket_] = {fd, deadline};
  // Woken only when this deadline comes before its next wake-up: deadlines are armed in nearly
  // increasing order, so most requests cost no context switch here.
  if (deadline < wake_at_) cv_.notify_all();
  return next_ticket_;
}

void BodyWatchdog::disarm(std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  armed_.erase(ticket);
}

void BodyWatchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    Deadline next = Deadline::max();
    const Deadline now = std::chrono::steady_clock::now();
    for (auto it = armed_.begin(); it != armed_.end();) {
      if (it->second.deadline <= now) {
        shutdown(it->second.fd, SHUT_RD);
        it = armed_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    wake_at_ = next;
    if (next == Deadline::max())
      cv_.wait(lock);
    else
      cv_.wait_until(lock, next);
  }
}

void wake_listener(int port) {
  for (int family : {AF_INET, AF_INET6}) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<std::uint16_t>(port));
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<std::uint16_t>(port));
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    }
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
    ::close(fd);
    if (rc == 0 || errno == EINPROGRESS) return;
  }
}

}  // namespace aiusage
