#pragma once
// Group commit in two stages: one thread commits every waiting batch in one transaction; two sync
// threads make the commits durable (Store::sync) and only then acknowledge them, so the next
// commit runs while the disk flushes and need not wait for a slow flush before its own. Another
// thread copies the WAL back into the database (Store::checkpoint); one more brings the rollups up
// to date in large slices (Store::roll_up, its own file and lock).
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/histogram.h>

#include "aiusage/ledger.hpp"
#include "aiusage/store.hpp"

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
  GroupCommitWriter(Store& store, Ledger& ledger, std::size_t max_batches);
  // Commits and acknowledges what is queued, rolls up what is pending, then stops.
  ~GroupCommitWriter();

  // At most this many per roll-up (~12 MB of sums in memory); the rest follows in the next slice.
  static constexpr std::size_t kRollUpLimit = 65536;
  // Past this many WAL frames (16 MiB) the checkpoint thread copies them back; the writer then
  // copies what came meanwhile, which is short, so the WAL starts over.
  static constexpr int kCheckpointFrames = 4096;
  // The checkpoint thread repeats (at most kCheckpointRounds times) until at most this many
  // frames are left for the writer.
  static constexpr int kCheckpointLeft = 256;
  static constexpr int kCheckpointRounds = 8;
  // After a checkpoint that left the WAL this long, the next starts once this many more frames
  // were appended.
  static constexpr int kCheckpointRetryFrames = 1024;
  // No commit for this long counts as idle.
  static constexpr std::chrono::milliseconds kRollUpIdle{20};

  // Blocks until `records` is committed and durable (or refused); duplicates get their stored
  // cost.
  WriteResult submit(std::vector<UsageRecord>& records);
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
  };
  void run();
  void run_sync();
  // Commits `jobs` and hands them to the sync threads, which add them to the ledger.
  void commit(std::vector<Job*>& jobs);
  // Adds the records `jobs` committed to the ledger. The two sync threads may apply batches out of
  // commit order; the ledger's sums do not depend on it.
  void apply(const std::vector<Job*>& jobs);
  void run_roll_ups();
  void run_checkpoints();
  // After a commit: starts a background checkpoint, or finishes one that is done.
  void checkpoint_step();

  Store& store_;
  Ledger& ledger_;
  std::size_t max_batches_;
  // Rolls up when no commit came for kRollUpIdle, or once this many records are pending (3/4 of
  // what the store keeps in memory): a burst is stored first and rolled up after, in large
  // slices that update each rollup page once for many records. Reads add pending records kept
  // in memory (~100 bytes each).
  const std::size_t roll_up_at_;
  prometheus::Histogram ack_seconds_, flush_seconds_;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::mutex commit_mutex_;
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::vector<Job*> committed_;  // awaiting Store::sync
  // Jobs handed to the sync threads, and those added to the ledger (under sync_mutex_).
  std::uint64_t handed_ = 0, applied_ = 0;
  std::condition_variable applied_cv_;
  bool committing_done_ = false;
  enum class Checkpoint { idle, running, done };
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  Checkpoint checkpoint_ = Checkpoint::idle;
  // WAL frames at which the next checkpoint starts (writer's thread only): a reader's snapshot
  // can keep a checkpoint from reaching the WAL's end, and retrying at once would spin.
  int checkpoint_at_ = kCheckpointFrames;
  bool checkpoint_stop_ = false;
  std::mutex rollup_mutex_;
  std::condition_variable rollup_cv_;
  bool rollup_wanted_ = false;
  bool rollup_stop_ = false;
  std::thread thread_;
  // Two: a commit made while one flush runs starts its own flush (docs/design.md).
  std::array<std::thread, 2> sync_threads_;
  std::thread checkpoint_thread_;
  std::thread rollup_thread_;
};

}  // namespace aiusage
