#include "writer.hpp"

namespace aiusage {

GroupCommitWriter::GroupCommitWriter(Store& store, Ledger& ledger, std::size_t max_batches)
    : store_(store), ledger_(ledger), max_batches_(max_batches == 0 ? 1 : max_batches) {
  thread_ = std::thread([this] { run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

Result<BatchOutcome> GroupCommitWriter::submit(std::vector<UsageRecord>& records) {
  Job job;
  job.records = &records;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Error{"shutting down"};
    queue_.push_back(&job);
  }
  work_cv_.notify_one();
  job.done.acquire();
  return std::move(*job.result);
}

void GroupCommitWriter::run() {
  for (;;) {
    std::vector<Job*> jobs;
    {
      std::unique_lock lock(mutex_);
      auto woken = [&] { return stopping_ || !queue_.empty(); };
      if (store_.pending_records() == 0)
        work_cv_.wait(lock, woken);
      else
        work_cv_.wait_for(lock, kRollUpIdle, woken);
      while (!queue_.empty() && jobs.size() < max_batches_) {
        jobs.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    if (jobs.empty()) {
      // Idle, or stopping with nothing queued: roll up all that is pending. A failure (disk
      // full) loses nothing; reads count pending records from the records table.
      std::lock_guard commit_lock(commit_mutex_);
      while (store_.pending_records() > 0) {
        auto n = store_.roll_up(kRollUpMax);
        if (!n || *n == 0) break;
      }
      std::lock_guard lock(mutex_);
      if (stopping_ && queue_.empty()) return;
      continue;
    }
    commit(jobs);
    if (store_.pending_records() >= kRollUpAt) {
      std::lock_guard commit_lock(commit_mutex_);
      (void)store_.roll_up(kRollUpMax);
    }
  }
}

void GroupCommitWriter::commit(std::vector<Job*>& jobs) {
  std::vector<std::vector<UsageRecord>*> batches;
  for (Job* j : jobs) batches.push_back(j->records);
  std::vector<std::optional<Result<BatchOutcome>>> results(jobs.size());
  {
    std::lock_guard commit_lock(commit_mutex_);
    auto outcome = store_.commit(batches);
    if (!outcome) {
      for (auto& r : results) r = Result<BatchOutcome>(outcome.error());
    } else {
      std::vector<const UsageRecord*> committed;
      for (std::size_t b = 0; b < jobs.size(); ++b) {
        const BatchOutcome& o = (*outcome)[b];
        if (!o.conflict)
          for (std::size_t i = 0; i < batches[b]->size(); ++i)
            if (!o.duplicate[i]) committed.push_back(&(*batches[b])[i]);
        results[b] = Result<BatchOutcome>(o);
      }
      ledger_.apply(committed);
    }
  }
  for (std::size_t b = 0; b < jobs.size(); ++b) {
    jobs[b]->result = std::move(results[b]);
    jobs[b]->done.release();
  }
}

}  // namespace aiusage
