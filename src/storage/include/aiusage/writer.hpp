#pragma once
// Group commit in two stages: one thread commits every waiting batch in one transaction; two sync
// threads make the commits durable (UsageStore::make_durable) and only then acknowledge them, so
// the next commit runs while the disk flushes and need not wait for a slow flush before its own.
// The store's own upkeep (checkpoints, roll-ups) is its business (UsageStore::after_commit).
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/histogram.h>

#include "aiusage/ledger.hpp"
#include "aiusage/usage_store.hpp"

namespace prometheus {
class Collectable;
}

namespace aiusage {

// Starts the message of a batch that was committed but whose flush to disk failed.
inline constexpr std::string_view kUnconfirmed = "committed but not confirmed on disk";

// Why submit() refused a batch; `message` says what failed.
struct WriteError {
  enum class Kind { not_stored, unconfirmed };  // unconfirmed: committed, its flush failed
  Kind kind = Kind::not_stored;
  std::string message;
};
using WriteResult = Result<BatchOutcome, WriteError>;

class GroupCommitWriter {
 public:
  // `max_batches` per transaction; 1 gives one transaction per request.
  GroupCommitWriter(UsageStore& store, Ledger& ledger, std::size_t max_batches);
  // Commits and acknowledges what is queued, then stops.
  ~GroupCommitWriter();

  // Blocks until `records` is committed and durable (or refused); duplicates get their stored
  // cost.
  WriteResult submit(std::vector<UsageRecord>& records);
  // What runs once a queued batch is durable (or refused), on a sync thread, with the batch.
  using Done = std::function<void(std::vector<UsageRecord>& records, WriteResult result)>;
  // As submit(), but returns at once: the writer keeps `records` and calls `done` exactly once
  // (on this thread when it is shutting down). `done` must not throw.
  void submit_then(std::vector<UsageRecord> records, Done done);
  // The pipeline's own metrics for /metrics: acknowledgement and flush durations (histograms), and
  // the records not yet rolled up.
  std::shared_ptr<prometheus::Collectable> collector() const { return collector_; }
  // Runs `fn` while no commit is between the store and the ledger.
  template <typename Fn>
  void exclusive(Fn&& fn) {
    std::lock_guard lock(commit_mutex_);
    {
      std::unique_lock sync_lock(sync_mutex_);
      applied_cv_.wait(sync_lock, [&] { return applied_ == handed_; });
    }
    fn();
  }

 private:
  // Each job is woken alone, through its own condition variable, when its result is set (why:
  // docs/design.md).
  struct Job {
    std::vector<UsageRecord>* records = nullptr;
    std::optional<WriteResult> result;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::chrono::steady_clock::time_point start;  // submitted
    // submit_then(): the job is on the heap and owns its records; `then` replaces the wake-up.
    std::vector<UsageRecord> owned;
    Done then;
  };
  void run();
  void run_sync();
  // Commits `jobs` and hands them to the sync threads, which add them to the ledger.
  void commit(std::vector<Job*>& jobs);
  // Adds the records `jobs` committed to the ledger. The two sync threads may apply batches out of
  // commit order; the ledger's sums do not depend on it.
  void apply(const std::vector<Job*>& jobs);

  UsageStore& store_;
  Ledger& ledger_;
  std::size_t max_batches_;
  prometheus::Histogram ack_seconds_, flush_seconds_;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::mutex commit_mutex_;
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::vector<Job*> committed_;  // awaiting UsageStore::make_durable
  // Jobs handed to the sync threads, and those added to the ledger (under sync_mutex_).
  std::uint64_t handed_ = 0, applied_ = 0;
  std::condition_variable applied_cv_;
  bool committing_done_ = false;
  std::thread thread_;
  // Two: a commit made while one flush runs starts its own flush (docs/design.md).
  std::array<std::thread, 2> sync_threads_;
};

}  // namespace aiusage
