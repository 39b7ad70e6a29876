// MonthCalendar against an independent source: Python's zoneinfo (tests/calendar_zoneinfo.py).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"

using namespace aiusage;

namespace {

// Runs `command` and returns its standard output; the exit status goes to `status`.
std::string run(const std::string& command, int& status) {
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  status = pclose(pipe);
  return out;
}

struct Expected {
  std::string zone;
  std::int64_t at_ms = 0;
  Period month;
  std::string date;  // the local date of at_ms
  std::int64_t midnight_ms = 0;
  std::string local;  // RFC 3339 in the zone, or "-"
};

std::vector<std::string> mismatches(const MonthCalendar& cal, const Expected& e) {
  std::vector<std::string> bad;
  auto say = [&](const std::string& what, std::int64_t got, std::int64_t want) {
    if (got != want)
      bad.push_back(e.zone + " at " + format_utc(e.at_ms) + ": " + what + " is " + format_utc(got) +
                    ", zoneinfo says " + format_utc(want));
  };
  const Period p = cal.month_of(e.at_ms);
  say("month start", p.start_ms, e.month.start_ms);
  say("month end", p.end_ms, e.month.end_ms);
  // The boundaries themselves: the last millisecond before each belongs to the month before.
  say("start of the month at its start", cal.month_of(e.month.start_ms).start_ms, e.month.start_ms);
  say("end of the month before", cal.month_of(e.month.start_ms - 1).end_ms, e.month.start_ms);
  say("end of the month at its last ms", cal.month_of(e.month.end_ms - 1).end_ms, e.month.end_ms);
  auto midnight = cal.parse_time(e.date);
  if (!midnight.ok())
    bad.push_back(e.zone + " " + e.date + ": " + midnight.error().message);
  else
    say("midnight of " + e.date, *midnight, e.midnight_ms);
  if (e.local != "-" && cal.format_local(e.at_ms) != e.local)
    bad.push_back(e.zone + " at " + format_utc(e.at_ms) + ": local time is " +
                  cal.format_local(e.at_ms) + ", zoneinfo says " + e.local);
  return bad;
}

}  // namespace

TEST_CASE("calendar - months and local midnights agree with Python's zoneinfo to year 9998") {
  // Each month start of 2038-2100 and 450 random instants (fixed seed) in each of 22 zones.
  int status = -1;
  const std::string out = run(std::string(AIUSAGE_PYTHON) + " " + AIUSAGE_SOURCE_DIR +
                                  "/tests/calendar_zoneinfo.py --seed 20380119",
                              status);
  REQUIRE(status == 0);
  std::map<std::string, MonthCalendar> calendars;
  std::vector<std::string> bad;
  std::size_t rows = 0;
  std::istringstream lines(out);
  Expected e;
  while (lines >> e.zone >> e.at_ms >> e.month.start_ms >> e.month.end_ms >> e.date >>
         e.midnight_ms >> e.local) {
    auto it = calendars.find(e.zone);
    if (it == calendars.end()) {
      auto cal = MonthCalendar::make(e.zone);
      REQUIRE(cal.ok());
      it = calendars.emplace(e.zone, *cal).first;
    }
    for (auto& m : mismatches(it->second, e)) bad.push_back(std::move(m));
    ++rows;
  }
  CHECK(calendars.size() == 22);
  CHECK(rows > 20'000);
  std::string first;
  for (std::size_t i = 0; i < bad.size() && i < 20; ++i) first += bad[i] + "\n";
  INFO(bad.size() << " mismatches in " << rows << " instants; the first:\n" << first);
  CHECK(bad.empty());
}
