#pragma once
// One CivetWeb server for the API, /metrics and the health endpoints.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "aiusage/service.hpp"

namespace aiusage {

class ConfigReloader;

struct HttpOptions {
  std::string listen = "127.0.0.1:9477";  // HOST:PORT; port 0 picks a free port
  int threads = 2048;
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  std::int64_t body_timeout_ms = 10'000;     // the whole body must arrive within this (408)
  std::int64_t request_timeout_ms = 10'000;  // headers, and each wait for more body bytes
  std::size_t max_header_bytes = 16 * 1024;
  std::string tls_certificate;         // PEM with certificate and key: HTTPS only, TLS >= 1.2
  ConfigReloader* reloader = nullptr;  // serves POST /-/reload and the reload gauges when set
  std::size_t body_memory_budget = std::size_t{256} * 1024 * 1024;  // see Config
};

// The server settings of a configuration.
HttpOptions http_options(const Config& config, ConfigReloader* reloader = nullptr);

class HttpServer {
 public:
  // Starts serving; throws std::runtime_error when it cannot listen.
  HttpServer(UsageService& service, HttpOptions options);
  // Stops accepting and waits for in-flight requests.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Answers new requests 503 and waits up to `timeout_ms` for those in flight; true when all ended.
  bool drain(std::int64_t timeout_ms);
  int port() const;
  // Requests begun and not yet answered (what drain() waits for); tests wait on it.
  int in_flight();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace aiusage
