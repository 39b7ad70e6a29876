#include "aiusage/service.hpp"

#include <atomic>
#include <map>

#include "aiusage/digest.hpp"
#include "aiusage/sqlite_store.hpp"
#include "aiusage/storage.hpp"
#include "aiusage/utf8.hpp"
#include "aiusage/writer.hpp"
#include "service_detail.hpp"

namespace aiusage {

using service_detail::month_filter;
using service_detail::reading;

struct UsageService::Counters {
  std::atomic<std::int64_t> duplicate{0};
  std::atomic<std::int64_t> rejected{0};
  std::atomic<std::int64_t> otlp_stored{0}, otlp_duplicate{0}, otlp_skipped{0}, otlp_rejected{0};
};

namespace {

MonthCalendar calendar_or_throw(const std::string& tz) {
  auto cal = MonthCalendar::make(tz);
  if (!cal) throw std::runtime_error(cal.error().message);
  return *cal;
}

// The 422 of a batch the store refused: storing it would take an all-time total past its limit.
IngestError over_limit(const BatchOutcome& o, const StoreLimits& limits,
                       const std::string& currency) {
  const bool tokens = o.over_limit == BatchOutcome::Total::tokens;
  const std::string message =
      "would take the store's all-time " +
      (tokens ? "tokens past " + std::to_string(limits.tokens)
              : "cost past " + format_nanos(limits.cost, 0) + " " + currency) +
      ", the most it can hold";
  return IngestError{
      IngestErrorKind::over_capacity,
      "record " + std::to_string(o.over_limit_index) + " " + message + "; nothing was stored",
      {{o.over_limit_index, tokens ? "usage" : "cost", message}},
      std::nullopt};
}

std::string too_costly(const LiveConfig& live) {
  return "costs more than " + format_nanos(kMaxRecordCostNanos, 0) + " " +
         live.prices.billing_currency() + ", the most one record may cost";
}

// Gives each record an id (when it has none), its cost, whether it and each tool call was priced
// and, in `notes` when given, which price applied; returns the records refused: those that cost
// more than one record may and, under [billing] unknown_models = "reject", those without a price.
std::vector<FieldError> price(std::vector<UsageRecord>& records, const LiveConfig& live,
                              std::vector<std::optional<PriceNote>>* notes = nullptr) {
  std::vector<FieldError> refused;
  if (notes) notes->resize(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    UsageRecord& r = records[i];
    if (r.id.empty()) r.id = make_uuid();
    CostQuote q = live.prices.quote_call(r.provider, r.model, r.timestamp_ms, r.billing());
    if (q.too_large && !r.cached) refused.push_back({i, "usage", too_costly(live)});
    if (!q.priced && live.reject_unknown_models)
      refused.push_back({i, "model",
                         "no price for " + r.provider + "/" + r.model +
                             " and [billing] unknown_models is \"reject\""});
    r.cost = r.cached ? 0 : q.cost;
    r.priced = q.priced;
    for (ToolCall& t : r.tool_calls) t.priced = q.priced;
    for (std::size_t k : q.unpriced_tools) r.tool_calls[k].priced = false;
    if (notes) (*notes)[i] = price_note(q, r.service_tier);
  }
  return refused;
}

// Gives each record the tags its usage series is kept by: those of [metrics] tag_labels.
void label_tags(std::vector<UsageRecord>& records, const LabelSet& labels) {
  if (labels.tags.empty()) return;
  for (UsageRecord& r : records) r.series_tags = series_tags(r.tags, labels.tags);
}

IngestError write_failed(const WriteError& e) {
  return IngestError{IngestErrorKind::unavailable,
                     std::string("storage unavailable, ") +
                         (e.kind == WriteError::Kind::unconfirmed
                              ? "the batch may be stored; retry it with the same ids: "
                              : "nothing was stored: ") +
                         e.message,
                     {},
                     std::nullopt};
}

IngestError read_only(const Storage& storage) {
  return IngestError{IngestErrorKind::unavailable,
                     "storage unavailable, nothing was stored: the store is read-only until the "
                     "disk has room (" +
                         storage.degraded() + ")",
                     {},
                     std::nullopt};
}

// Keys that are not valid UTF-8 (stored by earlier versions) as to_valid_utf8() makes them, the
// sums of keys then equal added up.
void with_valid_keys(std::map<std::string, UsageSums>& sums) {
  for (auto it = sums.begin(); it != sums.end();) {
    if (valid_utf8(it->first)) {
      ++it;
      continue;
    }
    auto node = sums.extract(it++);
    sums[to_valid_utf8(node.key())] += node.mapped();
  }
}

}  // namespace

UsageService::UsageService(Config config, Clock clock, const StoreLimits& limits)
    : config_(std::move(static_cast<StaticConfig&>(config))),
      clock_(std::move(clock)),
      calendar_(calendar_or_throw(config_.timezone)),
      ledger_(config_.labels),
      folder_(config_.series_limits),
      counters_(std::make_unique<Counters>()) {
  // The ledger is rebuilt from every store opened: at startup, and when a read-only one is
  // reopened for writing.
  storage_ = std::make_unique<Storage>(
      std::make_unique<SqliteBackend>(StoreOptions{.path = config_.storage_path,
                                                   .synchronous_full = config_.synchronous_full,
                                                   .limits = limits}),
      ledger_, config_.group_commit ? 4096 : 1, [this](const UsageStore& store) {
        Period month = calendar_.month_of(clock_());
        ledger_.reset(store.series_table(month_filter(month)), month);
        ledger_.reset_tools(store.tool_call_totals());
      });
  live_ = std::make_shared<const LiveConfig>(std::move(static_cast<LiveConfig&>(config)));
}

const UsageStore& UsageService::store() const { return *storage_->read(); }

std::optional<std::string> UsageService::degraded() const {
  if (storage_->writer() != nullptr) return std::nullopt;
  return storage_->degraded();
}

bool UsageService::readable() const { return static_cast<bool>(storage_->read()); }

std::shared_ptr<const LiveConfig> UsageService::current() const {
  std::lock_guard lock(live_mutex_);
  return live_;
}

void UsageService::reload(LiveConfig next) {
  auto fresh = std::make_shared<const LiveConfig>(std::move(next));
  std::lock_guard lock(live_mutex_);
  live_ = std::move(fresh);
}

UsageService::~UsageService() = default;

struct UsageService::Prepared {
  GroupCommitWriter* writer = nullptr;
  std::shared_ptr<const LiveConfig> live;
  std::vector<UsageRecord> records;
  std::vector<std::optional<PriceNote>> notes;
};

Result<UsageService::Prepared, IngestError> UsageService::prepare(
    std::string_view body, BodyFormat format, const std::optional<std::string>& project) {
  Prepared p;
  p.writer = storage_->writer();
  if (p.writer == nullptr) {
    counters_->rejected += 1;  // refused before its records were read
    return read_only(*storage_);
  }
  const std::int64_t now = clock_();
  p.live = current();
  auto parsed = parse_usage_body(body, format, IngestPolicy{now, p.live->window, project});
  if (!parsed) {
    counters_->rejected += static_cast<std::int64_t>(parsed.error().records);
    return parsed.error();
  }
  p.records = std::move(*parsed);
  std::vector<FieldError> refused = price(p.records, *p.live, &p.notes);
  if (!refused.empty()) {
    counters_->rejected += static_cast<std::int64_t>(p.records.size());
    return IngestError{IngestErrorKind::invalid,
                       std::to_string(refused.size()) + " of " + std::to_string(p.records.size()) +
                           " records are invalid; nothing was stored",
                       std::move(refused), std::nullopt, p.records.size()};
  }
  label_tags(p.records, config_.labels);
  storage_->writable_store()->resolve_series(p.records);  // on the request's thread
  return p;
}

Result<IngestOutcome, IngestError> UsageService::finish(Prepared& p,
                                                        std::vector<UsageRecord>& records,
                                                        Result<BatchOutcome, WriteError> result) {
  if (!result) {
    counters_->rejected += static_cast<std::int64_t>(records.size());
    return write_failed(result.error());
  }
  const BatchOutcome& o = *result;
  if (o.conflict) {
    counters_->rejected += static_cast<std::int64_t>(records.size());
    const std::string& id = records[o.conflict_index].id;
    return IngestError{
        IngestErrorKind::id_conflict,
        "id \"" + id +
            "\" was already used for a record with different content; nothing was stored",
        {{o.conflict_index, "id", "already used for a record with different content"}},
        std::nullopt};
  }
  if (o.over_limit != BatchOutcome::Total::none) {
    counters_->rejected += static_cast<std::int64_t>(records.size());
    return over_limit(o, storage_->writable_store()->limits(), p.live->prices.billing_currency());
  }
  IngestOutcome out;
  out.duplicate = o.duplicate;
  for (bool d : o.duplicate) (d ? out.duplicates : out.accepted)++;
  counters_->duplicate += static_cast<std::int64_t>(out.duplicates);
  out.records = std::move(records);
  out.pricing = std::move(p.notes);
  return out;
}

Result<IngestOutcome, IngestError> UsageService::ingest(std::string_view body, BodyFormat format,
                                                        const std::optional<std::string>& project) {
  auto p = prepare(body, format, project);
  if (!p) return p.error();
  auto result = p->writer->submit(p->records);
  return finish(*p, p->records, std::move(result));
}

std::optional<IngestError> UsageService::ingest_then(std::string_view body, BodyFormat format,
                                                     const std::optional<std::string>& project,
                                                     const IngestExpect& expect, IngestDone done) {
  auto p = prepare(body, format, project);
  if (!p) return p.error();
  IngestOutcome if_new;  // the records and notes lent to `expect`, then taken back
  if_new.records = std::move(p->records);
  if_new.pricing = std::move(p->notes);
  if_new.duplicate.assign(if_new.records.size(), false);
  if_new.accepted = if_new.records.size();
  expect(if_new);
  p->notes = std::move(if_new.pricing);
  GroupCommitWriter* writer = p->writer;
  writer->submit_then(std::move(if_new.records),
                      [this, prep = std::move(*p), done = std::move(done)](
                          std::vector<UsageRecord>& stored, WriteResult result) mutable {
                        done(finish(prep, stored, std::move(result)));
                      });
  return std::nullopt;
}

Result<RecordsOutcome, IngestError> UsageService::ingest_records(std::vector<UsageRecord> records) {
  GroupCommitWriter* writer = storage_->writer();
  if (writer == nullptr) {
    counters_->rejected += static_cast<std::int64_t>(records.size());
    return read_only(*storage_);
  }
  const std::shared_ptr<const LiveConfig> live = current();
  RecordsOutcome out;
  out.refused.resize(records.size());
  out.duplicate.resize(records.size());
  for (const FieldError& e : price(records, *live))
    if (out.refused[e.index].empty()) out.refused[e.index] = e.field + ": " + e.message;
  // The batch is what is left; a record the store refuses leaves it and the rest is submitted
  // again (the store commits all of a batch or nothing).
  label_tags(records, config_.labels);
  std::vector<std::size_t> at;
  std::vector<UsageRecord> batch;
  for (std::size_t i = 0; i < records.size(); ++i)
    if (out.refused[i].empty()) at.push_back(i), batch.push_back(std::move(records[i]));
  const std::string currency = live->prices.billing_currency();
  while (!batch.empty()) {
    storage_->writable_store()->resolve_series(batch);
    auto result = writer->submit(batch);
    if (!result) {
      counters_->rejected += static_cast<std::int64_t>(records.size());
      return write_failed(result.error());
    }
    const BatchOutcome& o = *result;
    if (!o.refused()) {  // the records move back to their places
      for (std::size_t k = 0; k < batch.size(); ++k) {
        out.duplicate[at[k]] = o.duplicate[k];
        records[at[k]] = std::move(batch[k]);
      }
      break;
    }
    const std::size_t k = o.conflict ? o.conflict_index : o.over_limit_index;
    out.refused[at[k]] =
        o.conflict
            ? "id \"" + batch[k].id + "\" was already used for a record with different content"
            : over_limit(o, storage_->writable_store()->limits(), currency).details[0].message;
    records[at[k]] = std::move(batch[k]);
    at.erase(at.begin() + static_cast<std::ptrdiff_t>(k));
    batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(k));
  }
  for (std::size_t i = 0; i < records.size(); ++i)
    (!out.refused[i].empty() ? out.rejected : out.duplicate[i] ? out.duplicates : out.accepted)++;
  counters_->duplicate += static_cast<std::int64_t>(out.duplicates);
  counters_->rejected += static_cast<std::int64_t>(out.rejected);
  out.records = std::move(records);
  return out;
}

void UsageService::count_otlp_spans(const OtlpSpanCounts& spans) {
  counters_->otlp_stored += spans.stored;
  counters_->otlp_duplicate += spans.duplicate;
  counters_->otlp_skipped += spans.skipped;
  counters_->otlp_rejected += spans.rejected;
}

namespace service_detail {

UsageFilter month_filter(Period p) {
  UsageFilter f;
  f.start_ms = p.start_ms;
  f.end_ms = p.end_ms;
  return f;
}

Storage::Reading reading(const Storage& storage) {
  Storage::Reading store = storage.read();
  if (!store) throw StorageUnavailable("storage unavailable: " + storage.degraded());
  return store;
}

}  // namespace service_detail

Statistics UsageService::statistics(const UsageFilter& filter) const {
  Statistics s = reading(*storage_)->breakdown(filter);
  for (auto* by : {&s.by_provider, &s.by_model, &s.by_project, &s.by_user}) with_valid_keys(*by);
  return s;
}

CacheHitRate UsageService::cache_hit_rate(const UsageFilter& filter) const {
  CacheHitRate c;
  const UsageSums total = reading(*storage_)->breakdown(filter).total;
  c.hits = total.cache_hits;
  c.total = total.calls;
  c.rate = c.total == 0 ? 0.0 : static_cast<double>(c.hits) / static_cast<double>(c.total);
  return c;
}

void UsageService::count_rejected(std::int64_t records) { counters_->rejected += records; }

IngestCounters UsageService::ingest_counters() const {
  return {counters_->duplicate.load(),
          counters_->rejected.load(),
          {counters_->otlp_stored.load(), counters_->otlp_duplicate.load(),
           counters_->otlp_skipped.load(), counters_->otlp_rejected.load()}};
}

std::shared_ptr<prometheus::Collectable> UsageService::storage_collector() {
  return storage_->collector();
}

}  // namespace aiusage
