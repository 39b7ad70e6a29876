#include "aiusage/reload.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "aiusage/log.hpp"
#include "aiusage/service.hpp"

namespace aiusage {

namespace {

class ReloadCollector : public prometheus::Collectable {
 public:
  explicit ReloadCollector(const ConfigReloader& reloader) : reloader_(reloader) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    prometheus::MetricFamily ok{
        "ai_usage_config_last_reload_successful",
        "Whether the last configuration reload attempt succeeded (1) or not (0).",
        MetricType::Gauge,
        {}};
    prometheus::MetricFamily at{
        "ai_usage_config_last_reload_success_timestamp_seconds",
        "Time of the last successful configuration load (startup or reload).",
        MetricType::Gauge,
        {}};
    ok.metric.emplace_back().gauge.value = reloader_.last_successful() ? 1.0 : 0.0;
    at.metric.emplace_back().gauge.value =
        static_cast<double>(reloader_.last_success_ms()) / 1000.0;
    return {std::move(ok), std::move(at)};
  }

 private:
  const ConfigReloader& reloader_;
};

}  // namespace

ConfigReloader::ConfigReloader(UsageService& service, std::function<Result<Config>()> load)
    : service_(service), load_(std::move(load)), last_success_ms_(service.now_ms()) {
  collector_ = std::make_shared<ReloadCollector>(*this);
}

Result<bool> ConfigReloader::reload(const std::string& trigger) {
  std::lock_guard lock(mutex_);
  auto fail = [&](const std::string& reason) -> Result<bool> {
    last_successful_ = false;
    log::error("configuration reload failed; the old configuration keeps serving",
               {{"trigger", trigger}, {"err", reason}});
    return Error{reason};
  };
  auto next = load_();
  if (!next) return fail(next.error().message);
  if (auto changed = restart_required(service_.config(), *next); !changed.empty()) {
    std::string names;
    for (const std::string& name : changed) names += (names.empty() ? "" : ", ") + name;
    return fail(names +
                (changed.size() == 1 ? " changed: it only takes" : " changed: they only take") +
                " effect after a restart; nothing was reloaded");
  }
  service_.reload(std::move(static_cast<LiveConfig&>(*next)));
  last_successful_ = true;
  last_success_ms_ = service_.now_ms();
  log::info("configuration reloaded", {{"trigger", trigger}});
  return true;
}

bool ConfigReloader::last_successful() const {
  std::lock_guard lock(mutex_);
  return last_successful_;
}

std::int64_t ConfigReloader::last_success_ms() const {
  std::lock_guard lock(mutex_);
  return last_success_ms_;
}

std::shared_ptr<prometheus::Collectable> ConfigReloader::collector() { return collector_; }

}  // namespace aiusage
