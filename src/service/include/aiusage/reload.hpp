#pragma once
// Configuration reload (SIGHUP, POST /-/reload): all or nothing, with Prometheus-style gauges.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "aiusage/config.hpp"
#include "aiusage/result.hpp"

namespace prometheus {
class Collectable;
}

namespace aiusage {

class UsageService;

class ConfigReloader {
 public:
  // `load` reads the configuration to apply (the file plus command-line overrides).
  ConfigReloader(UsageService& service, std::function<Result<Config>()> load);

  // Loads, checks and swaps in the live configuration; on error, or when a setting that needs a
  // restart changed (every one is named), the old one keeps serving and the reason is logged and
  // returned. `trigger` names the cause in the log ("SIGHUP", "HTTP").
  Result<bool> reload(const std::string& trigger);
  bool last_successful() const;
  std::int64_t last_success_ms() const;
  // ai_usage_config_last_reload_successful and ..._success_timestamp_seconds.
  std::shared_ptr<prometheus::Collectable> collector();

 private:
  UsageService& service_;
  std::function<Result<Config>()> load_;
  mutable std::mutex mutex_;
  bool last_successful_ = true;
  std::int64_t last_success_ms_ = 0;
  std::shared_ptr<prometheus::Collectable> collector_;
};

}  // namespace aiusage
