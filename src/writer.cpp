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
  std::unique_lock lock(mutex_);
  if (stopping_) return Error{"shutting down"};
  queue_.push_back(&job);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.result.has_value(); });
  return std::move(*job.result);
}

void GroupCommitWriter::run() {
  for (;;) {
    std::vector<Job*> jobs;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      while (!queue_.empty() && jobs.size() < max_batches_) {
        jobs.push_back(queue_.front());
        queue_.pop_front();
      }
    }
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
    {
      std::lock_guard lock(mutex_);
      for (std::size_t b = 0; b < jobs.size(); ++b) jobs[b]->result = std::move(results[b]);
    }
    done_cv_.notify_all();
  }
}

}  // namespace aiusage
