#pragma once
// A real service and HTTP server on a loopback port, over a SQLite file in a temp dir.
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "aiusage/config.hpp"
#include "aiusage/http_server.hpp"
#include "aiusage/service.hpp"
#include "support/temp_dir.hpp"

namespace aiusage::testing {

// Prices, quotas and zone the HTTP tests are written against.
extern const char* const kTestConfig;

Config test_config(const std::string& storage_path, const std::string& extra_toml = "");
// `text` read as the file test.toml in /cfg, which may include no other file.
Result<Config> parse_test_toml(const std::string& text);

// A settable clock shared by the service and the test.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(0);
  Clock clock() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void set(std::int64_t ms) const { now->store(ms); }
};

struct TestServer {
  std::unique_ptr<UsageService> service;
  std::unique_ptr<HttpServer> server;

  TestServer(const Config& config, const Clock& clock) : TestServer(config, clock, options()) {}
  TestServer(const Config& config, const Clock& clock, std::size_t max_body_bytes)
      : TestServer(config, clock, options(max_body_bytes)) {}
  TestServer(const Config& config, const Clock& clock, HttpOptions options)
      : service(std::make_unique<UsageService>(config, clock)),
        server(std::make_unique<HttpServer>(*service, std::move(options))) {}
  int port() const { return server->port(); }
  // [server]'s defaults on a free loopback port with 4 threads; no reloader.
  static HttpOptions options(std::optional<std::size_t> max_body_bytes = std::nullopt) {
    HttpOptions o;
    o.listen = "127.0.0.1:0";
    o.http_threads = 4;
    if (max_body_bytes) o.max_body_bytes = *max_body_bytes;
    return o;
  }
  // Stops the server, then the service (in that order, like the binary).
  void stop() {
    server.reset();
    service.reset();
  }
};

}  // namespace aiusage::testing
