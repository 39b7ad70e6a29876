#include "aiusage/calendar.hpp"

#include <absl/time/civil_time.h>
#include <date/date.h>
#include <date/tz.h>

#include <cstdio>
#include <cstdlib>

namespace aiusage {

namespace {

using Ms = std::chrono::milliseconds;

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// YYYY-MM-DD at the start of `s`.
bool read_date(std::string_view s, date::year_month_day& out) {
  int y, m, d;
  if (!read_digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_digits(s, 5, 2, m) ||
      s[7] != '-' || !read_digits(s, 8, 2, d))
    return false;
  out = date::year{y} / date::month{static_cast<unsigned>(m)} / date::day{static_cast<unsigned>(d)};
  return out.ok();
}

// The first instant whose local time is `c`: the earlier one when `c` happens twice, the DST jump
// when it is skipped.
std::int64_t first_instant(absl::CivilSecond c, const absl::TimeZone& zone) {
  const absl::TimeZone::TimeInfo info = zone.At(c);
  return absl::ToUnixMillis(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre);
}

}  // namespace

Result<std::int64_t> parse_rfc3339(std::string_view s) {
  const Error bad{"expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"" +
                  std::string(s) + "\""};
  date::year_month_day ymd;
  if (!read_date(s, ymd) || s.size() < 20) return bad;
  char sep = s[10];
  if (sep != 'T' && sep != 't' && sep != ' ') return bad;
  int hh, mm, ss;
  if (!read_digits(s, 11, 2, hh) || s[13] != ':' || !read_digits(s, 14, 2, mm) || s[16] != ':' ||
      !read_digits(s, 17, 2, ss) || hh > 23 || mm > 59 || ss > 60)
    return bad;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t digits = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
    }
    if (digits == 0 || digits > 9) return bad;
    for (; digits < 3; ++digits) millis *= 10;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad;
    offset_min = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return bad;
  }
  if (pos != s.size()) return bad;
  if (ss == 60) {  // a leap second: the minute's last millisecond
    ss = 59;
    millis = 999;
  }
  auto t = date::sys_days{ymd} + std::chrono::hours{hh} + std::chrono::minutes{mm} +
           std::chrono::seconds{ss} - std::chrono::minutes{offset_min};
  return std::chrono::duration_cast<Ms>(t.time_since_epoch()).count() + millis;
}

std::string format_utc(std::int64_t at_ms) {
  return date::format("%FT%TZ", date::sys_time<Ms>{Ms{at_ms}});
}

Result<MonthCalendar> MonthCalendar::make(std::string_view tz_name) {
  const Error unknown{"unknown time zone \"" + std::string(tz_name) + "\""};
  // libdate lists the database's zone names; cctz alone would also open paths and "Fixed/…" names.
  try {
    date::locate_zone(tz_name);
  } catch (const std::exception&) {
    return unknown;
  }
  MonthCalendar cal;
  if (!absl::LoadTimeZone(std::string(tz_name), &cal.zone_)) return unknown;
  cal.name_ = std::string(tz_name);
  return cal;
}

MonthCalendar MonthCalendar::utc() {
  MonthCalendar cal;
  cal.zone_ = absl::UTCTimeZone();
  cal.name_ = "UTC";
  return cal;
}

Period MonthCalendar::month_of(std::int64_t at_ms) const {
  const absl::CivilMonth month(absl::ToCivilSecond(absl::FromUnixMillis(at_ms), zone_));
  return {first_instant(absl::CivilSecond(month), zone_),
          first_instant(absl::CivilSecond(month + 1), zone_)};
}

const char* to_string(Window w) {
  switch (w) {
    case Window::day:
      return "day";
    case Window::week:
      return "week";
    case Window::month:
      return "month";
  }
  return "month";
}

Result<Window> parse_window(std::string_view text) {
  for (Window w : {Window::day, Window::week, Window::month})
    if (text == to_string(w)) return w;
  return Error{"expected \"day\", \"week\" or \"month\", got \"" + std::string(text) + "\""};
}

Period MonthCalendar::window_of(Window kind, std::int64_t at_ms) const {
  const absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixMillis(at_ms), zone_);
  switch (kind) {
    case Window::day: {
      const absl::CivilDay day(local);
      return {first_instant(absl::CivilSecond(day), zone_),
              first_instant(absl::CivilSecond(day + 1), zone_)};
    }
    case Window::week: {
      const absl::CivilDay day(local);
      const absl::CivilDay monday = absl::PrevWeekday(day + 1, absl::Weekday::monday);
      return {first_instant(absl::CivilSecond(monday), zone_),
              first_instant(absl::CivilSecond(monday + 7), zone_)};
    }
    case Window::month:
      break;
  }
  return month_of(at_ms);
}

std::string MonthCalendar::format_local(std::int64_t at_ms) const {
  const absl::Time t = absl::FromUnixMillis(at_ms);
  const absl::CivilSecond c = absl::ToCivilSecond(t, zone_);
  const long off = zone_.At(t).offset / 60;
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%s%04lld-%02d-%02dT%02d:%02d:%02d",
                        c.year() < 0 ? "-" : "", std::llabs(static_cast<long long>(c.year())),
                        c.month(), c.day(), c.hour(), c.minute(), c.second());
  if (off == 0) return std::string(buf, n) + "Z";
  std::snprintf(buf + n, sizeof buf - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 60,
                std::labs(off) % 60);
  return buf;
}

Result<std::int64_t> MonthCalendar::parse_time(std::string_view text) const {
  if (text.size() == 10) {
    date::year_month_day ymd;
    if (!read_date(text, ymd))
      return Error{"expected YYYY-MM-DD or an RFC 3339 time stamp, got \"" + std::string(text) +
                   "\""};
    return first_instant(
        absl::CivilSecond(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                          static_cast<unsigned>(ymd.day())),
        zone_);
  }
  return parse_rfc3339(text);
}

}  // namespace aiusage
