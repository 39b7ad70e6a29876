#include "support/metrics_page.hpp"

#include <regex>
#include <sstream>

namespace aiusage::testing {

namespace {
// The storage families start with the degraded gauge (storage.cpp), then the writer's.
constexpr const char* kStorageStart = "# HELP ai_usage_storage_degraded ";
}  // namespace

std::string without_timings(const std::string& page) {
  static const std::regex timed(
      "^(ai_usage_(ingest_ack_duration_seconds|store_flush_duration_seconds|rollup_pending_records)"
      "[^ ]*) .*$");
  std::istringstream in(page);
  std::string out;
  for (std::string line; std::getline(in, line);)
    out += std::regex_replace(line, timed, "$1 V") + "\n";
  return out;
}

std::string usage_part(const std::string& page) { return page.substr(0, page.find(kStorageStart)); }

std::string storage_part(const std::string& page) {
  const std::size_t at = page.find(kStorageStart);
  return at == std::string::npos ? std::string() : page.substr(at);
}

}  // namespace aiusage::testing
