#include "support/reference_collector.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "aiusage/build_info.hpp"
#include "aiusage/metric_families.hpp"

namespace aiusage::testing {

namespace {

using namespace families;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using Labels = std::vector<ClientMetric::Label>;

Labels series_labels(const SeriesKey& k, const LabelSet& set) {
  Labels l;
  each_label(k, set, [&](const char* name, const std::string& value) {
    l.push_back({name, value});
  });
  return l;
}

Labels with(Labels l, std::string name, std::string value) {
  l.push_back({std::move(name), std::move(value)});
  return l;
}

void add(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

MetricFamily family(const FamilyInfo& info) { return {info.name, info.help, info.type, {}}; }

// Built from the ledger with prometheus-cpp's own types, independently of the page writer.
class UsageCollector : public prometheus::Collectable {
 public:
  explicit UsageCollector(UsageService& service) : service_(service) {}

  std::vector<MetricFamily> Collect() const override {
    MetricFamily build = family(kBuild);
    add(build, {{"version", kVersion}, {"revision", kRevision}}, 1.0);
    if (!service_.readable()) return {std::move(build)};  // no store: no totals, not zeros
    const LabelSet& set = service_.config().labels;
    const std::string& currency = service_.config().currency;
    MetricFamily requests = family(kRequests), tokens = family(kTokens), cost = family(kCost),
                 unpriced = family(kUnpriced), hits = family(kHitRatio), ingest = family(kIngest),
                 tools = family(kToolCalls), unpriced_tools = family(kUnpricedToolCalls);
    service_.ensure_current_windows();
    const FoldedPage page = folded_series(service_);
    for (const SeriesRow& row : page.rows) {
      if (row.total.calls == 0) continue;
      const UsageSums& s = row.total;
      Labels base = series_labels(row.key, set);
      add(requests, with(base, "cached", "false"), static_cast<double>(s.calls - s.cache_hits));
      add(requests, with(base, "cached", "true"), static_cast<double>(s.cache_hits));
      const auto values = token_values(s);
      for (std::size_t i = 0; i < values.size(); ++i)
        if (i < kBasicTokenTypes || values[i] > 0)
          add(tokens, with(base, "token_type", std::string(kTokenTypes[i])), values[i]);
      add(cost, with(base, "currency", currency), nanos_to_units(s.cost));
    }
    for (const SeriesRow& row : page.rows)
      if (row.month_calls > 0)
        add(hits, series_labels(row.key, set), hit_ratio(row.month_hits, row.month_calls));
    service_.ledger().read([&](const LedgerState& st) {
      for (const auto& [key, n] : st.unpriced)
        add(unpriced, {{"provider", key.first}, {"model", key.second}}, static_cast<double>(n));
      for (const auto& [key, n] : st.tools) {
        const Labels l{{"provider", std::get<0>(key)},
                       {"model", std::get<1>(key)},
                       {"tool", std::get<2>(key)}};
        add(tools, l, static_cast<double>(n.first));
        if (n.second > 0) add(unpriced_tools, l, static_cast<double>(n.second));
      }
      add(ingest, {{"result", "accepted"}}, static_cast<double>(st.records));
    });
    IngestCounters c = service_.ingest_counters();
    add(ingest, {{"result", "duplicate"}}, static_cast<double>(c.duplicate));
    add(ingest, {{"result", "rejected"}}, static_cast<double>(c.rejected));
    MetricFamily otlp = family(kOtlpSpans);
    const auto spans = otlp_values(c.otlp);
    for (int i = 0; i < 4; ++i) add(otlp, {{"result", kOtlpResults[i]}}, spans[i]);

    MetricFamily limit = family(kLimit), used = family(kUsed), ratio = family(kRatio),
                 projected = family(kProjected), alert = family(kAlertRatio),
                 window_end = family(kWindowEnd), folded = family(kFolded);
    const auto live = service_.current();
    QuotaPage q = quota_page(service_.quota_reports(), live->quota_min_ratio_ppm);
    for (const QuotaSample& s : q.samples) {
      Labels base{{"scope", to_string(s.scope)},
                  {"subject", s.subject},
                  {"window", to_string(s.window)},
                  {"resource", s.resource}};
      add(limit, base, s.limit);
      add(used, base, s.used);
      add(ratio, base, s.ratio);
      if (s.projected) add(projected, base, *s.projected);
    }
    for (const AlertSample& a : q.alerts)
      add(alert,
          {{"scope", to_string(a.scope)},
           {"subject", a.subject},
           {"window", to_string(a.window)},
           {"resource", a.resource},
           {"threshold", a.threshold},
           {"level", to_string(a.level)}},
          a.ratio);
    for (const auto& [w, end_ms] :
         window_ends(live->quotas, service_.calendar(), service_.now_ms()))
      add(window_end, {{"window", to_string(w)}}, static_cast<double>(end_ms) / 1000.0);
    for (const FamilyInfo* f : kUsageFolded)
      add(folded, {{"family", f->name}},
          static_cast<double>(f == &kHitRatio ? page.folded_month : page.folded));
    for (const FamilyInfo* f : kQuotaFolded)
      add(folded, {{"family", f->name}}, static_cast<double>(q.folded));
    std::vector<MetricFamily> out;
    for (MetricFamily* f :
         {&build, &cost, &hits, &ingest, &otlp, &limit, &used, &ratio, &projected, &alert,
          &window_end, &requests, &tokens, &unpriced, &tools, &unpriced_tools, &folded})
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

std::string reference_page(UsageService& service) {
  return prometheus::TextSerializer().Serialize(make_usage_collector(service)->Collect());
}

namespace {

bool same_sample(const std::string& a, const std::string& b) {
  const auto sa = a.rfind(' '), sb = b.rfind(' ');
  if (a[0] == '#' || sa == std::string::npos || sb == std::string::npos ||
      a.compare(0, sa, b, 0, sb) != 0)
    return false;
  const double va = std::strtod(a.c_str() + sa + 1, nullptr);
  const double vb = std::strtod(b.c_str() + sb + 1, nullptr);
  return va == vb || std::nextafter(va, vb) == vb;
}

}  // namespace

std::string exposition_difference(const std::string& mine, const std::string& reference) {
  std::istringstream a(mine), b(reference);
  std::string la, lb;
  for (int n = 1;; ++n) {
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "";
    if (more_a != more_b || (la != lb && !same_sample(la, lb)))
      return "line " + std::to_string(n) + ": mine \"" + (more_a ? la : "<end>") +
             "\", reference \"" + (more_b ? lb : "<end>") + "\"";
  }
}

}  // namespace aiusage::testing
