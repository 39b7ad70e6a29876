#pragma once
// The usage families of /metrics: names, help, types and the value rules that the page writer
// (metrics.cpp) and the prometheus-cpp reference collector of the tests both follow.
#include <prometheus/metric_type.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
    "Billed tokens by price class: input (uncached text prompt), cache_read, cache_write, output "
    "(text), and where used cache_write_1h, audio_input, image_input, reasoning, audio_output, "
    "image_output.",
    MetricType::Counter};
inline constexpr FamilyInfo kCost{
    "ai_usage_cost_total", "Cost of recorded calls in the billing currency.", MetricType::Counter};
inline constexpr FamilyInfo kUnpriced{
    "ai_usage_unpriced_requests_total",
    "Calls of models without a configured price (stored with cost 0).", MetricType::Counter};
inline constexpr FamilyInfo kToolCalls{
    "ai_usage_tool_calls_total",
    "Server-side tool calls (web_search, ...) of recorded calls, by tool.", MetricType::Counter};
inline constexpr FamilyInfo kUnpricedToolCalls{
    "ai_usage_unpriced_tool_calls_total",
    "Tool calls whose entry has no price for the tool (they cost 0).", MetricType::Counter};
inline constexpr FamilyInfo kHitRatio{
    "ai_usage_cache_hit_ratio",
    "Share of this calendar month's calls answered from the response cache.", MetricType::Gauge};
inline constexpr FamilyInfo kIngest{
    "ai_usage_ingest_records_total",
    "Records received by result; accepted counts every record in the store.", MetricType::Counter};
inline constexpr FamilyInfo kOtlpSpans{
    "ai_usage_otlp_spans_total",
    "Spans of OTLP trace exports (POST /v1/traces) by result; skipped: no token usage.",
    MetricType::Counter};
inline constexpr const char* kOtlpResults[] = {"stored", "duplicate", "skipped", "rejected"};

// The counts of kOtlpSpans, in kOtlpResults order.
inline std::array<double, 4> otlp_values(const OtlpSpanCounts& c) {
  return {static_cast<double>(c.stored), static_cast<double>(c.duplicate),
          static_cast<double>(c.skipped), static_cast<double>(c.rejected)};
}

inline constexpr FamilyInfo kLimit{
    "ai_usage_quota_limit", "Quota limit of its window (tokens, or cost in the billing currency).",
    MetricType::Gauge};
inline constexpr FamilyInfo kUsed{
    "ai_usage_quota_used",
    "Usage counted against the quota in its current window (day, ISO week or calendar month).",
    MetricType::Gauge};
inline constexpr FamilyInfo kRatio{"ai_usage_quota_usage_ratio",
                                   "Quota used / limit in its current window (1 = 100 %).",
                                   MetricType::Gauge};
inline constexpr FamilyInfo kProjected{
    "ai_usage_quota_projected_usage_ratio",
    "Quota used / limit projected to the end of the window at the window's rate so far (from its "
    "first hour on).",
    MetricType::Gauge};
inline constexpr FamilyInfo kAlertRatio{
    "ai_usage_quota_alert_ratio",
    "Quota used / limit of a resource that reached an alert threshold in its current window; "
    "threshold is the highest reached, level warning below 1 and critical from 1.",
    MetricType::Gauge};
inline constexpr FamilyInfo kWindowEnd{
    "ai_usage_quota_window_end_timestamp_seconds",
    "When the current budget window ends (Unix time), for each window a quota uses.",
    MetricType::Gauge};
inline constexpr FamilyInfo kFolded{
    "ai_usage_metrics_folded_series",
    "Series summed into an __other__ row by the cardinality limits, by family.", MetricType::Gauge};
inline constexpr FamilyInfo kBuild{
    "ai_usage_build_info", "Version and revision of this exporter; always 1.", MetricType::Gauge};

// The four basic price classes, on every series, then the detail classes (kTokenDetailInfo),
// each on a series once it has some.
inline constexpr std::size_t kBasicTokenTypes = 4;
inline constexpr std::array<std::string_view, kBasicTokenTypes + kTokenDetails> kTokenTypes = {
    "input",
    "cache_read",
    "cache_write",
    "output",
    kTokenDetailInfo[kCacheWrite1h].name,
    kTokenDetailInfo[kAudioInput].name,
    kTokenDetailInfo[kImageInput].name,
    kTokenDetailInfo[kReasoning].name,
    kTokenDetailInfo[kAudioOutput].name,
    kTokenDetailInfo[kImageOutput].name};

// Token counts by price class, in kTokenTypes order; they add up to the series' tokens.
inline std::array<double, kTokenTypes.size()> token_values(const UsageSums& s) {
  std::array<double, kTokenTypes.size()> v = {
      static_cast<double>(s.input_tokens()), static_cast<double>(s.cache_read_tokens),
      static_cast<double>(s.cache_write_tokens), static_cast<double>(s.output_tokens())};
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    v[kBasicTokenTypes + d] = static_cast<double>(s.details[d]);
  return v;
}

inline double hit_ratio(std::int64_t hits, std::int64_t calls) {
  return static_cast<double>(hits) / static_cast<double>(calls);
}

// Calls `fn(name, value)` for each label a usage series shows, in page order: provider, then
// model, project and user where the label set keeps them, then its tag labels (ascending): all
// "__other__" in the row of the series whose own rows the governor refused.
template <typename Fn>
void each_label(const SeriesKey& k, const LabelSet& set, Fn&& fn) {
  fn("provider", k.provider);
  if (set.model) fn("model", k.model);
  if (set.project) fn("project", k.project);
  if (set.user) fn("user", k.user);
  if (set.tags.empty()) return;
  const bool other_row = k.provider == kOtherLabel && k.model == kOtherLabel &&
                         k.project == kOtherLabel && k.user == kOtherLabel && k.tags.empty();
  for (const std::string& key : set.tags)
    fn(key.c_str(), other_row ? std::string(kOtherLabel) : series_tag(k.tags, key));
}

// One quota's gauges for one resource (a folded row has no projection).
struct QuotaSample {
  Scope scope;
  std::string subject;
  Window window;
  const char* resource;
  double limit, used, ratio;
  std::optional<double> projected;
};

// A resource of a quota that reached a threshold: the highest one, as a share of the limit
// ("0.9", "1", "1.25"), and the ratio used / limit.
struct AlertSample {
  Scope scope;
  std::string subject;
  Window window;
  const char* resource;
  std::string threshold;
  AlertLevel level;
  double ratio;
};

// The quota families of a page. A report is shown on its own when a rule names its subject,
// when it reached a threshold, or when a resource is at or above `min_ratio_ppm` of its limit;
// the others are summed (limits and usage, exactly) into subject "__other__" of their scope
// and window, tokens before cost.
struct QuotaPage {
  std::vector<QuotaSample> samples;
  std::vector<AlertSample> alerts;
  std::vector<std::pair<Window, std::int64_t>> window_ends;  // ms; filled by the caller
  std::int64_t folded = 0;  // samples of each of limit, used, ratio summed into "__other__"
};
QuotaPage quota_page(const std::vector<QuotaReport>& reports, std::int32_t min_ratio_ppm);
// The end of the current window of each window a rule of `quotas` uses, ascending by window.
std::vector<std::pair<Window, std::int64_t>> window_ends(const std::vector<QuotaRule>& quotas,
                                                         const MonthCalendar& cal,
                                                         std::int64_t now_ms);
// The usage series of `service`'s ledger under its cardinality governor.
FoldedPage folded_series(UsageService& service);
// The families whose series the governor folds, and those the quota limits fold, in page order.
inline constexpr const FamilyInfo* kUsageFolded[] = {&kCost, &kHitRatio, &kRequests, &kTokens};
inline constexpr const FamilyInfo* kQuotaFolded[] = {&kLimit, &kUsed, &kRatio};

}  // namespace aiusage::families
