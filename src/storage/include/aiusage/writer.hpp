#pragma once
// Leader/follower group commit, on the submitting threads themselves: the first waiting request
// becomes the leader, commits every waiting batch in one transaction, hands the leadership on,
// then makes the commit durable (UsageStore::make_durable) and acknowledges every batch of it; the
// next leader commits while that flush runs. No thread of its own, no hand-off to one.
// The store's own upkeep (checkpoints, roll-ups) is its business (UsageStore::after_commit).
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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
  // Refuses new batches and waits until every submitted one is acknowledged.
  ~GroupCommitWriter();

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
  // Each job is woken alone, through its own condition variable (on mutex_), when it is to lead
  // or its result is set (why: docs/design.md).
  struct Job {
    std::vector<UsageRecord>* records = nullptr;
    std::optional<WriteResult> result;
    std::condition_variable cv;
    bool taken = false;  // by a leader, into its commit
    bool done = false;
    std::chrono::steady_clock::time_point start;  // submitted
  };
  // As the leader: commits up to max_batches_ queued jobs, hands the leadership on, flushes,
  // adds the records to the ledger and acknowledges the jobs. Called and returns with `lock` held.
  void lead(std::unique_lock<std::mutex>& lock);
  // Adds the records `jobs` committed to the ledger. Leaders may apply batches out of commit
  // order; the ledger's sums do not depend on it.
  void apply(const std::vector<Job*>& jobs);

  UsageStore& store_;
  Ledger& ledger_;
  std::size_t max_batches_;
  prometheus::Histogram ack_seconds_, flush_seconds_;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::mutex mutex_;           // queue_, leading_, in_flight_, stopping_ and every Job's flags
  std::deque<Job*> queue_;     // submitted, not yet taken by a leader
  bool leading_ = false;       // a leader is committing
  std::size_t in_flight_ = 0;  // jobs submitted and not yet acknowledged
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  std::mutex commit_mutex_;
  std::mutex sync_mutex_;
  // Jobs committed, and those added to the ledger (under sync_mutex_).
  std::uint64_t handed_ = 0, applied_ = 0;
  std::condition_variable applied_cv_;
};

}  // namespace aiusage
