#pragma once
// Service configuration, loaded from TOML; errors name file:line:col.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/quota.hpp"
#include "aiusage/result.hpp"

namespace aiusage {

// Which identity labels the usage series keep; a dropped label is summed away.
struct LabelSet {
  bool project = true;
  bool user = true;
  bool model = true;
};

struct Config {
  std::string listen = "127.0.0.1:9477";
  std::string storage_path = "ai-usage.db";
  bool synchronous_full = true;
  bool group_commit = true;  // false: one transaction per request
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  int http_threads = 16;
  std::string currency = "USD";
  std::string timezone = "UTC";
  PriceBook prices;
  std::vector<QuotaRule> quotas;
  LabelSet labels;
};

// Loads `path` and the files its `include` list names (relative to its folder).
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
