#include "aiusage/quota.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace aiusage {

const char* to_string(Scope scope) {
  switch (scope) {
    case Scope::user:
      return "user";
    case Scope::project:
      return "project";
    case Scope::global:
      return "global";
    case Scope::tag:
      return "tag";
  }
  return "?";
}

std::string tag_subject(std::string_view key, std::string_view value) {
  return std::string(key) + "=" + std::string(value);
}

std::optional<std::pair<std::string_view, std::string_view>> split_tag_subject(
    std::string_view subject) {
  const std::size_t eq = subject.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return std::pair{subject.substr(0, eq), subject.substr(eq + 1)};
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

Thresholds default_thresholds() { return {900'000, kWholeLimitPpm}; }

QuotaLimits limits_for(const std::vector<QuotaRule>& rules, Scope scope, const std::string& subject,
                       Window window) {
  const QuotaRule* wildcard = nullptr;
  std::string_view name = subject;  // of the rule's subject: a tag rule's value
  std::optional<std::pair<std::string_view, std::string_view>> tag;
  if (scope == Scope::tag) {
    tag = split_tag_subject(subject);
    if (!tag) return {};
    name = tag->second;
  }
  for (const QuotaRule& rule : rules) {
    if (rule.scope != scope || rule.window != window) continue;
    if (tag && rule.tag != tag->first) continue;
    if (scope == Scope::global || rule.subject == name)
      return {rule.tokens, rule.cost, rule.thresholds};
    if (rule.subject == "*" && wildcard == nullptr) wildcard = &rule;
  }
  if (wildcard) return {wildcard->tokens, wildcard->cost, wildcard->thresholds};
  return {};
}

namespace {

double percent(Int128 used, Int128 limit) {
  if (limit <= 0) return used > 0 ? 100.0 * static_cast<double>(used) : 0.0;
  return static_cast<double>(used) * 100.0 / static_cast<double>(limit);
}

// Exact threshold test: used ≥ limit × ppm / 10^6.
bool reached(Int128 used, Int128 limit, std::int32_t ppm) {
  return used * kWholeLimitPpm >= limit * ppm;
}

std::optional<std::int32_t> highest_reached(const QuotaStatus& s) {
  std::optional<std::int32_t> best;
  for (std::int32_t t : s.limits.thresholds) {
    const bool hit = (s.limits.tokens && reached(s.usage.tokens, *s.limits.tokens, t)) ||
                     (s.limits.cost && reached(s.usage.cost, *s.limits.cost, t));
    if (hit && (!best || t > *best)) best = t;
  }
  return best;
}

// The first instant at which `used` + `rate` (recent per span) reaches `limit`, or none when
// that is not before `end`.
std::optional<std::int64_t> reaches_at(Int128 used, Int128 recent, std::int64_t span,
                                       std::int64_t now, std::int64_t end, Int128 limit) {
  if (used >= limit) return now;
  if (recent <= 0) return std::nullopt;
  const Int128 wait = ((limit - used) * span + recent - 1) / recent;  // rounded up
  if (wait >= end - now) return std::nullopt;
  return now + static_cast<std::int64_t>(wait);
}

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
    s.exceeded |= reached(usage.tokens, *limits.tokens, kWholeLimitPpm);
  }
  if (limits.cost) {
    s.cost_percent = percent(usage.cost, *limits.cost);
    s.exceeded |= reached(usage.cost, *limits.cost, kWholeLimitPpm);
  }
  return s;
}

Alert alert_for(const QuotaStatus& s, const std::string& currency) {
  const std::optional<std::int32_t> threshold = highest_reached(s);
  if (!threshold) return {AlertLevel::none, "", std::nullopt};
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
  const AlertLevel level =
      *threshold >= kWholeLimitPpm ? AlertLevel::critical : AlertLevel::warning;
  if (s.exceeded) return {level, "AI usage quota exceeded! " + parts, threshold};
  return {level, "AI usage quota nearly exhausted! " + parts, threshold};
}

std::optional<Forecast> forecast(const ForecastInput& in, const QuotaLimits& limits) {
  const std::int64_t span = in.now_ms - in.recent_start_ms;
  if (in.recent_start_ms < in.window.start_ms || in.now_ms > in.window.end_ms ||
      span < kForecastMinSpanMs)
    return std::nullopt;
  const std::int64_t remaining = in.window.end_ms - in.now_ms;
  const auto carry = [&](Int128 used, Int128 recent) { return used + recent * remaining / span; };
  Forecast f;
  const Int128 tokens = carry(in.used.tokens, in.recent.tokens);
  const Int128 cost = carry(in.used.cost, in.recent.cost);
  // Saturate rather than wrap: a projection past the int64 range is "more than can be said".
  constexpr Int128 kMax = std::numeric_limits<std::int64_t>::max();
  f.projected.tokens = static_cast<std::int64_t>(std::min(tokens, kMax));
  f.projected.cost = static_cast<Nanos>(std::min(cost, kMax));
  std::optional<std::int64_t> at;
  const auto earliest = [&](std::optional<std::int64_t> t) {
    if (t && (!at || *t < *at)) at = t;
  };
  if (limits.tokens)
    earliest(reaches_at(in.used.tokens, in.recent.tokens, span, in.now_ms, in.window.end_ms,
                        *limits.tokens));
  if (limits.cost)
    earliest(
        reaches_at(in.used.cost, in.recent.cost, span, in.now_ms, in.window.end_ms, *limits.cost));
  f.exhausted_at_ms = at;
  return f;
}

}  // namespace aiusage
