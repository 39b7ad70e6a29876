#pragma once
// Monthly quotas: which rule applies to a subject, how full it is, and what to alert.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/money.hpp"

namespace aiusage {

enum class Scope { user, project, global };
const char* to_string(Scope scope);

struct QuotaRule {
  Scope scope = Scope::user;
  std::string subject = "*";  // "*" = every subject of the scope; ignored for global
  std::optional<std::int64_t> tokens;
  std::optional<Nanos> cost;
};

struct QuotaLimits {
  std::optional<std::int64_t> tokens;
  std::optional<Nanos> cost;
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
};

inline constexpr double kWarningPercent = 90.0;
inline constexpr double kCriticalPercent = 100.0;

// A rule naming `subject` exactly beats the scope's "*" rule; the chosen rule's limits apply whole.
QuotaLimits limits_for(const std::vector<QuotaRule>& rules, Scope scope,
                       const std::string& subject);
QuotaStatus evaluate_quota(const MonthUsage& usage, const QuotaLimits& limits);
// Warning at ≥ 90 % of either limit, critical at ≥ 100 %.
Alert alert_for(const QuotaStatus& status, const std::string& currency);

}  // namespace aiusage
