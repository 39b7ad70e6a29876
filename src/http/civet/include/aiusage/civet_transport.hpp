#pragma once
// The HTTP/1.1 server on CivetWeb 1.15: it reads each request, refuses what CivetWeb would get
// wrong (ambiguous framing, unanswerable targets, late bodies), and hands the rest to `serve`.
// Every CivetWeb workaround lives behind this header (src/http/civet).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "aiusage/exchange.hpp"

namespace aiusage {

// Every field is set by the caller from [server] (ServerSettings states the defaults).
struct TransportOptions {
  std::string listen;  // HOST:PORT; port 0 picks a free port
  int threads = 0;
  std::int64_t request_timeout_ms = 0;  // headers, and each wait for more body bytes
  std::size_t max_header_bytes = 0;
  std::string tls_certificate;  // PEM with certificate and key: HTTPS only, TLS >= 1.2
};

// Answers one request (it must call respond); may throw std::bad_alloc (the connection then ends
// unanswered), nothing else.
using Serve = std::function<void(Exchange&)>;
// The answer to a request the transport refuses itself (e.g. a JSON error); the transport makes
// it close the connection.
using Refusal = std::function<Response(int status, const std::string& message)>;

class CivetTransport {
 public:
  // Starts serving; throws std::runtime_error when it cannot listen.
  CivetTransport(TransportOptions options, Serve serve, Refusal refusal);
  // Stops accepting and waits for the requests in flight.
  ~CivetTransport();
  CivetTransport(const CivetTransport&) = delete;
  CivetTransport& operator=(const CivetTransport&) = delete;

  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace aiusage
