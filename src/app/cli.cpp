#include "aiusage/cli.hpp"

#include <pthread.h>
#include <csignal>
#include <cstdio>

#include "aiusage/build_info.hpp"
#include "aiusage/config.hpp"
#include "aiusage/http_server.hpp"
#include "aiusage/log.hpp"
#include "aiusage/open_files.hpp"
#include "aiusage/reload.hpp"
#include "aiusage/service.hpp"

namespace aiusage {

std::string usage_text() {
  return "usage: ai-usage-exporter [--config FILE] [--web.listen-address HOST:PORT] "
         "[--storage.path FILE]\n"
         "       ai-usage-exporter price [--config FILE] [--prompt-tokens N] [--service-tier T] "
         "PROVIDER MODEL\n"
         "\n"
         "Prices, stores and exports the token usage and cost of LLM calls.\n"
         "\n"
         "  --config FILE                 TOML configuration (default: embedded defaults)\n"
         "  --web.listen-address ADDR     overrides [server] listen, e.g. 127.0.0.1:9477\n"
         "  --storage.path FILE           overrides [storage] path (SQLite file)\n"
         "  --help                        show this text\n"
         "  --version                     show the version\n";
}

Result<CliOptions> parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Error{"flag " + a + " needs a value"};
      return args[++i];
    };
    if (a == "--help" || a == "-h")
      o.help = true;
    else if (a == "--version")
      o.version = true;
    else if (a == "--config" || a == "--web.listen-address" || a == "--storage.path") {
      auto v = value();
      if (!v) return v.error();
      if (v->empty()) return Error{"flag " + a + " needs a value"};
      (a == "--config" ? o.config_path : a == "--storage.path" ? o.storage_path : o.listen) = *v;
    } else {
      return Error{"unknown argument \"" + args[i] + "\""};
    }
  }
  return o;
}

int run_main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "price")
    return run_price(std::vector<std::string>(argv + 2, argv + argc), stdout, stderr);
  auto cli = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  if (!cli) {
    std::fprintf(stderr, "ai-usage-exporter: %s\n\n%s", cli.error().message.c_str(),
                 usage_text().c_str());
    return 2;
  }
  if (cli->help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  if (cli->version) {
    std::printf("ai-usage-exporter %s (revision %s)\n", kVersion, kRevision);
    return 0;
  }
  // Signals are taken by sigwait below; main.cpp blocks them before any code runs (this repeats
  // it for other callers). Any sent meanwhile waits: SIGHUP reloads once the service is up,
  // SIGTERM and SIGINT stop it cleanly once it is up (exit 0).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    // The file (or the embedded defaults) with the command-line overrides; reload reads it again.
    auto load = [&cli]() -> Result<Config> {
      Result<Config> loaded =
          cli->config_path ? load_config_file(*cli->config_path) : default_config();
      if (!loaded) return loaded;
      if (cli->listen) loaded->listen = *cli->listen;
      if (cli->storage_path) loaded->storage_path = *cli->storage_path;
      return loaded;
    };
    auto loaded = load();
    if (!loaded) {
      log::error("invalid configuration", {{"err", loaded.error().message}});
      return 1;
    }
    const Config& config = *loaded;
    ensure_open_files_for(config.http_threads);
    UsageService service(config);
    ConfigReloader reloader(service, load);
    HttpServer server(service, http_options(config, &reloader));
    log::info("listening", {{"address", config.listen},
                            {"port", std::to_string(server.port())},
                            {"tls", config.tls_certificate.empty() ? "off" : "on"},
                            {"storage", config.storage_path},
                            {"currency", config.currency},
                            {"timezone", config.timezone},
                            {"version", kVersion}});
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        reloader.reload("SIGHUP");
        continue;
      }
      log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    // In-flight requests finish (new ones get 503); every acknowledged record is already committed.
    if (!server.drain(config.drain_timeout_ms))
      log::warn("in-flight requests still running after the drain timeout",
                {{"drain_timeout", std::to_string(config.drain_timeout_ms) + "ms"}});
  } catch (const std::exception& e) {
    log::error("fatal", {{"err", e.what()}});
    return 1;
  }
  log::info("stopped");
  return 0;
}

}  // namespace aiusage
