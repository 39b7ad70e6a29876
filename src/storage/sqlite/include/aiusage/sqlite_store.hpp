#pragma once
// The SQLite store (a UsageStore): records in one file; hourly and monthly rollups by series and a
// monthly rollup by label value in a second (`<path>-rollups`), brought up to date after the
// records (roll_up) from their own connection; every read adds the records not yet rolled up, so
// answers are exact at every moment. The rollup file is derived: it is rebuilt when it does not
// match the records. Its checkpoints and roll-ups are its own business (SqliteMaintenance).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "aiusage/storage.hpp"
#include "aiusage/usage_store.hpp"

namespace SQLite {
class Database;
}

namespace aiusage {

class SqliteMaintenance;

// `path` as an SQLite URI opening it for reading only and writing nothing to the disk, not even
// the -shm index (readonly_shm: the WAL is read into private memory). Creates an empty -shm file
// where there is none, which readonly_shm needs (an inode, no data blocks).
std::string sqlite_read_only_uri(const std::string& path);
// Whether `e`, thrown while opening a SqliteStore, was the disk's doing (full, an I/O error): a
// cause worth a read-only fallback and a retry, where any other is a startup error.
bool disk_is_the_cause(const std::exception& e);

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

class SqliteStore final : public UsageStore {
 public:
  // Opens (creating and migrating) the database, or with `read_only` opens it as it is (which
  // needs the current schema); throws on failure.
  explicit SqliteStore(const StoreOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  static constexpr int kSchemaVersion = 10;
  // At most this many per roll-up (~12 MB of sums in memory); the rest follows in the next slice.
  static constexpr std::size_t kRollUpLimit = 65536;
  // No commit for this long counts as idle (time to roll up).
  static constexpr std::chrono::milliseconds kRollUpIdle{20};
  // Past this many WAL frames (16 MiB) the checkpoint thread copies them back; the writer's thread
  // then copies what came meanwhile (after_commit), which is short, so the WAL starts over.
  static constexpr int kCheckpointFrames = 4096;
  // The checkpoint thread repeats (at most kCheckpointRounds times) until at most this many
  // frames are left for the writer's thread.
  static constexpr int kCheckpointLeft = 256;
  static constexpr int kCheckpointRounds = 8;
  // After a checkpoint that left the WAL this long, the next starts once this many more frames
  // were appended.
  static constexpr int kCheckpointRetryFrames = 1024;

  // UsageStore. make_durable() is sync(); after_commit() runs the checkpoint policy (maintenance).
  void resolve_series(std::span<UsageRecord> records) const override;
  Result<std::vector<BatchOutcome>> commit(
      std::span<std::vector<UsageRecord>* const> batches) override;
  void after_commit() override;
  Result<bool> make_durable() override;
  bool flushes() const override { return full_sync_; }
  const StoreLimits& limits() const override { return limits_; }
  std::size_t pending_records() const override { return pending_.load(std::memory_order_relaxed); }
  std::vector<SeriesSums> aggregate(const UsageFilter& filter) const override;
  // Whole months of an unfiltered range come from the label rollup (~1k rows a month), the rest
  // from the series rollups.
  Breakdown breakdown(const UsageFilter& filter) const override;
  // Summed over the monthly rollup.
  std::vector<SeriesSums> series_totals() const override;
  SeriesTable series_table(const UsageFilter& period) const override;
  std::int64_t record_count() const override;
  std::vector<ToolCallTotal> tool_call_totals() const override;
  TagUsage tag_usage(const std::string& key, const Period& period,
                     std::int64_t after_seq) const override;

  // Loads the writer's map of series ids from the series the reader knows (~0.1 s for 100k
  // series) and the all-time totals StoreLimits bounds (from the last all-time read when no
  // commit came since), off the startup path; commit() does it first when not yet done. Any
  // thread; throws SQLite::Exception on failure, and a later call tries again.
  void prepare_writer();
  // Adds up to `max_records` of the oldest durable records (committed, and flushed by sync() with
  // synchronous_full) not yet rolled up to the rollups, in one transaction of the rollup file;
  // returns how many. One thread at a time; it may run while commit() and sync() run.
  Result<std::size_t> roll_up(std::size_t max_records);
  // Makes every commit returned so far durable (fdatasync of the WAL, with synchronous_full).
  // May run on other threads while commit(), roll_up() or another sync() runs.
  Result<bool> sync();
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
  // StoreOptions::kept_limit: at most this many pending records are kept in memory.
  std::size_t kept_limit() const { return kept_limit_; }
  // The last record committed (its seq); grows with every commit that stores a record.
  std::int64_t committed_seq() const { return committed_seq_.load(std::memory_order_relaxed); }
  std::string integrity_check() const;
  // Starts SqliteMaintenance: checkpoints and roll-ups on their own threads (else the caller runs
  // checkpoint(), finish_checkpoint() and roll_up(), as tests do). Once, before any commit.
  void start_maintenance();

 private:
  void open_read_only(const StoreOptions& options);
  SQLite::Database& open_writer(const StoreOptions& options);
  struct Writer;
  struct Reader;
  struct Rollup;
  struct Recent;
  std::atomic<int> wal_frames_{0};
  std::atomic<int> checkpoints_{0};
  std::unique_ptr<SQLite::Database> writer_db_;
  std::unique_ptr<Writer> writer_;
  std::mutex prepare_mutex_;  // prepare_writer() runs once, from any thread
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
  std::unique_ptr<Recent> recent_;                  // committed records not yet rolled up
  std::unique_ptr<SqliteMaintenance> maintenance_;  // last: stopped before the rest closes
};

// Storage's way to the SQLite store: opened with maintenance, read-only on a full disk, retried
// once the directory of `options.path` has kRoomBytes free.
class SqliteBackend final : public StoreBackend {
 public:
  static constexpr std::uint64_t kRoomBytes = std::uint64_t{1} << 20;
  explicit SqliteBackend(StoreOptions options);
  std::unique_ptr<UsageStore> open(const StoreOpened& opened) override;
  std::unique_ptr<UsageStore> open_read_only() override;
  bool disk_is_the_cause(const std::exception& e) const override;
  bool has_room() const override;
  std::string name() const override { return options_.path; }

 private:
  StoreOptions options_;
};

}  // namespace aiusage
