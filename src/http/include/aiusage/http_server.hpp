#pragma once
// One CivetWeb server for the API, /metrics and the health endpoints.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "aiusage/service.hpp"

namespace aiusage {

class ConfigReloader;

// [server] (its defaults are ServerSettings'; drain_timeout_ms is the caller's) and the reloader.
struct HttpOptions : ServerSettings {
  ConfigReloader* reloader = nullptr;  // serves POST /-/reload and the reload gauges when set
};

// The server settings of a configuration.
HttpOptions http_options(const ServerSettings& server, ConfigReloader* reloader = nullptr);

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
