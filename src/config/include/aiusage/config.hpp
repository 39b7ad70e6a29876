#pragma once
// Service configuration, loaded from TOML; errors name file:line:col.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/auth.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/money.hpp"
#include "aiusage/otlp_mapping.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/quota.hpp"
#include "aiusage/result.hpp"
#include "aiusage/series_governor.hpp"

namespace aiusage {

// [server]: the listener and the limits of a request. Applied at startup only.
struct ServerSettings {
  std::string listen = "127.0.0.1:9477";  // HOST:PORT; port 0 picks a free port
  int http_threads = 2048;  // one per open connection: room for 1,000 slow clients and the rest
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  std::int64_t body_timeout_ms = 10'000;     // the whole body must arrive within this (408)
  std::int64_t request_timeout_ms = 10'000;  // headers, and each wait for more body bytes
  std::size_t max_header_bytes = 16 * 1024;  // request line and headers
  // Memory that requests being read and parsed may hold at once (their buffers, then
  // ingest_memory_bound); a request that would pass it gets 503.
  std::size_t body_memory_budget = std::size_t{256} * 1024 * 1024;
  std::int64_t drain_timeout_ms = 10'000;  // on SIGTERM, wait this long for in-flight requests
  std::string tls_certificate;             // PEM with certificate and key; empty: plain HTTP
  bool operator==(const ServerSettings&) const = default;
};

// [storage]. Applied at startup only.
struct StorageSettings {
  std::string storage_path = "ai-usage.db";
  bool synchronous_full = true;  // false: synchronous = "normal", acknowledged before the flush
  bool group_commit = true;      // false: one transaction per request
  bool operator==(const StorageSettings&) const = default;
};

// What only a restart applies: the listener, the store, and what stored sums and /metrics
// series are shaped by (currency, time zone, labels kept, the series governor's limits).
struct StaticConfig : ServerSettings, StorageSettings {
  std::string currency = "USD";  // [billing]
  std::string timezone = "UTC";
  LabelSet labels;               // [metrics] labels
  GovernorLimits series_limits;  // [metrics] max_series and top_k
  bool operator==(const StaticConfig&) const = default;
};

// What a reload (SIGHUP, POST /-/reload) swaps in while serving; requests read one snapshot.
struct LiveConfig {
  PriceBook prices;
  // [billing] unknown_models = "reject": a record no price applies to is refused (400), not
  // stored unpriced.
  bool reject_unknown_models = false;
  std::vector<QuotaRule> quotas;
  // Quotas of "*" rules below this share of a limit (and below every threshold) are summed into
  // one subject="__other__" row per scope and window on /metrics; 0 shows them all.
  std::int32_t quota_min_ratio_ppm = 500'000;
  TimeWindow window;  // [ingest]
  OtlpOptions otlp;   // [otlp]: POST /v1/traces
  AuthConfig auth;
};

// A configuration file: the defaults of its keys are the member initializers above.
struct Config : StaticConfig, LiveConfig {};

// The settings (TOML keys) that differ between `running` and `next` and only apply after a
// restart, in file order; empty only when `next` equals `running` in every StaticConfig member
// (a member without a name of its own is reported as "a setting that needs a restart").
std::vector<std::string> restart_required(const StaticConfig& running, const StaticConfig& next);

// The configuration file and each included file must be a regular file of at most this size
// (16 MiB, 500 times the shipped price list): a device, FIFO or directory is refused, not read.
inline constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} << 20;

// Loads `path` and the files its `include` list names (relative to its folder); an include that
// cannot be read is an error at its position in the including file.
Result<Config> load_config_file(const std::string& path);
// Parses TOML text; `source` names it in errors, `base_dir` resolves includes.
Result<Config> parse_config(std::string_view toml_text, const std::string& source,
                            const std::string& base_dir);
// Same, reading included files through `read_file` (which may throw).
Result<Config> parse_config(std::string_view toml_text, const std::string& source,
                            const std::string& base_dir,
                            const std::function<std::string(const std::string&)>& read_file);
// Embedded defaults: config/example.toml with config/pricing.toml, as shipped.
Config default_config();

}  // namespace aiusage
