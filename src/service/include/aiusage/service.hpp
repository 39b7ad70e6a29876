#pragma once
// The use cases of the original service (record, statistics, quota, alerts, cache-hit rate).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/clock.hpp"
#include "aiusage/config.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/ledger.hpp"
#include "aiusage/quota.hpp"
#include "aiusage/series_fold.hpp"
#include "aiusage/usage_store.hpp"

namespace prometheus {
class Collectable;
}

namespace aiusage {

struct WriteError;

struct IngestOutcome {
  std::vector<UsageRecord> records;
  std::vector<std::optional<PriceNote>> pricing;  // by record; none when unpriced
  std::vector<bool> duplicate;
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
};

using Statistics = Breakdown;

struct QuotaReport {
  Scope scope = Scope::global;
  std::string subject;
  Window window = Window::month;
  QuotaStatus status;
  Period period;
  std::optional<Forecast> forecast;  // none before kForecastMinSpanMs of the window has passed
  bool configured = false;           // a rule names the subject (not only "*")
};

struct SubjectAlert {
  QuotaReport report;
  Alert alert;
};

struct CacheHitRate {
  std::int64_t hits = 0;
  std::int64_t total = 0;
  double rate = 0.0;
};

// What ingest_records did with each of its records.
struct RecordsOutcome {
  std::vector<UsageRecord> records;  // priced; duplicates with their stored cost
  std::vector<bool> duplicate;       // per record: already stored with the same content
  std::vector<std::string> refused;  // per record: why it was not stored; "" when it was
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t rejected = 0;
};

// Spans of OTLP exports by what became of them (ai_usage_otlp_spans_total).
struct OtlpSpanCounts {
  std::int64_t stored = 0;
  std::int64_t duplicate = 0;
  std::int64_t skipped = 0;  // no token usage
  std::int64_t rejected = 0;
};

struct IngestCounters {
  std::int64_t duplicate = 0;
  std::int64_t rejected = 0;
  OtlpSpanCounts otlp;
};

class Storage;

// Thrown by the reads when no store is open (see UsageService::readable): HTTP answers 503.
struct StorageUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class UsageService {
 public:
  // Opens the store and rebuilds the in-memory totals; throws on failure (startup only). When
  // the disk is why the store cannot be opened for writing, it is opened read-only (degraded())
  // and for writing, in the background, once the disk has room. `limits` bound the store's
  // all-time sums (tests lower them).
  explicit UsageService(Config config, Clock clock = system_now_ms, const StoreLimits& limits = {});
  ~UsageService();
  UsageService(const UsageService&) = delete;
  UsageService& operator=(const UsageService&) = delete;

  // Validates, prices and durably stores a body; acknowledges only committed data.
  // `project` set: every record must belong to it (403 otherwise). 503 while degraded().
  Result<IngestOutcome, IngestError> ingest(std::string_view body, BodyFormat format,
                                            const std::optional<std::string>& project = {});
  // Sees the outcome the records will have if each is new (what `done` then gets unless it
  // is an error or counts duplicates), before they are queued.
  using IngestExpect = std::function<void(const IngestOutcome&)>;
  // Gets what ingest() would have returned.
  using IngestDone = std::function<void(Result<IngestOutcome, IngestError>)>;
  // As ingest(), without waiting for the disk: an error found before the records are queued is
  // returned (and neither callback runs); otherwise `expect` runs on this thread, then `done` on a
  // writer thread once the records are durable. Neither may throw.
  std::optional<IngestError> ingest_then(std::string_view body, BodyFormat format,
                                         const std::optional<std::string>& project,
                                         const IngestExpect& expect, IngestDone done);
  // Prices and durably stores records that check_record accepted, each on its own: one that
  // costs too much, reuses an id with other content or would take the store past its bounds is
  // refused with its reason, the others stored. 503 (unavailable) while degraded() or when
  // storage fails.
  Result<RecordsOutcome, IngestError> ingest_records(std::vector<UsageRecord> records);
  // Adds to ai_usage_otlp_spans_total.
  void count_otlp_spans(const OtlpSpanCounts& spans);
  // Why ingest is refused (the store could not be opened for writing); nullopt when it is not.
  std::optional<std::string> degraded() const;
  // Whether the store could be opened at all (else statistics, quota, alerts, cache-hit rate and
  // the usage families of /metrics are unavailable, and must not be called or shown).
  bool readable() const;
  Statistics statistics(const UsageFilter& filter) const;
  // The current `window` of the configured zone; `overrides` replace the configured limits.
  QuotaReport quota(Scope scope, const std::string& subject,
                    const std::optional<QuotaLimits>& overrides = std::nullopt,
                    Window window = Window::month);
  // Without `window`: the subject's window with the highest alert (the month when none alerts).
  SubjectAlert alert(Scope scope, const std::string& subject,
                     const std::optional<QuotaLimits>& overrides = std::nullopt,
                     std::optional<Window> window = std::nullopt);
  // Every configured or seen subject that reached a threshold, once, in its highest window.
  // `only`: the alerts in that window.
  std::vector<SubjectAlert> alerts(std::optional<Window> only = std::nullopt);
  CacheHitRate cache_hit_rate(const UsageFilter& filter) const;
  // Every quota that applies now, in every window (configured subjects and subjects seen).
  std::vector<QuotaReport> quota_reports();

  // What only a restart changes; prices, quotas, auth, [ingest] and [otlp] come from current().
  const StaticConfig& config() const { return config_; }
  std::shared_ptr<const LiveConfig> current() const;
  // Swaps in a checked live configuration, atomically: a request sees the old or the new one.
  void reload(LiveConfig next);
  const MonthCalendar& calendar() const { return calendar_; }
  const Ledger& ledger() const { return ledger_; }
  // The cardinality governor of the usage families (its decisions last the process).
  SeriesFolder& series_folder() { return folder_; }
  // For tests: the store as it is now (replaced once if it was opened read-only).
  const UsageStore& store() const;
  IngestCounters ingest_counters() const;
  // Counts records refused before they reached ingest() (unreadable body, wrong content type).
  void count_rejected(std::int64_t records);
  std::int64_t now_ms() const { return clock_(); }
  // Rolls the month aggregates over when the clock has crossed a month boundary.
  void ensure_current_month();
  // Same for the month and every day or week window a quota uses (others are not tracked).
  void ensure_current_windows();
  // The storage pipeline's own metrics: acknowledgement and flush durations, roll-up backlog.
  std::shared_ptr<prometheus::Collectable> storage_collector();

 private:
  struct Prepared;  // a body's priced records, ready for the writer
  Result<Prepared, IngestError> prepare(std::string_view body, BodyFormat format,
                                        const std::optional<std::string>& project);
  Result<IngestOutcome, IngestError> finish(Prepared& p, std::vector<UsageRecord>& records,
                                            Result<BatchOutcome, WriteError> result);
  StaticConfig config_;
  Clock clock_;
  MonthCalendar calendar_;
  Ledger ledger_;
  SeriesFolder folder_;
  std::unique_ptr<Storage>
      storage_;  // after the ledger: its writer adds to the ledger until stopped
  struct Counters;
  std::unique_ptr<Counters> counters_;
  mutable std::mutex live_mutex_;
  std::shared_ptr<const LiveConfig> live_;
  // Tag quotas' usage by (window, tag key), for the window's `period`: each read adds the records
  // stored since the last (through_seq), from the store; a new period starts from zero.
  struct TagWindow {
    Period period;
    std::int64_t through_seq = 0;
    std::map<std::string, MonthUsage> by_value;
  };
  std::mutex tag_mutex_;
  std::map<std::pair<Window, std::string>, TagWindow> tag_windows_;
  // Runs `fn` on the usage by value of tag `key` in `period` (of `w`), brought up to date.
  void with_tag_usage(Window w, const std::string& key, const Period& period,
                      const std::function<void(const std::map<std::string, MonthUsage>&)>& fn);
};

}  // namespace aiusage
