#include <map>
#include <tuple>

#include "aiusage/metric_families.hpp"
#include "aiusage/money.hpp"

namespace aiusage::families {

namespace {

// Exact sums of the reports folded into one "__other__" row.
struct Folded {
  Int128 token_limit = 0, tokens = 0, cost_limit = 0, cost = 0;
  bool has_tokens = false, has_cost = false;
};

// nanos_to_units for sums that may pass the int64 range.
double units(Int128 nanos) {
  return static_cast<double>(nanos / kNanosPerUnit) +
         static_cast<double>(static_cast<Nanos>(nanos % kNanosPerUnit)) / kNanosPerUnit;
}

double ratio_of(Int128 used, Int128 limit) {
  return static_cast<double>(used) / static_cast<double>(limit);
}

bool at_least(Int128 used, Int128 limit, std::int32_t ppm) {
  return used * kWholeLimitPpm >= limit * ppm;
}

// The highest threshold `used` reached of `limit`, if any.
std::optional<std::int32_t> reached(Int128 used, Int128 limit, const Thresholds& thresholds) {
  std::optional<std::int32_t> best;
  for (std::int32_t t : thresholds)
    if (at_least(used, limit, t)) best = t;  // ascending
  return best;
}

bool shown_apart(const QuotaReport& r, std::int32_t min_ppm) {
  const QuotaStatus& s = r.status;
  Thresholds bar = s.limits.thresholds;
  bar.push_back(min_ppm);
  auto any = [&](Int128 used, Int128 limit) { return reached(used, limit, bar).has_value(); };
  return r.configured || (s.limits.tokens && any(s.usage.tokens, *s.limits.tokens)) ||
         (s.limits.cost && any(s.usage.cost, *s.limits.cost));
}

std::optional<double> projected(const QuotaReport& r, bool cost) {
  if (!r.forecast) return std::nullopt;
  const QuotaStatus& s = r.status;
  return cost ? ratio_of(r.forecast->projected.cost, *s.limits.cost)
              : ratio_of(r.forecast->projected.tokens, *s.limits.tokens);
}

// "0.9", "1", "1.25": the shortest decimal of a share in parts per million.
std::string share_text(std::int32_t ppm) {
  std::string out = std::to_string(ppm / kWholeLimitPpm);
  if (std::int32_t frac = ppm % kWholeLimitPpm) {
    std::string digits = std::to_string(kWholeLimitPpm + frac).substr(1);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

void add_resource(QuotaPage& page, const QuotaReport& r, const char* resource, double limit,
                  double used, Int128 used_exact, Int128 limit_exact, bool cost) {
  const double ratio = ratio_of(used_exact, limit_exact);
  page.samples.push_back(
      {r.scope, r.subject, r.window, resource, limit, used, ratio, projected(r, cost)});
  if (auto t = reached(used_exact, limit_exact, r.status.limits.thresholds))
    page.alerts.push_back({r.scope, r.subject, r.window, resource, share_text(*t),
                           *t >= kWholeLimitPpm ? AlertLevel::critical : AlertLevel::warning,
                           ratio});
}

void add_shown(QuotaPage& page, const QuotaReport& r) {
  const QuotaStatus& s = r.status;
  if (s.limits.tokens)
    add_resource(page, r, "tokens", static_cast<double>(*s.limits.tokens),
                 static_cast<double>(s.usage.tokens), s.usage.tokens, *s.limits.tokens, false);
  if (s.limits.cost)
    add_resource(page, r, "cost", nanos_to_units(*s.limits.cost), nanos_to_units(s.usage.cost),
                 s.usage.cost, *s.limits.cost, true);
}

void add_folded(QuotaPage& page, Scope scope, Window window, const Folded& f) {
  if (f.has_tokens)
    page.samples.push_back({scope, std::string(kOtherLabel), window, "tokens",
                            static_cast<double>(f.token_limit), static_cast<double>(f.tokens),
                            ratio_of(f.tokens, f.token_limit), std::nullopt});
  if (f.has_cost)
    page.samples.push_back({scope, std::string(kOtherLabel), window, "cost", units(f.cost_limit),
                            units(f.cost), ratio_of(f.cost, f.cost_limit), std::nullopt});
}

}  // namespace

QuotaPage quota_page(const std::vector<QuotaReport>& reports, std::int32_t min_ratio_ppm) {
  QuotaPage page;
  std::map<std::pair<Scope, Window>, Folded> folded;
  for (const QuotaReport& r : reports) {
    if (shown_apart(r, min_ratio_ppm)) {
      add_shown(page, r);
      continue;
    }
    Folded& f = folded[{r.scope, r.window}];
    const QuotaStatus& s = r.status;
    page.folded += (s.limits.tokens ? 1 : 0) + (s.limits.cost ? 1 : 0);
    if (s.limits.tokens)
      f.has_tokens = true, f.token_limit += *s.limits.tokens, f.tokens += s.usage.tokens;
    if (s.limits.cost) f.has_cost = true, f.cost_limit += *s.limits.cost, f.cost += s.usage.cost;
  }
  for (const auto& [key, f] : folded) add_folded(page, key.first, key.second, f);
  return page;
}

std::vector<std::pair<Window, std::int64_t>> window_ends(const std::vector<QuotaRule>& quotas,
                                                         const MonthCalendar& cal,
                                                         std::int64_t now_ms) {
  std::map<Window, std::int64_t> ends;
  for (const QuotaRule& q : quotas) ends[q.window] = cal.window_of(q.window, now_ms).end_ms;
  return {ends.begin(), ends.end()};
}

}  // namespace aiusage::families
