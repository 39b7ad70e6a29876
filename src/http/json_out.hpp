#pragma once
// JSON response bodies of the HTTP API.
#include <string>

#include "aiusage/ingest.hpp"
#include "aiusage/service.hpp"

namespace aiusage::json {

std::string error(const std::string& message);
// /-/ready while degraded: {"status":"degraded","storage":"read-only"|"unavailable","error":…}.
std::string not_ready(const std::string& storage, const std::string& reason);
std::string ingest_error(const IngestError& e);
std::string ingest_outcome(const IngestOutcome& o, const std::string& currency);
std::string statistics(const Statistics& s, const std::string& currency);
std::string quota(const QuotaReport& r, const MonthCalendar& cal, const std::string& currency);
std::string alert(const SubjectAlert& a);
std::string alerts(const std::vector<SubjectAlert>& all, const MonthCalendar& cal,
                   const std::string& currency);
std::string cache_hit_rate(const CacheHitRate& c);

}  // namespace aiusage::json
