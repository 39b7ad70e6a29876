// Time-stamp text and calendar months in IANA time zones.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "aiusage/calendar.hpp"

using namespace aiusage;

namespace {

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kMinute = 60'000;

// Midnight UTC of some first days, as days since 1970-01-01 × 1 day: 2024-01-01 = 19723 days
// (1704067200 s); the months of 2024 have 31 29 31 30 31 30 31 31 30 31 30 31 days.
constexpr std::int64_t k2024_01_01 = 19723 * kDay;
constexpr std::int64_t k2024_02_01 = k2024_01_01 + 31 * kDay;   // 19754
constexpr std::int64_t k2024_03_01 = k2024_02_01 + 29 * kDay;   // 19783 (leap year)
constexpr std::int64_t k2024_04_01 = k2024_03_01 + 31 * kDay;   // 19814
constexpr std::int64_t k2024_05_01 = k2024_04_01 + 30 * kDay;   // 19844
constexpr std::int64_t k2024_11_01 = k2024_01_01 + 305 * kDay;  // 20028
constexpr std::int64_t k2024_12_01 = k2024_11_01 + 30 * kDay;   // 20058
constexpr std::int64_t k2025_01_01 = k2024_12_01 + 31 * kDay;   // 20089 = 1735689600 s

MonthCalendar calendar(const char* zone) {
  auto cal = MonthCalendar::make(zone);
  REQUIRE(cal.ok());
  return *cal;
}

}  // namespace

TEST_CASE("calendar - parse_rfc3339 accepts") {
  // 2024-01-15T10:00:00Z = 2024-01-01 + 14 days + 10 h = 1705312800 s.
  const std::int64_t jan15_10h = k2024_01_01 + 14 * kDay + 10 * kHour;
  REQUIRE(jan15_10h == 1'705'312'800'000);

  struct Case {
    const char* text;
    std::int64_t expected;
  };
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2024-01-15T10:00:00Z", jan15_10h},
      {"2024-01-15t10:00:00z", jan15_10h},  // lower-case t and z
      {"2024-01-15 10:00:00Z", jan15_10h},  // RFC 3339 allows a space
      {"2024-01-15T10:00:00+00:00", jan15_10h},
      {"2024-01-15T10:00:00-00:00", jan15_10h},
      {"2024-01-15T18:00:00+08:00", jan15_10h},  // 18:00 in Shanghai = 10:00Z
      {"2024-01-15T05:00:00-05:00", jan15_10h},  // 05:00 in New York (winter) = 10:00Z
      {"2024-01-15T15:30:00+05:30", jan15_10h},  // Kolkata half hour
      {"2024-01-15T15:45:00+05:45", jan15_10h},  // Kathmandu three quarters
      {"2024-01-15T10:00:00.123+08:00", jan15_10h - 8 * kHour + 123},
      {"2024-01-15T10:00:00.5Z", jan15_10h + 500},  // one fraction digit = 500 ms
      {"2024-01-15T10:00:00.05Z", jan15_10h + 50},
      {"2024-01-15T10:00:00.123456789Z", jan15_10h + 123},  // sub-millisecond digits dropped
      {"2024-01-15T10:00:00.999999Z", jan15_10h + 999},     // truncated, not rounded up
      {"2024-01-15T23:30:00-01:00", jan15_10h + 14 * kHour + 30 * kMinute},  // next day 00:30Z
      {"2024-01-16T00:30:00+01:00", jan15_10h + 13 * kHour + 30 * kMinute},  // previous day 23:30Z
      {"2024-02-29T12:00:00Z", k2024_03_01 - 12 * kHour},                    // leap day
      {"2024-12-31T23:59:59Z", k2025_01_01 - 1000},
      {"1969-12-31T23:59:59.500Z", -500},         // before the epoch
      {"2000-02-29T00:00:00Z", 951'782'400'000},  // 400-year leap rule: 10957 + 59 days
      // A leap second is the minute's last millisecond, :59.999. The last one so far ended 2016;
      // 2017-01-01T00:00:00Z = 17167 days = 1483228800 s.
      {"2016-12-31T23:59:60Z", 1'483'228'800'000 - 1},
      {"2016-12-31T23:59:60.5Z", 1'483'228'800'000 - 1},  // the whole second reads the same
      {"2016-12-31T23:59:60.999999999Z", 1'483'228'800'000 - 1},
      {"2017-01-01T00:59:60+01:00", 1'483'228'800'000 - 1},  // the same leap second at +01:00
      {"2016-12-31T18:59:60-05:00", 1'483'228'800'000 - 1},
      {"2017-01-01T05:29:60.25+05:30", 1'483'228'800'000 - 1},
      {"2024-01-15T10:00:60Z", jan15_10h + kMinute - 1},  // not a real leap second: read alike
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto r = parse_rfc3339(c.text);
    REQUIRE(r.ok());
    CHECK(*r == c.expected);
  }
}

TEST_CASE("calendar - parse_rfc3339 rejects") {
  const char* bad[] = {
      "",
      "2024-01-15",           // a date alone
      "2024-01-15T10:00:00",  // no zone designator
      "2024-01-15T10:00",     // no seconds
      "2024-01-15T10:00Z",
      "2024-02-30T00:00:00Z",  // no such day
      "2023-02-29T00:00:00Z",  // not a leap year
      "1900-02-29T00:00:00Z",  // century, not a leap year
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",  // month 13
      "2024-00-10T00:00:00Z",  // month 0
      "2024-01-00T00:00:00Z",  // day 0
      "2024-01-32T00:00:00Z",
      "2024-01-15T24:00:00Z",  // hour 24
      "2024-01-15T10:60:00Z",
      "2024-01-15T10:00:61Z",  // second 60 is a leap second; 61 is nothing
      "2016-12-31T23:59:99Z",
      "2016-12-31T23:59:60",       // a leap second needs a zone designator too
      "2016-12-31T23:60:00Z",      // minute 60
      "2024-01-15T10:00:00Zjunk",  // trailing junk
      "2024-01-15T10:00:00Z ",     // trailing blank
      " 2024-01-15T10:00:00Z",     // leading blank
      "2024-01-15T10:00:00+08:00x",
      "2024-01-15T10:00:00+08",    // incomplete offset
      "2024-01-15T10:00:00+0800",  // offset without colon
      "2024-01-15T10:00:00+8:00",
      "2024-01-15T10:00:00+24:00",  // offset hour out of range
      "2024-01-15T10:00:00+08:60",
      "2024-01-15T10:00:00 +08:00",
      "2024-01-15T10:00:00.Z",            // fraction without digits
      "2024-01-15T10:00:00.1234567890Z",  // more than 9 fraction digits
      "2024-01-15T10:00:00,5Z",           // decimal comma
      "2024-01-15X10:00:00Z",             // bad separator
      "2024-01-15T10-00-00Z",
      "2024/01/15T10:00:00Z",
      "24-01-15T10:00:00Z",   // two-digit year
      "2024-1-15T10:00:00Z",  // one-digit month
      "+2024-01-15T10:00:00Z",
      "1705312800000",  // epoch milliseconds are not RFC 3339
  };
  for (const char* text : bad) {
    CAPTURE(text);
    auto r = parse_rfc3339(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"" +
              std::string(text) + "\"");
  }
}

TEST_CASE("calendar - format_utc") {
  struct Case {
    std::int64_t ms;
    const char* expected;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1'705'312'800'123, "2024-01-15T10:00:00.123Z"},
      {k2024_03_01 - 12 * kHour, "2024-02-29T12:00:00.000Z"},
      {k2025_01_01 - 1, "2024-12-31T23:59:59.999Z"},
      {-500, "1969-12-31T23:59:59.500Z"},  // floors, not truncates, before the epoch
      {-1, "1969-12-31T23:59:59.999Z"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.ms);
    CHECK(format_utc(c.ms) == c.expected);
    auto back = parse_rfc3339(c.expected);
    REQUIRE(back.ok());
    CHECK(*back == c.ms);  // round-trip
  }
}

TEST_CASE("calendar - MonthCalendar::make") {
  SECTION("known zones") {
    for (const char* zone : {"UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata",
                             "Australia/Lord_Howe", "Europe/Berlin"}) {
      CAPTURE(zone);
      auto cal = MonthCalendar::make(zone);
      REQUIRE(cal.ok());
      CHECK(cal->name() == zone);
    }
  }
  SECTION("unknown zones") {
    for (const char* zone : {"Mars/Olympus_Mons", "", "Asia/Beijing", "+08:00"}) {
      CAPTURE(zone);
      auto cal = MonthCalendar::make(zone);
      REQUIRE_FALSE(cal.ok());
      CHECK(cal.error().message == "unknown time zone \"" + std::string(zone) + "\"");
    }
  }
}

TEST_CASE("calendar - month_of") {
  struct Case {
    const char* zone;
    std::int64_t at_ms;
    Period expected;
    const char* why;
  };
  const std::int64_t h8 = 8 * kHour;
  const std::int64_t h530 = 5 * kHour + 30 * kMinute;
  const Case cases[] = {
      // UTC: February 2024 = [2024-02-01Z, 2024-03-01Z)
      {"UTC", k2024_02_01 + 14 * kDay, {k2024_02_01, k2024_03_01}, "mid-month"},
      {"UTC", k2024_02_01, {k2024_02_01, k2024_03_01}, "start is inclusive"},
      {"UTC", k2024_03_01 - 1, {k2024_02_01, k2024_03_01}, "last millisecond"},
      {"UTC", k2024_03_01, {k2024_03_01, k2024_04_01}, "end is exclusive"},
      {"UTC", k2024_12_01 + 5 * kDay, {k2024_12_01, k2025_01_01}, "December runs into next year"},

      // Asia/Shanghai, UTC+8 all year: local midnight is 16:00Z the day before.
      // 2024-02-29T20:00Z is already 2024-03-01T04:00 in Shanghai.
      {"Asia/Shanghai",
       k2024_03_01 - 4 * kHour,
       {k2024_03_01 - h8, k2024_04_01 - h8},
       "March locally"},
      {"Asia/Shanghai", k2024_03_01 - h8, {k2024_03_01 - h8, k2024_04_01 - h8}, "start inclusive"},
      {"Asia/Shanghai",
       k2024_03_01 - h8 - 1,
       {k2024_02_01 - h8, k2024_03_01 - h8},
       "1 ms earlier: February"},
      {"Asia/Shanghai",
       k2024_04_01 - h8 - 1,
       {k2024_03_01 - h8, k2024_04_01 - h8},
       "last ms of March"},

      // America/New_York: DST from 2024-03-10. March starts at 00:00-05:00 (05:00Z) and ends
      // at 00:00-04:00 (04:00Z): 31 days less one hour.
      {"America/New_York",
       k2024_03_01 + 15 * kDay,
       {k2024_03_01 + 5 * kHour, k2024_04_01 + 4 * kHour},
       "spring forward"},
      {"America/New_York",
       k2024_04_01 + 2 * kHour,
       {k2024_03_01 + 5 * kHour, k2024_04_01 + 4 * kHour},
       "2024-03-31T22:00 locally"},
      {"America/New_York",
       k2024_04_01 + 4 * kHour,
       {k2024_04_01 + 4 * kHour, k2024_05_01 + 4 * kHour},
       "April starts"},
      {"America/New_York",
       k2024_03_01 + 5 * kHour - 1,
       {k2024_02_01 + 5 * kHour, k2024_03_01 + 5 * kHour},
       "last ms of February"},
      // DST ends 2024-11-03: November starts 00:00-04:00, ends 00:00-05:00: 30 days plus one hour.
      {"America/New_York",
       k2024_11_01 + 10 * kDay,
       {k2024_11_01 + 4 * kHour, k2024_12_01 + 5 * kHour},
       "fall back"},

      // Asia/Kolkata, UTC+5:30: February starts 2024-01-31T18:30Z.
      {"Asia/Kolkata",
       k2024_02_01 - h530,
       {k2024_02_01 - h530, k2024_03_01 - h530},
       "half-hour offset, start"},
      {"Asia/Kolkata",
       k2024_02_01 - h530 - 1,
       {k2024_01_01 - h530, k2024_02_01 - h530},
       "half-hour offset, 1 ms before"},
      {"Asia/Kolkata",
       k2024_02_01,
       {k2024_02_01 - h530, k2024_03_01 - h530},
       "00:00Z is 05:30 locally"},

      // Australia/Lord_Howe: +11 in summer, +10:30 in winter (DST ends 2024-04-07).
      // April starts 2024-04-01T00:00+11:00 = 2024-03-31T13:00Z,
      // ends 2024-05-01T00:00+10:30 = 2024-04-30T13:30Z.
      {"Australia/Lord_Howe",
       k2024_04_01 + 10 * kDay,
       {k2024_04_01 - 11 * kHour, k2024_05_01 - 10 * kHour - 30 * kMinute},
       "half-hour DST"},

      // America/Asuncion: DST began 2023-10-01 at local midnight (00:00-04 → 01:00-03), so
      // October's first local midnight does not exist; the month starts at the jump,
      // 2023-10-01T04:00Z (19631 days since the epoch), and ends 2023-11-01T00:00-03:00.
      {"America/Asuncion",
       19631 * kDay + 4 * kHour,
       {19631 * kDay + 4 * kHour, 19662 * kDay + 3 * kHour},
       "midnight in a DST gap"},
      {"America/Asuncion",
       19631 * kDay + 4 * kHour - 1,
       {19601 * kDay + 4 * kHour, 19631 * kDay + 4 * kHour},
       "September's last ms"},

      // America/Havana: DST ended 2020-11-01 at 01:00 CDT → 00:00 CST, so local midnight
      // happened twice; the month starts at the earlier one, 2020-11-01T04:00Z (18567 days).
      {"America/Havana",
       18567 * kDay + 5 * kHour + 30 * kMinute,
       {18567 * kDay + 4 * kHour, 18597 * kDay + 5 * kHour},
       "second 00:30 of Nov 1"},
      {"America/Havana",
       18567 * kDay + 4 * kHour + 30 * kMinute,
       {18567 * kDay + 4 * kHour, 18597 * kDay + 5 * kHour},
       "first 00:30 of Nov 1"},
      {"America/Havana",
       18567 * kDay + 4 * kHour - 1,
       {18536 * kDay + 4 * kHour, 18567 * kDay + 4 * kHour},
       "23:59:59.999 Oct 31"},
  };
  for (const auto& c : cases) {
    INFO(c.zone << " at " << format_utc(c.at_ms) << ": " << c.why);
    const MonthCalendar cal = calendar(c.zone);
    const Period p = cal.month_of(c.at_ms);
    INFO("got [" << format_utc(p.start_ms) << ", " << format_utc(p.end_ms) << ")");
    CHECK(p.start_ms == c.expected.start_ms);
    CHECK(p.end_ms == c.expected.end_ms);
    CHECK(p.start_ms <= c.at_ms);
    CHECK(c.at_ms < p.end_ms);
  }

  SECTION("consecutive months tile the time line") {
    for (const char* zone : {"UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata",
                             "Australia/Lord_Howe", "America/Asuncion", "America/Havana"}) {
      CAPTURE(zone);
      const MonthCalendar cal = calendar(zone);
      Period p = cal.month_of(19000 * kDay);  // 2022-01-08
      for (int i = 0; i < 36; ++i) {
        const Period next = cal.month_of(p.end_ms);
        CAPTURE(i, format_utc(p.start_ms), format_utc(p.end_ms));
        CHECK(next.start_ms == p.end_ms);
        CHECK(cal.month_of(p.end_ms - 1) == p);
        // 28..31 days, give or take a DST hour
        CHECK(p.end_ms - p.start_ms >= 28 * kDay - kHour);
        CHECK(p.end_ms - p.start_ms <= 31 * kDay + kHour);
        p = next;
      }
    }
  }
}

TEST_CASE("calendar - the last representable RFC 3339 instant") {
  // 9999-12-31T23:59:59.999Z = 253402300799999 ms: the largest time stamp text can express.
  auto last = parse_rfc3339("9999-12-31T23:59:59.999Z");
  REQUIRE(last.ok());
  CHECK(*last == 253'402'300'799'999);
  CHECK(format_utc(*last) == "9999-12-31T23:59:59.999Z");
  const Period p = calendar("UTC").month_of(*last);
  // December 9999 = 31 days ending at 10000-01-01T00:00:00Z = 253402300800000 ms.
  CHECK(p.end_ms == 253'402'300'800'000);
  CHECK(p.start_ms == 253'402'300'800'000 - 31 * kDay);
  const Period sh = calendar("Asia/Shanghai").month_of(*last);  // already 10000-01-01 there
  CHECK(sh.start_ms == 253'402'300'800'000 - 8 * kHour);
  CHECK(sh.start_ms <= *last);
  CHECK(*last < sh.end_ms);
}

TEST_CASE("calendar - parse_time") {
  SECTION("a bare date is local midnight") {
    struct Case {
      const char* zone;
      const char* text;
      std::int64_t expected;
    };
    const Case cases[] = {
        {"UTC", "2024-03-01", k2024_03_01},
        {"Asia/Shanghai", "2024-03-01", k2024_03_01 - 8 * kHour},
        {"America/New_York", "2024-03-01", k2024_03_01 + 5 * kHour},
        {"America/New_York", "2024-03-10",
         k2024_03_01 + 9 * kDay + 5 * kHour},  // DST starts at 02:00
        {"America/New_York", "2024-03-11", k2024_03_01 + 10 * kDay + 4 * kHour},  // now EDT
        {"Asia/Kolkata", "2024-02-01", k2024_02_01 - 5 * kHour - 30 * kMinute},
        {"America/Asuncion", "2023-10-01", 19631 * kDay + 4 * kHour},  // midnight skipped: the jump
        {"America/Havana", "2020-11-01", 18567 * kDay + 4 * kHour},    // midnight twice: the first
    };
    for (const auto& c : cases) {
      CAPTURE(c.zone, c.text);
      auto r = calendar(c.zone).parse_time(c.text);
      REQUIRE(r.ok());
      CHECK(*r == c.expected);
    }
  }

  SECTION("an RFC 3339 time stamp keeps its own offset") {
    for (const char* zone : {"UTC", "Asia/Shanghai", "America/New_York"}) {
      CAPTURE(zone);
      const MonthCalendar cal = calendar(zone);
      auto z = cal.parse_time("2024-03-01T00:00:00Z");
      REQUIRE(z.ok());
      CHECK(*z == k2024_03_01);
      auto off = cal.parse_time("2024-03-01T00:00:00+08:00");
      REQUIRE(off.ok());
      CHECK(*off == k2024_03_01 - 8 * kHour);
    }
  }

  SECTION("errors") {
    const MonthCalendar cal = calendar("Asia/Shanghai");
    struct Case {
      const char* text;
      const char* message;
    };
    const Case cases[] = {
        // 10 characters: read as a date
        {"2024-02-30", "expected YYYY-MM-DD or an RFC 3339 time stamp, got \"2024-02-30\""},
        {"2024/03/01", "expected YYYY-MM-DD or an RFC 3339 time stamp, got \"2024/03/01\""},
        {"2024-13-01", "expected YYYY-MM-DD or an RFC 3339 time stamp, got \"2024-13-01\""},
        {"01-03-2024", "expected YYYY-MM-DD or an RFC 3339 time stamp, got \"01-03-2024\""},
        // anything else: read as RFC 3339
        {"2024-3-1",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"2024-3-1\""},
        {"2024-03-01T00:00:00",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got "
         "\"2024-03-01T00:00:00\""},
        {"", "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"\""},
        {"yesterday",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"yesterday\""},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = cal.parse_time(c.text);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    }
  }
}

TEST_CASE("calendar - format_local") {
  struct Case {
    const char* zone;
    std::int64_t at_ms;
    const char* expected;
  };
  const Case cases[] = {
      {"UTC", 0, "1970-01-01T00:00:00Z"},
      {"UTC", -500, "1969-12-31T23:59:59Z"},  // whole seconds, floored
      {"Asia/Shanghai", k2024_03_01 - 8 * kHour, "2024-03-01T00:00:00+08:00"},
      {"Asia/Shanghai", k2024_03_01 - 8 * kHour + 999, "2024-03-01T00:00:00+08:00"},  // ms dropped
      {"America/New_York", k2024_03_01 + 9 * kDay + 7 * kHour - 1000, "2024-03-10T01:59:59-05:00"},
      {"America/New_York", k2024_03_01 + 9 * kDay + 7 * kHour,
       "2024-03-10T03:00:00-04:00"},  // 02:00 skipped
      {"Asia/Kolkata", k2024_02_01 - 5 * kHour - 30 * kMinute, "2024-02-01T00:00:00+05:30"},
      {"America/St_Johns", 1'705'312'800'000, "2024-01-15T06:30:00-03:30"},  // negative half hour
      {"Asia/Kathmandu", 1'705'312'800'000, "2024-01-15T15:45:00+05:45"},
      {"Australia/Lord_Howe", k2024_04_01, "2024-04-01T11:00:00+11:00"},
      {"Australia/Lord_Howe", k2024_05_01, "2024-05-01T10:30:00+10:30"},
      {"Europe/London", 1'705'312'800'000, "2024-01-15T10:00:00Z"},  // zero offset is written Z
  };
  for (const auto& c : cases) {
    CAPTURE(c.zone, c.at_ms);
    const MonthCalendar cal = calendar(c.zone);
    CHECK(cal.format_local(c.at_ms) == c.expected);
    // What format_local writes, parse_time reads back (to the second).
    auto back = cal.parse_time(cal.format_local(c.at_ms));
    REQUIRE(back.ok());
    CHECK(*back == c.at_ms - ((c.at_ms % 1000) + 1000) % 1000);
  }
}

TEST_CASE("calendar - window_of") {
  // 2024-12-30 is a Monday (1735516800 s); Berlin is UTC+1 in winter, UTC+2 in summer.
  const std::int64_t dec30 = k2025_01_01 - 2 * kDay;
  SECTION("UTC: days and ISO weeks across a year boundary") {
    const MonthCalendar utc = calendar("UTC");
    struct Case {
      Window kind;
      std::int64_t at, start, end;
    } cases[] = {
        {Window::day, dec30 + 5 * kHour, dec30, dec30 + kDay},
        {Window::day, dec30, dec30, dec30 + kDay},                      // exactly at midnight
        {Window::day, dec30 - 1, dec30 - kDay, dec30},                  // one ms before
        {Window::week, dec30 + kDay, dec30, dec30 + 7 * kDay},          // Tuesday 2024-12-31
        {Window::week, k2025_01_01, dec30, dec30 + 7 * kDay},           // Wednesday 2025-01-01
        {Window::week, dec30 - 1, dec30 - 7 * kDay, dec30},             // Sunday 23:59:59.999
        {Window::week, dec30 + 7 * kDay - 1, dec30, dec30 + 7 * kDay},  // the week's last ms
        {Window::month, dec30, k2024_12_01, k2025_01_01},
    };
    for (const Case& c : cases) {
      CAPTURE(to_string(c.kind), c.at);
      CHECK(utc.window_of(c.kind, c.at) == Period{c.start, c.end});
    }
  }
  SECTION("Europe/Berlin: a 23-hour and a 25-hour day, a 167-hour and a 169-hour week") {
    const MonthCalendar berlin = calendar("Europe/Berlin");
    // 2024-03-31 (Sunday) springs forward at 01:00 UTC; 2024-10-27 (Sunday) falls back at 01:00
    // UTC.
    const std::int64_t mar31 = k2024_04_01 - kDay, oct27 = k2024_11_01 - 5 * kDay;
    struct Case {
      Window kind;
      std::int64_t at, start, end;
    } cases[] = {
        {Window::day, mar31 + 12 * kHour, mar31 - kHour, mar31 + 22 * kHour},
        {Window::day, oct27 + 12 * kHour, oct27 - 2 * kHour, oct27 + 23 * kHour},
        {Window::day, oct27 + 1 * kHour + 30 * kMinute, oct27 - 2 * kHour, oct27 + 23 * kHour},
        {Window::week, mar31, mar31 - 6 * kDay - kHour, mar31 + 22 * kHour},
        {Window::week, oct27 + 12 * kHour, oct27 - 6 * kDay - 2 * kHour, oct27 + 23 * kHour},
        {Window::month, mar31 + 23 * kHour, k2024_04_01 - 2 * kHour, k2024_05_01 - 2 * kHour},
    };
    for (const Case& c : cases) {
      CAPTURE(to_string(c.kind), c.at);
      CHECK(berlin.window_of(c.kind, c.at) == Period{c.start, c.end});
    }
    CHECK(berlin.window_of(Window::day, mar31 + 12 * kHour).end_ms -
              berlin.window_of(Window::day, mar31 + 12 * kHour).start_ms ==
          23 * kHour);
    CHECK(berlin.window_of(Window::week, oct27).end_ms -
              berlin.window_of(Window::week, oct27).start_ms ==
          169 * kHour);
  }
  SECTION("America/Sao_Paulo: a skipped midnight starts the day at the jump") {
    const MonthCalendar sp = calendar("America/Sao_Paulo");
    // 2018-11-04 00:00 -03 (03:00 UTC) jumped to 01:00 -02; 2018-11-04 = 17839 days.
    const std::int64_t nov4 = 17839 * kDay;
    CHECK(sp.window_of(Window::day, nov4 + 12 * kHour) ==
          Period{nov4 + 3 * kHour, nov4 + kDay + 2 * kHour});
    // The day before ends where this one starts: days tile the time line.
    CHECK(sp.window_of(Window::day, nov4 + 3 * kHour - 1).end_ms == nov4 + 3 * kHour);
  }
  SECTION("consecutive windows tile the time line") {
    const MonthCalendar berlin = calendar("Europe/Berlin");
    for (Window kind : {Window::day, Window::week, Window::month}) {
      std::int64_t at = k2024_01_01;
      for (int i = 0; i < 60; ++i) {
        const Period p = berlin.window_of(kind, at);
        CAPTURE(to_string(kind), i, at);
        REQUIRE(p.start_ms <= at);
        REQUIRE(at < p.end_ms);
        CHECK(berlin.window_of(kind, p.end_ms).start_ms == p.end_ms);
        CHECK(berlin.window_of(kind, p.end_ms - 1) == p);
        at = p.end_ms;
      }
    }
  }
  SECTION("parse_window") {
    CHECK(parse_window("day").value() == Window::day);
    CHECK(parse_window("week").value() == Window::week);
    CHECK(parse_window("month").value() == Window::month);
    for (const char* bad : {"", "Day", "weekly", "month "}) {
      CAPTURE(bad);
      REQUIRE_FALSE(parse_window(bad).ok());
      CHECK(parse_window(bad).error().message.find("\"day\", \"week\" or \"month\"") !=
            std::string::npos);
    }
  }
}
