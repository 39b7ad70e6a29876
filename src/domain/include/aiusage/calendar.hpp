#pragma once
// Calendar months in an IANA time zone, and time-stamp text.
#include <cstdint>
#include <string>
#include <string_view>

#include "aiusage/result.hpp"

namespace date {
class time_zone;
}

namespace aiusage {

// Half-open interval of Unix milliseconds.
struct Period {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool operator==(const Period&) const = default;
};

class MonthCalendar {
 public:
  static Result<MonthCalendar> make(std::string_view tz_name);
  // The calendar month (in this zone) that contains `at_ms`.
  Period month_of(std::int64_t at_ms) const;
  // RFC 3339 with the zone's offset, e.g. "2024-03-01T00:00:00+08:00".
  std::string format_local(std::int64_t at_ms) const;
  // RFC 3339, or a bare YYYY-MM-DD meaning local midnight in this zone.
  Result<std::int64_t> parse_time(std::string_view text) const;
  const std::string& name() const { return name_; }

 private:
  const date::time_zone* zone_ = nullptr;
  std::string name_;
};

// RFC 3339 with a zone designator: "2024-01-15T10:00:00Z", "2024-01-15T10:00:00.123+08:00".
Result<std::int64_t> parse_rfc3339(std::string_view text);
// "2024-01-15T10:00:00.000Z"
std::string format_utc(std::int64_t at_ms);

}  // namespace aiusage
