#pragma once
// The range planner: a query range as signed pieces of whole months, whole hours and raw records
// whose sum is exactly the range, reading as few rows as it can. Pure arithmetic, no SQLite.
#include <cstdint>
#include <vector>

namespace aiusage {

inline constexpr std::int64_t kHourMs = 3'600'000;
// Queries see [kTimeMin, kTimeMax); records beyond it are stored but never counted by a range.
inline constexpr std::int64_t kTimeMin = -(std::int64_t{1} << 60);
inline constexpr std::int64_t kTimeMax = std::int64_t{1} << 60;
// Bucket of a record outside the queryable span: no query range ever reaches it.
inline constexpr std::int64_t kFarBucket = std::int64_t{1} << 61;

// The hourly and monthly (UTC) bucket of a record's time: far buckets outside the span kept.
std::int64_t floor_hour(std::int64_t ms);
std::int64_t hour_bucket(std::int64_t ms);
std::int64_t month_bucket(std::int64_t ms);

// One piece of a query range: rows of a level over [from, to), added or subtracted.
enum class Level { raw, hourly, monthly };
struct Piece {
  Level level;
  std::int64_t from, to;
  std::int64_t sign;
  bool operator==(const Piece&) const = default;
};

// Pieces whose signed sum is exactly [start, end); months only inside the span they are kept for.
std::vector<Piece> plan_range(std::int64_t start, std::int64_t end);

}  // namespace aiusage
