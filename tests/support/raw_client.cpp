#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace aiusage::testing {

RawSocket::RawSocket(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
}

RawSocket::~RawSocket() { ::close(fd_); }

bool RawSocket::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawSocket::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The length of the whole response at the front of `raw`, or npos while it is incomplete
// (a response framed by the close is never complete).
std::size_t response_length(const std::string& raw, bool head) {
  const std::size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return std::string::npos;
  const std::size_t body = end + 4;
  const RawResponse r = parse_response(raw.substr(0, body));
  if (head || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304)
    return body;
  if (auto te = r.headers.find("transfer-encoding");
      te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    for (std::size_t pos = body;;) {
      const std::size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) return std::string::npos;
      const std::size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) {
        const std::size_t last = raw.find("\r\n\r\n", eol);  // after any trailers
        return last == std::string::npos ? last : last + 4;
      }
      pos = eol + 2 + size + 2;
      if (pos > raw.size()) return std::string::npos;
    }
  }
  if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
    const std::size_t total = body + std::stoul(cl->second);
    return raw.size() >= total ? total : std::string::npos;
  }
  return std::string::npos;
}

}  // namespace

bool RawSocket::readable(int timeout_ms) {
  if (!buffered_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

bool RawSocket::closed_by_peer(int timeout_ms) {
  if (!readable(timeout_ms)) return false;
  char byte;
  return buffered_.empty() && ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

bool RawSocket::fill(std::int64_t deadline_ms) {
  const std::int64_t left = deadline_ms - now_ms();
  pollfd p{fd_, POLLIN, 0};
  if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffered_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string RawSocket::read_all(int timeout_ms) {
  const std::int64_t deadline = now_ms() + timeout_ms;
  while (fill(deadline)) {
  }
  return std::exchange(buffered_, {});
}

std::string RawSocket::read_response(bool head, int timeout_ms) {
  const std::int64_t deadline = now_ms() + timeout_ms;
  std::size_t length = response_length(buffered_, head);
  while (length == std::string::npos && fill(deadline)) length = response_length(buffered_, head);
  if (length == std::string::npos) return std::exchange(buffered_, {});
  std::string out = buffered_.substr(0, length);
  buffered_.erase(0, length);
  return out;
}

RawResponse parse_response(const std::string& raw) {
  RawResponse r;
  std::size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    std::size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    std::size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(line.find_first_not_of(' ', colon + 1));
    std::string& slot = r.headers[name];
    slot += (slot.empty() ? "" : "\n") + value;
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

}  // namespace aiusage::testing
