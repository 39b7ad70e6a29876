#pragma once
// The usage families of /metrics: names, help, types and the value rules that the page writer
// (metrics.cpp) and the prometheus-cpp reference collector of the tests both follow.
#include <prometheus/metric_type.h>

#include <array>
#include <cstdint>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/service.hpp"

namespace aiusage::families {

struct FamilyInfo {
  const char* name;
  const char* help;
  prometheus::MetricType type;
  const char* type_name() const {
    return type == prometheus::MetricType::Counter ? "counter" : "gauge";
  }
};

using prometheus::MetricType;

inline constexpr FamilyInfo kRequests{
    "ai_usage_requests_total",
    "LLM calls recorded, by whether the application's response cache answered them.",
    MetricType::Counter};
inline constexpr FamilyInfo kTokens{
    "ai_usage_tokens_total",
    "Billed tokens by price class: input (uncached prompt), cache_read, cache_write, output.",
    MetricType::Counter};
inline constexpr FamilyInfo kCost{
    "ai_usage_cost_total", "Cost of recorded calls in the billing currency.", MetricType::Counter};
inline constexpr FamilyInfo kUnpriced{
    "ai_usage_unpriced_requests_total",
    "Calls of models without a configured price (stored with cost 0).", MetricType::Counter};
inline constexpr FamilyInfo kHitRatio{
    "ai_usage_cache_hit_ratio",
    "Share of this calendar month's calls answered from the response cache.", MetricType::Gauge};
inline constexpr FamilyInfo kIngest{
    "ai_usage_ingest_records_total",
    "Records received by result; accepted counts every record in the store.", MetricType::Counter};
inline constexpr FamilyInfo kLimit{"ai_usage_quota_limit",
                                   "Monthly quota limit (tokens, or cost in the billing currency).",
                                   MetricType::Gauge};
inline constexpr FamilyInfo kUsed{"ai_usage_quota_used",
                                  "Usage counted against the quota in the current calendar month.",
                                  MetricType::Gauge};
inline constexpr FamilyInfo kRatio{"ai_usage_quota_usage_ratio",
                                   "Quota used / limit for the current calendar month (1 = 100 %).",
                                   MetricType::Gauge};
inline constexpr FamilyInfo kBuild{
    "ai_usage_build_info", "Version and revision of this exporter; always 1.", MetricType::Gauge};

inline constexpr const char* kTokenTypes[] = {"input", "cache_read", "cache_write", "output"};

// Token counts by price class, in kTokenTypes order.
inline std::array<double, 4> token_values(const UsageSums& s) {
  return {static_cast<double>(s.input_tokens()), static_cast<double>(s.cache_read_tokens),
          static_cast<double>(s.cache_write_tokens), static_cast<double>(s.completion_tokens)};
}

inline double hit_ratio(std::int64_t hits, std::int64_t calls) {
  return static_cast<double>(hits) / static_cast<double>(calls);
}

// Calls `fn(name, value)` for each label a usage series shows, in page order: provider, then
// model, project and user where the label set keeps them.
template <typename Fn>
void each_label(const SeriesKey& k, const LabelSet& set, Fn&& fn) {
  fn("provider", k.provider);
  if (set.model) fn("model", k.model);
  if (set.project) fn("project", k.project);
  if (set.user) fn("user", k.user);
}

// One quota gauge triple: limit, used and used / limit, for one resource.
struct QuotaSample {
  const QuotaReport* report;
  const char* resource;
  double limit, used, ratio;
};

// The samples of `reports`, tokens before cost for each.
std::vector<QuotaSample> quota_samples(const std::vector<QuotaReport>& reports);

}  // namespace aiusage::families
