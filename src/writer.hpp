#pragma once
// Group commit: one thread commits every waiting batch in one transaction, then acknowledges each;
// between commits it brings the store's rollups up to date (Store::roll_up).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <semaphore>
#include <thread>
#include <vector>

#include "aiusage/ledger.hpp"
#include "aiusage/store.hpp"

namespace aiusage {

class GroupCommitWriter {
 public:
  // `max_batches` per transaction; 1 gives one transaction per request.
  GroupCommitWriter(Store& store, Ledger& ledger, std::size_t max_batches);
  // Commits what is queued, rolls up what is pending, then stops.
  ~GroupCommitWriter();

  // Rolls up once this many records are pending, even while requests wait; each roll-up
  // transaction takes at most kRollUpMax records.
  static constexpr std::size_t kRollUpAt = 32768;
  static constexpr std::size_t kRollUpMax = 65536;
  // Rolls up everything pending once no request came for this long.
  static constexpr std::chrono::milliseconds kRollUpIdle{50};

  // Blocks until `records` is committed (or refused); duplicates get their stored cost.
  Result<BatchOutcome> submit(std::vector<UsageRecord>& records);
  // Runs `fn` while no commit is between the store and the ledger.
  template <typename Fn>
  void exclusive(Fn&& fn) {
    std::lock_guard lock(commit_mutex_);
    fn();
  }

 private:
  // Each job is woken alone when its result is set: waking every waiting request per commit
  // costs a context switch each, which dominated CPU under 32 concurrent single-record posts.
  struct Job {
    std::vector<UsageRecord>* records = nullptr;
    std::optional<Result<BatchOutcome>> result;
    std::binary_semaphore done{0};
  };
  void run();
  // Commits `jobs` and acknowledges each.
  void commit(std::vector<Job*>& jobs);

  Store& store_;
  Ledger& ledger_;
  std::size_t max_batches_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::mutex commit_mutex_;
  std::thread thread_;
};

}  // namespace aiusage
