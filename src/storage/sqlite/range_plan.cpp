#include "aiusage/range_plan.hpp"

#include <algorithm>

#include "aiusage/calendar.hpp"

namespace aiusage {

std::int64_t floor_hour(std::int64_t ms) {
  std::int64_t q = ms / kHourMs;
  if (ms % kHourMs < 0) --q;
  return q * kHourMs;
}
std::int64_t hour_bucket(std::int64_t ms) {
  if (ms < kTimeMin || ms >= kTimeMax) return ms < 0 ? -kFarBucket : kFarBucket;
  return floor_hour(ms);
}

namespace {

// UTC calendar months, as the monthly rollups are keyed.
const MonthCalendar& utc() {
  static const MonthCalendar calendar = MonthCalendar::utc();
  return calendar;
}
std::int64_t floor_utc_month(std::int64_t ms) { return utc().month_of(ms).start_ms; }
// The month after the one that starts at `month_start_ms`.
std::int64_t next_utc_month(std::int64_t month_start_ms) {
  return utc().month_of(month_start_ms).end_ms;
}

// Calendar months are only bucketed inside ±~28,000 years (std::chrono's year range, which
// earlier versions used: stored rollups are keyed by these buckets).
constexpr std::int64_t kMonthSpanMs = 900'000'000'000'000;
const std::int64_t kMonthLow = floor_utc_month(-kMonthSpanMs);
const std::int64_t kMonthHigh = floor_utc_month(kMonthSpanMs);

}  // namespace

std::int64_t month_bucket(std::int64_t ms) {
  if (ms < kMonthLow || ms >= kMonthHigh) return hour_bucket(ms) < 0 ? -kFarBucket : kFarBucket;
  return floor_utc_month(ms);
}

namespace {

std::int64_t bucket_floor(Level level, std::int64_t ms) {
  return level == Level::monthly ? floor_utc_month(ms) : floor_hour(ms);
}
std::int64_t bucket_ceil(Level level, std::int64_t ms) {
  std::int64_t f = bucket_floor(level, ms);
  if (f == ms) return f;
  return level == Level::monthly ? next_utc_month(f) : f + kHourMs;
}

void plan(Level level, std::int64_t a, std::int64_t b, std::int64_t sign, std::vector<Piece>& out);

// [x, y) added when x < y; [y, x) subtracted when y < x.
void plan_edge(Level level, std::int64_t x, std::int64_t y, std::int64_t sign,
               std::vector<Piece>& out) {
  if (x < y) plan(level, x, y, sign, out);
  if (y < x) plan(level, y, x, -sign, out);
}

// Whole buckets [s, e) with s and e the boundaries nearest a and b, corrected at the finer level
// (possibly by subtracting); used only when the corrections span less than the range itself.
void plan(Level level, std::int64_t a, std::int64_t b, std::int64_t sign, std::vector<Piece>& out) {
  if (level == Level::raw) {
    out.push_back({level, a, b, sign});
    return;
  }
  const Level finer = level == Level::monthly ? Level::hourly : Level::raw;
  std::int64_t best_s = 0, best_e = 0, best_cost = b - a;
  for (std::int64_t s : {bucket_floor(level, a), bucket_ceil(level, a)})
    for (std::int64_t e : {bucket_floor(level, b), bucket_ceil(level, b)}) {
      std::int64_t cost = (a > s ? a - s : s - a) + (b > e ? b - e : e - b);
      if (s < e && cost < best_cost) best_s = s, best_e = e, best_cost = cost;
    }
  if (best_s == best_e) {
    plan(finer, a, b, sign, out);
    return;
  }
  out.push_back({level, best_s, best_e, sign});
  plan_edge(finer, a, best_s, sign, out);
  plan_edge(finer, best_e, b, sign, out);
}

}  // namespace

// Pieces whose signed sum is exactly [start, end); months only inside the span they are kept for.
std::vector<Piece> plan_range(std::int64_t start, std::int64_t end) {
  std::vector<Piece> pieces;
  const std::int64_t lo = std::max(start, kMonthLow), hi = std::min(end, kMonthHigh);
  if (lo >= hi) {
    plan(Level::hourly, start, end, 1, pieces);
    return pieces;
  }
  plan(Level::monthly, lo, hi, 1, pieces);
  if (start < lo) plan(Level::hourly, start, lo, 1, pieces);
  if (hi < end) plan(Level::hourly, hi, end, 1, pieces);
  return pieces;
}

}  // namespace aiusage
