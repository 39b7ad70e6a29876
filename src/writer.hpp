#pragma once
// Group commit: one thread commits every waiting batch in one transaction, then acknowledges each.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "aiusage/ledger.hpp"
#include "aiusage/store.hpp"

namespace aiusage {

class GroupCommitWriter {
 public:
  // `max_batches` per transaction; 1 gives one transaction per request.
  GroupCommitWriter(Store& store, Ledger& ledger, std::size_t max_batches);
  // Commits what is queued, then stops.
  ~GroupCommitWriter();

  // Blocks until `records` is committed (or refused); duplicates get their stored cost.
  Result<BatchOutcome> submit(std::vector<UsageRecord>& records);
  // Runs `fn` while no commit is between the store and the ledger.
  template <typename Fn>
  void exclusive(Fn&& fn) {
    std::lock_guard lock(commit_mutex_);
    fn();
  }

 private:
  struct Job {
    std::vector<UsageRecord>* records = nullptr;
    std::optional<Result<BatchOutcome>> result;
  };
  void run();

  Store& store_;
  Ledger& ledger_;
  std::size_t max_batches_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::mutex commit_mutex_;
  std::thread thread_;
};

}  // namespace aiusage
