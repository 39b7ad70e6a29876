#pragma once
// Byte-level HTTP over loopback for hostile-client tests: partial writes, trickles, raw bytes.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "support/wait.hpp"

namespace aiusage::testing {

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port`; throws on failure.
  explicit RawSocket(int port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // False once the peer has closed or reset the connection.
  bool send(std::string_view bytes);
  void shutdown_write();
  // Everything until the peer closes or `timeout_ms` passes.
  std::string read_all(int timeout_ms = kHangMs);
  // The bytes of the next whole response (head only for 1xx, 204, 304 or `head`; else its
  // Content-Length, its chunks or until the close), or what came before `timeout_ms`.
  std::string read_response(bool head = false, int timeout_ms = kHangMs);
  // True when the peer has sent something (or closed) within `timeout_ms`.
  bool readable(int timeout_ms);
  // True when the peer has closed or reset the connection within `timeout_ms` (nothing unread).
  bool closed_by_peer(int timeout_ms = kHangMs);

 private:
  // Reads more into buffered_ before `deadline_ms` (steady clock); false once closed or late.
  bool fill(std::int64_t deadline_ms);
  int fd_ = -1;
  std::string buffered_;  // read but not yet returned
};

struct RawResponse {
  int status = 0;                              // 0: no status line
  std::map<std::string, std::string> headers;  // names lower-cased; repeated names joined by "\n"
  std::string body;
};

RawResponse parse_response(const std::string& raw);

}  // namespace aiusage::testing
