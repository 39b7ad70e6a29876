// The range planner alone (no SQLite): which whole months, whole hours and raw edges answer a
// range, and that the signed pieces always sum to exactly the range.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/range_plan.hpp"

using namespace aiusage;

namespace Catch {
template <>
struct StringMaker<Piece> {
  static std::string convert(const Piece& p) {
    const char* level = p.level == Level::monthly  ? "monthly"
                        : p.level == Level::hourly ? "hourly"
                                                   : "raw";
    return std::string("{") + level + " " + std::to_string(p.from) + ".." + std::to_string(p.to) +
           (p.sign > 0 ? " +" : " -") + "}";
  }
};
}  // namespace Catch

namespace {

std::int64_t at(const char* text) { return *parse_rfc3339(text); }

// How many times the pieces count the instant `t`, signs included.
std::int64_t coverage(const std::vector<Piece>& pieces, std::int64_t t) {
  std::int64_t n = 0;
  for (const Piece& p : pieces)
    if (t >= p.from && t < p.to) n += p.sign;
  return n;
}

// Every instant where the count could change (each boundary and its neighbours) is counted once
// inside [start, end) and never outside.
void check_exact(const std::vector<Piece>& pieces, std::int64_t start, std::int64_t end) {
  std::set<std::int64_t> probes;
  for (std::int64_t b : {start, end}) probes.insert({b - 1, b, b + 1});
  for (const Piece& p : pieces) {
    CHECK(p.from < p.to);
    for (std::int64_t b : {p.from, p.to}) probes.insert({b - 1, b, b + 1});
  }
  for (std::int64_t t : probes) {
    INFO("at " << t);
    CHECK(coverage(pieces, t) == (t >= start && t < end ? 1 : 0));
  }
}

}  // namespace

TEST_CASE("range plan - pieces of a range") {
  const Level M = Level::monthly, H = Level::hourly, R = Level::raw;
  struct Case {
    const char* name;
    std::int64_t start, end;
    std::vector<Piece> want;
  } cases[] = {
      {"a whole month is one monthly row per series",
       at("2026-11-01T00:00:00Z"),
       at("2026-12-01T00:00:00Z"),
       {{M, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"), 1}}},
      {"whole hours inside a month are hourly rows",
       at("2026-11-01T00:00:00Z"),
       at("2026-11-01T03:00:00Z"),
       {{H, at("2026-11-01T00:00:00Z"), at("2026-11-01T03:00:00Z"), 1}}},
      {"a partial first hour is the whole hour less the raw records before the start",
       at("2026-11-01T00:30:00Z"),
       at("2026-11-01T02:00:00Z"),
       {{H, at("2026-11-01T00:00:00Z"), at("2026-11-01T02:00:00Z"), 1},
        {R, at("2026-11-01T00:00:00Z"), at("2026-11-01T00:30:00Z"), -1}}},
      {"a month and the hour before it",
       at("2026-10-31T23:00:00Z"),
       at("2026-12-01T00:00:00Z"),
       {{M, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"), 1},
        {H, at("2026-10-31T23:00:00Z"), at("2026-11-01T00:00:00Z"), 1}}},
      {"a month less its last hour subtracts that hour",
       at("2026-11-01T00:00:00Z"),
       at("2026-11-30T23:00:00Z"),
       {{M, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"), 1},
        {H, at("2026-11-30T23:00:00Z"), at("2026-12-01T00:00:00Z"), -1}}},
      {"a millisecond is raw records",
       at("2026-11-15T10:00:00.250Z"),
       at("2026-11-15T10:00:00.251Z"),
       {{R, at("2026-11-15T10:00:00.250Z"), at("2026-11-15T10:00:00.251Z"), 1}}},
      {"a range across a year boundary",
       at("2026-12-01T00:00:00Z"),
       at("2027-02-01T00:00:00Z"),
       {{M, at("2026-12-01T00:00:00Z"), at("2027-02-01T00:00:00Z"), 1}}},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const std::vector<Piece> got = plan_range(c.start, c.end);
      CHECK(got == c.want);
      check_exact(got, c.start, c.end);
    }
  }
}

TEST_CASE("range plan - any range is covered exactly") {
  struct Case {
    const char* name;
    std::int64_t start, end;
  } cases[] = {
      {"ragged ends a year apart", at("2025-03-14T15:09:26.535Z"), at("2026-03-14T01:02:03.004Z")},
      {"before 1970", at("1969-11-30T22:59:59.999Z"), at("1970-01-01T00:00:00.001Z")},
      {"to the end of the queryable span", kTimeMax - 5 * kHourMs - 7, kTimeMax},
      {"from its start", kTimeMin, kTimeMin + 3 * kHourMs + 1},
      {"the whole span", kTimeMin, kTimeMax},
  };
  for (const Case& c : cases) {
    SECTION(c.name) { check_exact(plan_range(c.start, c.end), c.start, c.end); }
  }
}

TEST_CASE("range plan - buckets") {
  struct Case {
    const char* name;
    std::int64_t at, hour, month;
  } cases[] = {
      {"mid-month", at("2026-11-15T12:34:56Z"), at("2026-11-15T12:00:00Z"),
       at("2026-11-01T00:00:00Z")},
      {"a month's first instant", at("2026-11-01T00:00:00Z"), at("2026-11-01T00:00:00Z"),
       at("2026-11-01T00:00:00Z")},
      {"a month's last instant", at("2026-10-31T23:59:59.999Z"), at("2026-10-31T23:00:00Z"),
       at("2026-10-01T00:00:00Z")},
      {"just before 1970", -1, -kHourMs, at("1969-12-01T00:00:00Z")},
      {"past the queryable span", kTimeMax, kFarBucket, kFarBucket},
      {"before it", kTimeMin - 1, -kFarBucket, -kFarBucket},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      CHECK(hour_bucket(c.at) == c.hour);
      CHECK(month_bucket(c.at) == c.month);
    }
  }
}
