#pragma once
// SQLite ledger: records in one file; hourly and monthly rollups by series and a monthly rollup by
// label value in a second (`<path>-rollups`), brought up to date after the records (roll_up) from
// their own connection; every read adds the records not yet rolled up, so answers are exact at
// every moment. The rollup file is derived: it is rebuilt when it does not match the records.
#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/record.hpp"
#include "aiusage/result.hpp"

namespace SQLite {
class Database;
}

namespace aiusage {

// `path` as an SQLite URI opening it for reading only and writing nothing to the disk, not even
// the -shm index (readonly_shm: the WAL is read into private memory). Creates an empty -shm file
// where there is none, which readonly_shm needs (an inode, no data blocks).
std::string sqlite_read_only_uri(const std::string& path);
// Whether `e`, thrown while opening a Store, was the disk's doing (full, an I/O error): a cause
// worth a read-only fallback and a retry, where any other is a startup error.
bool disk_is_the_cause(const std::exception& e);

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

struct StoreOptions {
  std::string path;
  bool synchronous_full = true;  // sync() flushes the WAL; otherwise it does nothing
  // Committed records kept in memory until rolled up (for roll_up() and reads); past this many
  // they are dropped and read back from the records file instead.
  static constexpr std::size_t kDefaultKept = 262144;
  std::size_t kept_limit = kDefaultKept;
  StoreLimits limits;  // at most kMaxStoreTokens and kMaxStoreCostNanos
  // Opens the files for reads only, writing nothing to the disk (the WAL is read into memory, not
  // through the -shm index): for a full disk. Only the read methods may be called.
  bool read_only = false;
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

class Store {
 public:
  // Opens (creating and migrating) the database, or with `read_only` opens it as it is (which
  // needs the current schema); throws on failure.
  explicit Store(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr int kSchemaVersion = 6;

  // Loads the writer's map of series ids from the series the reader knows (~0.1 s for 100k
  // series) and the all-time totals StoreLimits bounds (from the last all-time read when no
  // commit came since), off the startup path; commit() does it first when not yet done.
  // Same writer; throws SQLite::Exception on failure, and a later call tries again.
  void prepare_writer();
  // Sets each record's series_id when its labels belong to a committed series (else 0), so
  // commit() need not look them up; any thread, at any time.
  void resolve_series(std::span<UsageRecord> records) const;
  // Commits several batches in one transaction, each all-or-nothing; a nonzero series_id must be
  // resolve_series()'s. Duplicates get the stored cost and priced flag copied back. A batch that
  // would take the all-time tokens or cost past StoreLimits is refused (over_limit), checked in
  // commit order against the batches before it. An error means nothing was committed. One writer
  // at a time. Durable once a later sync() returns.
  Result<std::vector<BatchOutcome>> commit(std::span<std::vector<UsageRecord>* const> batches);
  // Adds up to `max_records` of the oldest durable records (committed, and flushed by sync() with
  // synchronous_full) not yet rolled up to the rollups, in one transaction of the rollup file;
  // returns how many. One thread at a time; it may run while commit() and sync() run.
  Result<std::size_t> roll_up(std::size_t max_records);
  // Makes every commit returned so far durable (fdatasync of the WAL, with synchronous_full).
  // May run on other threads while commit(), roll_up() or another sync() runs.
  Result<bool> sync();
  const StoreLimits& limits() const { return limits_; }
  // Whether sync() flushes (synchronous_full).
  bool flushes() const { return full_sync_; }
  // Checkpoints never run inside a commit. checkpoint() copies the WAL into the database from its
  // own connection without blocking commits (any one thread); finish_checkpoint() copies what was
  // appended meanwhile from the writer's thread, so the WAL starts over at the next commit. Both
  // return the frames left to copy (appended meanwhile), -1 when another checkpoint was running.
  Result<int> checkpoint();
  Result<int> finish_checkpoint();
  // Frames in the WAL after the last commit.
  int wal_frames() const { return wal_frames_.load(std::memory_order_relaxed); }
  // checkpoint() and finish_checkpoint() calls so far.
  int checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  // Records committed but not yet rolled up.
  std::size_t pending_records() const { return pending_.load(std::memory_order_relaxed); }
  // StoreOptions::kept_limit: at most this many pending records are kept in memory.
  std::size_t kept_limit() const { return kept_limit_; }
  // The last record committed (its seq); grows with every commit that stores a record.
  std::int64_t committed_seq() const { return committed_seq_.load(std::memory_order_relaxed); }

  // Sums by series over records matching `filter`, in key order; exact for any range.
  std::vector<SeriesSums> aggregate(const UsageFilter& filter) const;
  // The same sums folded by label; whole months of an unfiltered range come from the label
  // rollup (~1k rows a month), the rest from the series rollups.
  Breakdown breakdown(const UsageFilter& filter) const;
  // All-time sums by series (summed over the monthly rollup), in no particular order.
  std::vector<SeriesSums> series_totals() const;
  // The all-time sums and those of records matching `period`, by series; rows whose all-time
  // and period calls are both 0 are left out.
  SeriesTable series_table(const UsageFilter& period) const;
  std::int64_t record_count() const;
  std::string integrity_check() const;

 private:
  void open_read_only(const StoreOptions& options);
  struct Writer;
  struct Reader;
  struct Rollup;
  struct Recent;
  std::atomic<int> wal_frames_{0};
  std::atomic<int> checkpoints_{0};
  std::unique_ptr<SQLite::Database> writer_db_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<Rollup> rollup_;
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::int64_t> committed_seq_{0}, synced_seq_{0};
  bool full_sync_ = true;
  std::size_t kept_limit_ = StoreOptions::kDefaultKept;
  StoreLimits limits_;
  std::string wal_path_;
  std::mutex sync_mutex_;
  int wal_fd_ = -1;
  mutable std::mutex reader_mutex_;
  std::unique_ptr<Reader> reader_;
  std::unique_ptr<SQLite::Database> checkpoint_db_;
  std::unique_ptr<Recent> recent_;  // committed records not yet rolled up
};

// First instant of the UTC calendar month that contains `ms`, and of the next month.
std::int64_t floor_utc_month(std::int64_t ms);
std::int64_t next_utc_month(std::int64_t month_start_ms);

}  // namespace aiusage
