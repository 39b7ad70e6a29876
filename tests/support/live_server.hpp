#pragma once
// The service, a config reloader and the HTTP server with every option of a Config, as the binary
// builds them; stops in the binary's order.
#include <functional>
#include <memory>

#include "aiusage/config.hpp"
#include "aiusage/http_server.hpp"
#include "aiusage/reload.hpp"
#include "aiusage/service.hpp"
#include "support/test_server.hpp"

namespace aiusage::testing {

// The HTTP tests' configuration plus `extra_toml`, on a free loopback port.
inline Config live_config(const std::string& storage_path, const std::string& extra_toml = "") {
  Config c = test_config(storage_path, extra_toml);
  c.listen = "127.0.0.1:0";
  c.http_threads = 8;
  return c;
}

struct LiveServer {
  std::unique_ptr<UsageService> service;
  std::unique_ptr<ConfigReloader> reloader;
  std::unique_ptr<HttpServer> server;

  // `load` serves reloads; by default a reload re-applies `config`.
  LiveServer(const Config& config, const Clock& clock, std::function<Result<Config>()> load = {})
      : service(std::make_unique<UsageService>(config, clock)),
        reloader(std::make_unique<ConfigReloader>(
            *service, load ? std::move(load) : [config]() -> Result<Config> { return config; })),
        server(std::make_unique<HttpServer>(*service, http_options(config, reloader.get()))) {}
  ~LiveServer() {
    server.reset();
    reloader.reset();
    service.reset();
  }
  int port() const { return server->port(); }
};

}  // namespace aiusage::testing
