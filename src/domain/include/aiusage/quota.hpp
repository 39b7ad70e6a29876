#pragma once
// Quotas: which rule applies to a subject in which window, how full it is, what to alert, and
// where the window's spend is heading.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/money.hpp"

namespace aiusage {

enum class Scope { user, project, global, tag };
const char* to_string(Scope scope);

// A subject of the tag scope as answers and /metrics name it: "KEY=VALUE" (tags.hpp: a key has
// no '='). Splits it back; nullopt when it has no '='.
std::string tag_subject(std::string_view key, std::string_view value);
std::optional<std::pair<std::string_view, std::string_view>> split_tag_subject(
    std::string_view subject);

// Alert thresholds in parts per million of a limit (0.9 -> 900'000), ascending and distinct.
using Thresholds = std::vector<std::int32_t>;
inline constexpr std::int32_t kWholeLimitPpm = 1'000'000;
inline constexpr std::size_t kMaxThresholds = 16;
Thresholds default_thresholds();  // {0.9, 1.0}

struct QuotaRule {
  Scope scope = Scope::user;
  std::string subject = "*";  // "*" = every subject of the scope; ignored for global
  std::string tag;            // scope tag: the tag key; `subject` is then a value of it or "*"
  Window window = Window::month;
  std::optional<std::int64_t> tokens;
  std::optional<Nanos> cost;
  Thresholds thresholds = default_thresholds();
};

struct QuotaLimits {
  std::optional<std::int64_t> tokens;
  std::optional<Nanos> cost;
  Thresholds thresholds = default_thresholds();
};

struct MonthUsage {
  std::int64_t tokens = 0;  // billed prompt + completion tokens
  Nanos cost = 0;
  MonthUsage& operator+=(const MonthUsage& o) {
    tokens += o.tokens;
    cost += o.cost;
    return *this;
  }
};

struct QuotaStatus {
  MonthUsage usage;
  QuotaLimits limits;
  std::optional<double> token_percent;  // used / limit × 100
  std::optional<double> cost_percent;
  bool exceeded = false;  // some limit reached (≥ 100 %)
};

enum class AlertLevel { none, warning, critical };
const char* to_string(AlertLevel level);

struct Alert {
  AlertLevel level = AlertLevel::none;
  std::string message;
  std::optional<std::int32_t> threshold_ppm;  // the highest threshold reached, if any
};

// Among the rules of `window`, one naming `subject` exactly beats the scope's "*" rule; the
// chosen rule's limits and thresholds apply whole. A tag subject is "KEY=VALUE" (tag_subject).
QuotaLimits limits_for(const std::vector<QuotaRule>& rules, Scope scope, const std::string& subject,
                       Window window = Window::month);
QuotaStatus evaluate_quota(const MonthUsage& usage, const QuotaLimits& limits);
// The alert is the highest threshold that either limit reached (used ≥ limit × threshold,
// exactly): warning below the whole limit, critical at or above it; none when none is reached.
Alert alert_for(const QuotaStatus& status, const std::string& currency);

// Forecast: the window's spend so far plus the rate of its recent part, carried to the window's
// end. `recent` is the usage in [recent_start_ms, now_ms), which must lie inside the window, so
// no spend crosses a window boundary; fewer than kForecastMinSpanMs of it and there is no forecast.
inline constexpr std::int64_t kForecastMinSpanMs = 3'600'000;
struct ForecastInput {
  MonthUsage used;    // in [window.start_ms, now_ms)
  MonthUsage recent;  // in [recent_start_ms, now_ms)
  std::int64_t recent_start_ms = 0;
  std::int64_t now_ms = 0;
  Period window;
};
struct Forecast {
  MonthUsage projected;                         // at the window's end, rounded down
  std::optional<std::int64_t> exhausted_at_ms;  // first limit reached before the window ends
};
std::optional<Forecast> forecast(const ForecastInput& in, const QuotaLimits& limits);

}  // namespace aiusage
