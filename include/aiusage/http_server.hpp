#pragma once
// One CivetWeb server for the API, /metrics and the health endpoints.
#include <cstddef>
#include <memory>
#include <string>

#include "aiusage/service.hpp"

struct mg_context;

namespace aiusage {

struct HttpOptions {
  std::string listen = "127.0.0.1:9477";  // HOST:PORT; port 0 picks a free port
  int threads = 16;
  std::size_t max_body_bytes = 10 * 1024 * 1024;
};

class Router;

class HttpServer {
 public:
  // Starts serving; throws std::runtime_error when it cannot listen.
  HttpServer(UsageService& service, HttpOptions options);
  // Stops accepting and waits for in-flight requests.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  UsageService& service() { return service_; }
  const HttpOptions& options() const { return options_; }

 private:
  UsageService& service_;
  HttpOptions options_;
  std::unique_ptr<Router> router_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace aiusage
