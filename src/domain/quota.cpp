#include "aiusage/quota.hpp"

#include <cmath>
#include <cstdio>

namespace aiusage {

const char* to_string(Scope scope) {
  switch (scope) {
    case Scope::user:
      return "user";
    case Scope::project:
      return "project";
    case Scope::global:
      return "global";
  }
  return "?";
}

const char* to_string(AlertLevel level) {
  switch (level) {
    case AlertLevel::none:
      return "none";
    case AlertLevel::warning:
      return "warning";
    case AlertLevel::critical:
      return "critical";
  }
  return "?";
}

QuotaLimits limits_for(const std::vector<QuotaRule>& rules, Scope scope,
                       const std::string& subject) {
  const QuotaRule* wildcard = nullptr;
  for (const QuotaRule& rule : rules) {
    if (rule.scope != scope) continue;
    if (scope == Scope::global || rule.subject == subject) return {rule.tokens, rule.cost};
    if (rule.subject == "*" && wildcard == nullptr) wildcard = &rule;
  }
  if (wildcard) return {wildcard->tokens, wildcard->cost};
  return {};
}

namespace {

double percent(Int128 used, Int128 limit) {
  if (limit <= 0) return used > 0 ? 100.0 * static_cast<double>(used) : 0.0;
  return static_cast<double>(used) * 100.0 / static_cast<double>(limit);
}

// Exact threshold test: used ≥ limit × pct / 100.
bool reached(Int128 used, Int128 limit, int pct) { return used * 100 >= limit * pct; }

// Truncated, so that 99.99 % reads 99.9 % and never looks like the limit before it is reached.
std::string one_decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::floor(v * 10.0) / 10.0);
  return buf;
}

}  // namespace

QuotaStatus evaluate_quota(const MonthUsage& usage, const QuotaLimits& limits) {
  QuotaStatus s;
  s.usage = usage;
  s.limits = limits;
  if (limits.tokens) {
    s.token_percent = percent(usage.tokens, *limits.tokens);
    s.exceeded |= reached(usage.tokens, *limits.tokens, 100);
  }
  if (limits.cost) {
    s.cost_percent = percent(usage.cost, *limits.cost);
    s.exceeded |= reached(usage.cost, *limits.cost, 100);
  }
  return s;
}

Alert alert_for(const QuotaStatus& s, const std::string& currency) {
  bool warn = (s.limits.tokens && reached(s.usage.tokens, *s.limits.tokens, 90)) ||
              (s.limits.cost && reached(s.usage.cost, *s.limits.cost, 90));
  if (!warn) return {AlertLevel::none, ""};
  std::string tokens_part, cost_part;
  if (s.exceeded) {
    if (s.limits.tokens)
      tokens_part =
          "tokens: " + std::to_string(s.usage.tokens) + "/" + std::to_string(*s.limits.tokens);
    if (s.limits.cost)
      cost_part = "cost: " + format_nanos(s.usage.cost) + "/" + format_nanos(*s.limits.cost) + " " +
                  currency;
  } else {
    if (s.token_percent) tokens_part = "tokens: " + one_decimal(*s.token_percent) + "%";
    if (s.cost_percent) cost_part = "cost: " + one_decimal(*s.cost_percent) + "%";
  }
  std::string parts = tokens_part;
  if (!cost_part.empty()) parts += (parts.empty() ? "" : ", ") + cost_part;
  if (s.exceeded) return {AlertLevel::critical, "AI usage quota exceeded! " + parts};
  return {AlertLevel::warning, "AI usage quota nearly exhausted! " + parts};
}

}  // namespace aiusage
