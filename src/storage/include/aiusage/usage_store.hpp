#pragma once
// The storage seam: what the service, the group-commit writer, the ledger and the metrics need of
// a store of usage records. A backend (src/storage/sqlite) keeps its own mechanics behind it (its
// files, flushes, checkpoints, roll-ups and their threads); Storage opens one through a
// StoreBackend (storage.hpp).
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/money.hpp"
#include "aiusage/quota.hpp"
#include "aiusage/record.hpp"
#include "aiusage/result.hpp"

namespace aiusage {

// Bounds on the store's all-time sums, which commit() enforces. A record's tokens and cost are
// never negative, so every other sum (a series, subject, month, rollup row, query) is at most
// these; a read adds and subtracts rollup pieces of three levels and the records not rolled up, so
// its running sums stay within 3 × 2e18 < INT64_MAX (9.22e18). Quota arithmetic on them is 128-bit.
inline constexpr std::int64_t kMaxStoreTokens = 2'000'000'000'000'000'000;
inline constexpr Nanos kMaxStoreCostNanos = 2'000'000'000'000'000'000;  // 2e9 units
struct StoreLimits {
  std::int64_t tokens = kMaxStoreTokens;  // Σ promptTokens + completionTokens, cached included
  Nanos cost = kMaxStoreCostNanos;        // Σ cost in the billing currency
};

struct BatchOutcome {
  bool conflict = false;             // an id was reused with other content: nothing stored
  std::size_t conflict_index = 0;    // the offending record
  std::vector<bool> duplicate;       // per record: already stored with the same content
  std::vector<std::int64_t> series;  // per record stored: its series id (0 when not stored)
  // Which all-time total storing the batch would take past its StoreLimits bound (nothing was
  // stored), and the record at which it would.
  enum class Total { none, tokens, cost };
  Total over_limit = Total::none;
  std::size_t over_limit_index = 0;
  bool refused() const { return conflict || over_limit != Total::none; }
};

// Billed tokens and cost by value of one tag, of the records numbered after some point.
struct TagUsage {
  std::map<std::string, MonthUsage> by_value;
  std::int64_t through_seq = 0;  // the newest record of the snapshot read: the next call's start
};

class UsageStore {
 public:
  virtual ~UsageStore() = default;

  // Sets each record's series_id when its labels belong to a committed series (else 0), so
  // commit() need not look them up; any thread, at any time.
  virtual void resolve_series(std::span<UsageRecord> records) const = 0;
  // Commits several batches in one transaction, each all-or-nothing; a nonzero series_id must be
  // resolve_series()'s. Duplicates get the stored cost and priced flag copied back. A batch that
  // would take the all-time tokens or cost past limits() is refused (over_limit), checked in
  // commit order against the batches before it. An error means nothing was committed. One writer
  // at a time. Durable only once a make_durable() that began after it returns.
  virtual Result<std::vector<BatchOutcome>> commit(
      std::span<std::vector<UsageRecord>* const> batches) = 0;
  // Called on the writer's thread after each commit was handed on, while no commit runs: the
  // backend's own upkeep of its write path, if any (it decides what and when).
  virtual void after_commit() {}
  // Makes every commit returned so far durable; nothing may be acknowledged before it returns.
  // May run on other threads while commit() or another make_durable() runs.
  virtual Result<bool> make_durable() = 0;
  // Whether make_durable() waits for the disk (the writer then times it).
  virtual bool flushes() const = 0;
  virtual const StoreLimits& limits() const = 0;
  // Records committed but not yet in the backend's summaries (reads count them all the same).
  virtual std::size_t pending_records() const = 0;

  // Sums by series over records matching `filter` (which names no tags), in key order; exact for
  // any range.
  virtual std::vector<SeriesSums> aggregate(const UsageFilter& filter) const = 0;
  // The same sums folded by label; the filter's tags too, and by one tag's value when by_tag.
  virtual Breakdown breakdown(const UsageFilter& filter) const = 0;
  // All-time sums by series, in no particular order.
  virtual std::vector<SeriesSums> series_totals() const = 0;
  // The all-time sums and those of records matching `period`, by series; rows whose all-time
  // and period calls are both 0 are left out.
  virtual SeriesTable series_table(const UsageFilter& period) const = 0;
  virtual std::int64_t record_count() const = 0;
  // The billed usage (non-cached prompt + completion tokens, cost) by value of tag `key` of the
  // records after `after_seq` (record numbers only grow) with a time in `period`: called again
  // with through_seq, it adds exactly the records committed since.
  virtual TagUsage tag_usage(const std::string& key, const Period& period,
                             std::int64_t after_seq) const = 0;
  // All-time tool calls of records not answered from the cache, by provider, model and tool.
  virtual std::vector<ToolCallTotal> tool_call_totals() const = 0;
};

}  // namespace aiusage
