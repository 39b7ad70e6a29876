#include "aiusage/writer.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <pthread.h>

#include "aiusage/stop_thread.hpp"

namespace aiusage {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

class StorageCollector : public prometheus::Collectable {
 public:
  StorageCollector(const prometheus::Histogram& ack, const prometheus::Histogram& flush,
                   const UsageStore& store)
      : ack_(ack), flush_(flush), store_(store) {}

  std::vector<MetricFamily> Collect() const override {
    MetricFamily ack{"ai_usage_ingest_ack_duration_seconds",
                     "Time a request's records spent in the writer (queue, commit, flush) until "
                     "acknowledged or refused.",
                     MetricType::Histogram,
                     {ack_.Collect()}};
    MetricFamily pending{"ai_usage_rollup_pending_records",
                         "Records stored but not yet rolled up; reads add them, kept in memory or "
                         "from the records file.",
                         MetricType::Gauge,
                         {}};
    pending.metric.emplace_back().gauge.value = static_cast<double>(store_.pending_records());
    MetricFamily flush{"ai_usage_store_flush_duration_seconds",
                       "Duration of each WAL flush (fdatasync) acknowledgements wait for.",
                       MetricType::Histogram,
                       {flush_.Collect()}};
    return {std::move(ack), std::move(pending), std::move(flush)};
  }

 private:
  const prometheus::Histogram& ack_;
  const prometheus::Histogram& flush_;
  const UsageStore& store_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(UsageStore& store, Ledger& ledger, std::size_t max_batches)
    : store_(store),
      ledger_(ledger),
      max_batches_(max_batches == 0 ? 1 : max_batches),
      ack_seconds_({.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
      flush_seconds_({.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}),
      collector_(std::make_shared<StorageCollector>(ack_seconds_, flush_seconds_, store_)) {
  // Named for top -H and perf.
  for (std::thread& t : sync_threads_)
    t = std::thread([this] {
      pthread_setname_np(pthread_self(), "aiusage-sync");
      run_sync();
    });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-writer");
    run();
  });
}

GroupCommitWriter::~GroupCommitWriter() {
  // In this order: the writer commits what is queued, the sync threads acknowledge it.
  stop_thread(mutex_, work_cv_, stopping_, thread_);
  for (std::thread& t : sync_threads_) stop_thread(sync_mutex_, sync_cv_, committing_done_, t);
}

WriteResult GroupCommitWriter::submit(std::vector<UsageRecord>& records) {
  Job job;
  job.records = &records;
  job.start = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return WriteError{WriteError::Kind::not_stored, "shutting down"};
    queue_.push_back(&job);
  }
  work_cv_.notify_one();
  std::unique_lock lock(job.mutex);
  job.cv.wait(lock, [&] { return job.done; });
  return std::move(*job.result);
}

void GroupCommitWriter::submit_then(std::vector<UsageRecord> records, Done done) {
  auto job = std::make_unique<Job>();
  job->owned = std::move(records);
  job->records = &job->owned;
  job->then = std::move(done);
  job->start = std::chrono::steady_clock::now();
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(job.get());
      queued = true;
    }
  }
  if (!queued)
    return job->then(job->owned, WriteError{WriteError::Kind::not_stored, "shutting down"});
  (void)job.release();  // the sync thread that runs `done` deletes it
  work_cv_.notify_one();
}

void GroupCommitWriter::run() {
  for (;;) {
    std::vector<Job*> jobs;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      while (!queue_.empty() && jobs.size() < max_batches_) {
        jobs.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    commit(jobs);
    std::lock_guard commit_lock(commit_mutex_);  // not while exclusive() runs
    store_.after_commit();
  }
}

void GroupCommitWriter::commit(std::vector<Job*>& jobs) {
  std::vector<std::vector<UsageRecord>*> batches;
  for (Job* j : jobs) batches.push_back(j->records);
  {
    std::lock_guard commit_lock(commit_mutex_);
    auto outcome = store_.commit(batches);
    for (std::size_t b = 0; b < jobs.size(); ++b)
      jobs[b]->result =
          outcome ? WriteResult(std::move((*outcome)[b]))
                  : WriteResult(WriteError{WriteError::Kind::not_stored, outcome.error().message});
    std::lock_guard lock(sync_mutex_);
    committed_.insert(committed_.end(), jobs.begin(), jobs.end());
    handed_ += jobs.size();
  }
  sync_cv_.notify_one();
}

void GroupCommitWriter::apply(const std::vector<Job*>& jobs) {
  std::vector<const UsageRecord*> records;
  std::vector<std::int64_t> series;
  for (const Job* j : jobs) {
    if (!j->result->ok() || (*j->result)->refused()) continue;
    const BatchOutcome& o = **j->result;
    for (std::size_t i = 0; i < j->records->size(); ++i)
      if (!o.duplicate[i]) {
        records.push_back(&(*j->records)[i]);
        series.push_back(o.series[i]);
      }
  }
  ledger_.apply(records, series);
}

void GroupCommitWriter::run_sync() {
  for (;;) {
    std::vector<Job*> jobs;
    {
      std::unique_lock lock(sync_mutex_);
      sync_cv_.wait(lock, [&] { return committing_done_ || !committed_.empty(); });
      if (committed_.empty()) return;
      jobs.swap(committed_);
    }
    // One flush covers every commit handed over before it started. The ledger counts what was
    // committed even when the flush fails, as the database does while the process lives.
    const auto flush_start = std::chrono::steady_clock::now();
    auto synced = store_.make_durable();
    if (store_.flushes()) flush_seconds_.Observe(seconds_since(flush_start));
    apply(jobs);
    {
      std::lock_guard lock(sync_mutex_);
      applied_ += jobs.size();
    }
    applied_cv_.notify_all();
    for (Job* j : jobs) {
      if (!synced && j->result->ok())
        j->result =
            WriteResult(WriteError{WriteError::Kind::unconfirmed,
                                   std::string(kUnconfirmed) + ": " + synced.error().message});
      // Observed here, not by the 32 waiting workers: one histogram mutex they would contend for.
      ack_seconds_.Observe(seconds_since(j->start));
      if (j->then) {
        const std::unique_ptr<Job> owned(j);
        try {
          j->then(j->owned, std::move(*j->result));
        } catch (...) {  // broke its contract: the sync thread goes on with the others
        }
        continue;
      }
      // Notified under the lock: once it is released the waiter may return and free the job.
      std::lock_guard lock(j->mutex);
      j->done = true;
      j->cv.notify_one();
    }
  }
}

}  // namespace aiusage
