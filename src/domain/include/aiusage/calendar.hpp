#pragma once
// Calendar days, ISO weeks and months in an IANA time zone, and time-stamp text.
#include <cstdint>
#include <string>
#include <string_view>

#include <absl/time/time.h>

#include "aiusage/result.hpp"

namespace aiusage {

// Half-open interval of Unix milliseconds.
struct Period {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool operator==(const Period&) const = default;
};

// A budget window: a calendar day (local midnight), an ISO week (Monday 00:00 local) or a month.
enum class Window { day, week, month };
const char* to_string(Window w);
// "day", "week" or "month"; anything else is an error naming the accepted values.
Result<Window> parse_window(std::string_view text);

// Local time comes from the zone's TZif file through Abseil's cctz, which applies the file's POSIX
// TZ footer past its last transition (libdate's reader stops there: no DST after 2037).
class MonthCalendar {
 public:
  // A zone name of the tz database ("Europe/Berlin"); paths and other forms are refused.
  static Result<MonthCalendar> make(std::string_view tz_name);
  // The UTC calendar; needs no zone file.
  static MonthCalendar utc();
  // The calendar month (in this zone) that contains `at_ms`.
  Period month_of(std::int64_t at_ms) const;
  // The window of `kind` (in this zone) that contains `at_ms`; windows of a kind tile the time
  // line. A local midnight that DST skips starts at the jump, one that repeats at its first time.
  Period window_of(Window kind, std::int64_t at_ms) const;
  // RFC 3339 with the zone's offset, e.g. "2024-03-01T00:00:00+08:00".
  std::string format_local(std::int64_t at_ms) const;
  // RFC 3339, or a bare YYYY-MM-DD meaning local midnight in this zone (the earlier one when
  // midnight happens twice, the DST jump when it is skipped).
  Result<std::int64_t> parse_time(std::string_view text) const;
  const std::string& name() const { return name_; }

 private:
  absl::TimeZone zone_;
  std::string name_;
};

// RFC 3339 with a zone designator: "2024-01-15T10:00:00Z", "2024-01-15T10:00:00.123+08:00".
// A leap second (second 60, with any fraction) is read as that minute's last millisecond,
// :59.999; where it falls is not checked against the table of real leap seconds.
Result<std::int64_t> parse_rfc3339(std::string_view text);
// "2024-01-15T10:00:00.000Z"
std::string format_utc(std::int64_t at_ms);

}  // namespace aiusage
