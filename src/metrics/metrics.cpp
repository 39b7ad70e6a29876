#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <atomic>

#include "aiusage/build_info.hpp"
#include "aiusage/exposition.hpp"
#include "aiusage/metric_families.hpp"
#include "aiusage/service.hpp"

namespace aiusage {

namespace {

using namespace families;
using prometheus::MetricFamily;

void header(std::string& out, const FamilyInfo& f) {
  exposition::header(out, f.name, f.help, f.type_name());
}

void series_block(std::string& out, const SeriesKey& k, const LabelSet& set) {
  out.clear();
  each_label(k, set, [&](const char* name, const std::string& value) {
    exposition::label(out, name, value, out.empty());
  });
}

constexpr std::size_t kChunkBytes = 256 * 1024;

// Page text handed to a sink in pieces of at least kChunkBytes (the last may be shorter), through
// one reused buffer; once the sink refuses a piece nothing more is sent.
class PageBuffer {
 public:
  explicit PageBuffer(const PageSink& sink) : sink_(sink) { text_.reserve(2 * kChunkBytes); }
  std::string& text() { return text_; }
  // Passes the text on once it holds a chunk; call with no ledger lock held. False once refused.
  bool flush_if_full() { return text_.size() < kChunkBytes ? ok_ : flush(); }
  // Passes on whatever is buffered. False once refused.
  bool flush() {
    if (ok_ && !text_.empty()) ok_ = sink_(text_);
    text_.clear();
    return ok_;
  }

 private:
  const PageSink& sink_;
  std::string text_;
  bool ok_ = true;
};

// Every series with calls, copied from the ledger slice by slice (a commit never waits for the
// whole copy) with its label set rendered once; the usage families are all written from it.
struct SeriesSnapshot {
  struct Row {
    UsageSums total;
    std::int64_t month_calls, month_hits;
    std::size_t block_end;  // row i's label text is blocks[rows[i-1].block_end, block_end)
  };
  std::string blocks;
  std::vector<Row> rows;

  std::string_view block(std::size_t i) const {
    const std::size_t start = i == 0 ? 0 : rows[i - 1].block_end;
    return std::string_view(blocks).substr(start, rows[i].block_end - start);
  }
};

SeriesSnapshot snapshot(const FoldedPage& page, const LabelSet& set) {
  SeriesSnapshot snap;
  snap.rows.reserve(page.rows.size());
  snap.blocks.reserve(page.rows.size() * 96);
  std::string block;
  for (const SeriesRow& r : page.rows) {
    series_block(block, r.key, set);
    snap.blocks += block;
    snap.rows.push_back({r.total, r.month_calls, r.month_hits, snap.blocks.size()});
  }
  return snap;
}

// A family's sample line around a series' label text: `head` is "name{", `tail` the rest up to
// the value (",extra=\"value\"} " or "} "), both rendered once per page.
struct LineShape {
  std::string head, tail;
  LineShape(const FamilyInfo& f, std::string_view extra = {}, std::string_view value = {})
      : head(std::string(f.name) + '{') {
    if (!extra.empty()) exposition::label(tail, extra, value);
    tail += "} ";
  }
  void write(std::string& out, std::string_view block, double v) const {
    open(out, block);
    exposition::value(out, v);
    out += '\n';
  }
  void write_money(std::string& out, std::string_view block, Nanos v) const {
    open(out, block);
    exposition::money(out, v);
    out += '\n';
  }
  // The line up to its value.
  void open(std::string& out, std::string_view block) const {
    out += head;
    out += block;
    out += tail;
  }
};

// Everything the page shows, copied under the ledger's and the collectors' locks, so writing it
// takes none.
struct PageData {
  // False when no store could be opened: the usage families are left out (absent, not zeros that
  // a Prometheus would take for counter resets).
  bool usage = true;
  SeriesSnapshot series;
  std::int64_t accepted = 0;
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> unpriced;
  std::vector<std::pair<std::tuple<std::string, std::string, std::string>,
                        std::pair<std::int64_t, std::int64_t>>>
      tools;
  IngestCounters ingest;
  std::int64_t folded = 0, folded_month = 0;  // usage series summed into "__other__" rows
  QuotaPage quota;
  std::vector<MetricFamily> extras;
};

PageData gather(UsageService& service,
                std::initializer_list<const prometheus::Collectable*> extras) {
  PageData d;
  for (const prometheus::Collectable* extra : extras)
    if (extra != nullptr)
      for (MetricFamily& f : extra->Collect()) d.extras.push_back(std::move(f));
  d.usage = service.readable();
  if (!d.usage) return d;
  service.ensure_current_windows();
  const FoldedPage folded = folded_series(service);
  d.series = snapshot(folded, service.config().labels);
  d.folded = folded.folded;
  d.folded_month = folded.folded_month;
  service.ledger().read([&](const LedgerState& st) {
    d.accepted = st.records;
    d.unpriced.assign(st.unpriced.begin(), st.unpriced.end());
    d.tools.assign(st.tools.begin(), st.tools.end());
  });
  d.ingest = service.ingest_counters();
  const std::shared_ptr<const LiveConfig> live = service.current();
  d.quota = quota_page(service.quota_reports(), live->quota_min_ratio_ppm);
  d.quota.window_ends = window_ends(live->quotas, service.calendar(), service.now_ms());
  return d;
}

void quota_block(std::string& block, Scope scope, const std::string& subject, Window window) {
  block.clear();
  exposition::label(block, "scope", to_string(scope), true);
  exposition::label(block, "subject", subject);
  exposition::label(block, "window", to_string(window));
}

// The quota families: limit, used, ratio, projected ratio, threshold reached, window ends.
bool write_quotas(const QuotaPage& q, PageBuffer& page) {
  std::string& out = page.text();
  std::string block;
  for (const FamilyInfo* f : {&kLimit, &kUsed, &kRatio, &kProjected}) {
    header(out, *f);
    for (const QuotaSample& s : q.samples) {
      const std::optional<double> v = f == &kLimit   ? s.limit
                                      : f == &kUsed  ? s.used
                                      : f == &kRatio ? s.ratio
                                                     : s.projected;
      if (!v) continue;
      quota_block(block, s.scope, s.subject, s.window);
      exposition::sample(out, f->name, block, "resource", s.resource, *v);
      if (!page.flush_if_full()) return false;
    }
  }
  header(out, kAlertRatio);
  for (const AlertSample& a : q.alerts) {
    quota_block(block, a.scope, a.subject, a.window);
    exposition::label(block, "resource", a.resource);
    exposition::label(block, "threshold", a.threshold);
    exposition::sample(out, kAlertRatio.name, block, "level", to_string(a.level), a.ratio);
  }
  header(out, kWindowEnd);
  for (const auto& [window, end_ms] : q.window_ends)
    exposition::sample(out, kWindowEnd.name, "", "window", to_string(window),
                       static_cast<double>(end_ms) / 1000.0);
  return page.flush_if_full();
}

// Same families, order and values as the reference collector of the tests, written as text and
// passed on a chunk at a time while it is written.
bool write_page(const PageData& d, const std::string& currency, const PageSink& sink) {
  namespace ex = exposition;
  const SeriesSnapshot& snap = d.series;
  PageBuffer page(sink);
  std::string& out = page.text();
  std::string block;
  auto line = [&](const FamilyInfo& f, const char* name, std::string_view value, double v) {
    ex::sample(out, f.name, block, name, value, v);
  };
  // Writes `fn(row index)` for every series, passing the text on a chunk at a time.
  auto each_series = [&](auto&& fn) {
    for (std::size_t i = 0; i < snap.rows.size(); ++i) {
      fn(i);
      if (!page.flush_if_full()) return false;
    }
    return true;
  };

  header(out, kBuild);
  block.clear();
  ex::label(block, "version", kVersion, true);
  ex::label(block, "revision", kRevision);
  ex::sample(out, kBuild.name, block, 1.0);
  if (!d.usage) {
    if (!d.extras.empty()) out += prometheus::TextSerializer().Serialize(d.extras);
    return page.flush();
  }

  header(out, kCost);
  const LineShape cost(kCost, "currency", currency);
  if (!each_series(
          [&](std::size_t i) { cost.write_money(out, snap.block(i), snap.rows[i].total.cost); }))
    return false;
  header(out, kHitRatio);
  const LineShape hits(kHitRatio);
  if (!each_series([&](std::size_t i) {
        const SeriesSnapshot::Row& r = snap.rows[i];
        if (r.month_calls > 0)
          hits.write(out, snap.block(i), hit_ratio(r.month_hits, r.month_calls));
      }))
    return false;

  header(out, kIngest);
  block.clear();
  line(kIngest, "result", "accepted", static_cast<double>(d.accepted));
  line(kIngest, "result", "duplicate", static_cast<double>(d.ingest.duplicate));
  line(kIngest, "result", "rejected", static_cast<double>(d.ingest.rejected));
  header(out, kOtlpSpans);
  const auto otlp = otlp_values(d.ingest.otlp);
  for (int i = 0; i < 4; ++i) line(kOtlpSpans, "result", kOtlpResults[i], otlp[i]);

  if (!write_quotas(d.quota, page)) return false;

  header(out, kRequests);
  const LineShape uncached(kRequests, "cached", "false"), cached(kRequests, "cached", "true");
  if (!each_series([&](std::size_t i) {
        const UsageSums& s = snap.rows[i].total;
        uncached.write(out, snap.block(i), static_cast<double>(s.calls - s.cache_hits));
        cached.write(out, snap.block(i), static_cast<double>(s.cache_hits));
      }))
    return false;
  header(out, kTokens);
  std::vector<LineShape> tokens;
  for (std::string_view type : kTokenTypes) tokens.emplace_back(kTokens, "token_type", type);
  if (!each_series([&](std::size_t i) {
        const auto values = token_values(snap.rows[i].total);
        for (std::size_t t = 0; t < values.size(); ++t)
          if (t < kBasicTokenTypes || values[t] > 0) tokens[t].write(out, snap.block(i), values[t]);
      }))
    return false;
  header(out, kUnpriced);
  for (const auto& [key, n] : d.unpriced) {
    block.clear();
    ex::label(block, "provider", key.first, true);
    ex::label(block, "model", key.second);
    ex::sample(out, kUnpriced.name, block, static_cast<double>(n));
    if (!page.flush_if_full()) return false;
  }
  for (const FamilyInfo* f : {&kToolCalls, &kUnpricedToolCalls}) {
    header(out, *f);
    for (const auto& [key, n] : d.tools) {
      const std::int64_t v = f == &kToolCalls ? n.first : n.second;
      if (f == &kUnpricedToolCalls && v == 0) continue;
      block.clear();
      ex::label(block, "provider", std::get<0>(key), true);
      ex::label(block, "model", std::get<1>(key));
      ex::label(block, "tool", std::get<2>(key));
      ex::sample(out, f->name, block, static_cast<double>(v));
      if (!page.flush_if_full()) return false;
    }
  }
  header(out, kFolded);
  for (const FamilyInfo* f : kUsageFolded) {
    block.clear();
    line(kFolded, "family", f->name,
         static_cast<double>(f == &kHitRatio ? d.folded_month : d.folded));
  }
  for (const FamilyInfo* f : kQuotaFolded) {
    block.clear();
    line(kFolded, "family", f->name, static_cast<double>(d.quota.folded));
  }
  if (!d.extras.empty()) out += prometheus::TextSerializer().Serialize(d.extras);
  return page.flush();
}

}  // namespace

namespace families {

FoldedPage folded_series(UsageService& service) {
  const Ledger& ledger = service.ledger();
  return service.series_folder().fold(
      [&ledger](const SeriesFolder::Visitor& visit) { ledger.for_each_series(visit); });
}

}  // namespace families

bool write_metrics(UsageService& service, const PageSink& sink,
                   std::initializer_list<const prometheus::Collectable*> extras,
                   const PageWriter& write_with) {
  const PageData d = gather(service, extras);
  auto write = [&] { return write_page(d, service.config().currency, sink); };
  return write_with ? write_with(write) : write();
}

std::string render_metrics(UsageService& service) {
  std::string out;
  // Sized like the last page, so a 100 MB page is not copied while it grows.
  static std::atomic<std::size_t> last_size{0};
  out.reserve(last_size.load() + last_size.load() / 16);
  write_metrics(service, [&](std::string_view piece) {
    out += piece;
    return true;
  });
  last_size = out.size();
  return out;
}

}  // namespace aiusage
