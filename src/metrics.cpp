#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "aiusage/service.hpp"
#include "build_info.hpp"

namespace aiusage {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

Labels series_labels(const SeriesKey& k, const LabelSet& set) {
  Labels l{{"provider", k.provider}};
  if (set.model) l.push_back({"model", k.model});
  if (set.project) l.push_back({"project", k.project});
  if (set.user) l.push_back({"user", k.user});
  return l;
}

Labels with(Labels l, std::string name, std::string value) {
  l.push_back({std::move(name), std::move(value)});
  return l;
}

void add(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// Exposes the ledger's committed totals and this month's quotas; the one Collectable of the service.
class UsageCollector : public prometheus::Collectable {
 public:
  explicit UsageCollector(UsageService& service) : service_(service) {}

  std::vector<MetricFamily> Collect() const override {
    const LabelSet& set = service_.config().labels;
    const std::string& currency = service_.config().currency;
    MetricFamily requests{"ai_usage_requests_total", "LLM calls recorded, by whether the application's response cache answered them.", MetricType::Counter, {}};
    MetricFamily tokens{"ai_usage_tokens_total", "Billed tokens by price class: input (uncached prompt), cache_read, cache_write, output.", MetricType::Counter, {}};
    MetricFamily cost{"ai_usage_cost_total", "Cost of recorded calls in the billing currency.", MetricType::Counter, {}};
    MetricFamily unpriced{"ai_usage_unpriced_requests_total", "Calls of models without a configured price (stored with cost 0).", MetricType::Counter, {}};
    MetricFamily hit_ratio{"ai_usage_cache_hit_ratio", "Share of this calendar month's calls answered from the response cache.", MetricType::Gauge, {}};
    MetricFamily ingest{"ai_usage_ingest_records_total", "Records received by result; accepted counts every record in the store.", MetricType::Counter, {}};
    service_.ensure_current_month();
    service_.ledger().read([&](const LedgerState& st) {
      for (const auto& [key, s] : st.series) {
        Labels base = series_labels(key, set);
        add(requests, with(base, "cached", "false"), static_cast<double>(s.calls - s.cache_hits));
        add(requests, with(base, "cached", "true"), static_cast<double>(s.cache_hits));
        add(tokens, with(base, "token_type", "input"), static_cast<double>(s.input_tokens()));
        add(tokens, with(base, "token_type", "cache_read"), static_cast<double>(s.cache_read_tokens));
        add(tokens, with(base, "token_type", "cache_write"), static_cast<double>(s.cache_write_tokens));
        add(tokens, with(base, "token_type", "output"), static_cast<double>(s.completion_tokens));
        add(cost, with(base, "currency", currency), nanos_to_units(s.cost));
      }
      for (const auto& [key, n] : st.unpriced)
        add(unpriced, {{"provider", key.first}, {"model", key.second}}, static_cast<double>(n));
      for (const auto& [key, s] : st.month_series)
        if (s.calls > 0)
          add(hit_ratio, series_labels(key, set), static_cast<double>(s.cache_hits) / static_cast<double>(s.calls));
      add(ingest, {{"result", "accepted"}}, static_cast<double>(st.records));
    });
    IngestCounters c = service_.ingest_counters();
    add(ingest, {{"result", "duplicate"}}, static_cast<double>(c.duplicate));
    add(ingest, {{"result", "rejected"}}, static_cast<double>(c.rejected));

    MetricFamily limit{"ai_usage_quota_limit", "Monthly quota limit (tokens, or cost in the billing currency).", MetricType::Gauge, {}};
    MetricFamily used{"ai_usage_quota_used", "Usage counted against the quota in the current calendar month.", MetricType::Gauge, {}};
    MetricFamily ratio{"ai_usage_quota_usage_ratio", "Quota used / limit for the current calendar month (1 = 100 %).", MetricType::Gauge, {}};
    for (const QuotaReport& r : service_.quota_reports()) {
      Labels base{{"scope", to_string(r.scope)}, {"subject", r.subject}};
      const QuotaStatus& s = r.status;
      if (s.limits.tokens) {
        add(limit, with(base, "resource", "tokens"), static_cast<double>(*s.limits.tokens));
        add(used, with(base, "resource", "tokens"), static_cast<double>(s.usage.tokens));
        add(ratio, with(base, "resource", "tokens"), static_cast<double>(s.usage.tokens) / static_cast<double>(*s.limits.tokens));
      }
      if (s.limits.cost) {
        add(limit, with(base, "resource", "cost"), nanos_to_units(*s.limits.cost));
        add(used, with(base, "resource", "cost"), nanos_to_units(s.usage.cost));
        add(ratio, with(base, "resource", "cost"), static_cast<double>(s.usage.cost) / static_cast<double>(*s.limits.cost));
      }
    }
    MetricFamily build{"ai_usage_build_info", "Version and revision of this exporter; always 1.", MetricType::Gauge, {}};
    add(build, {{"version", kVersion}, {"revision", kRevision}}, 1.0);

    std::vector<MetricFamily> out;
    for (MetricFamily* f : {&build, &cost, &hit_ratio, &ingest, &limit, &used, &ratio, &requests, &tokens, &unpriced})
      out.push_back(std::move(*f));
    return out;
  }

 private:
  UsageService& service_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_usage_collector(UsageService& service) {
  return std::make_shared<UsageCollector>(service);
}

}  // namespace aiusage
