#include "aiusage/writer.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <pthread.h>

#include "aiusage/log.hpp"
#include "aiusage/priority.hpp"

namespace aiusage {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

class StorageCollector : public prometheus::Collectable {
 public:
  StorageCollector(const prometheus::Histogram& ack, const prometheus::Histogram& flush,
                   const Store& store)
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
  const Store& store_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(Store& store, Ledger& ledger, std::size_t max_batches)
    : store_(store),
      ledger_(ledger),
      max_batches_(max_batches == 0 ? 1 : max_batches),
      roll_up_at_(store.kept_limit() / 4 * 3),
      ack_seconds_({.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
      flush_seconds_({.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}),
      collector_(std::make_shared<StorageCollector>(ack_seconds_, flush_seconds_, store_)) {
  // Named for top -H and perf.
  for (std::thread& t : sync_threads_)
    t = std::thread([this] {
      pthread_setname_np(pthread_self(), "aiusage-sync");
      run_sync();
    });
  checkpoint_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-ckpt");
    run_checkpoints();
  });
  rollup_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-rollup");
    set_thread_nice(10);  // background work: under full load the request path goes first
    run_roll_ups();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-writer");
    try {
      store_.prepare_writer();
    } catch (const std::exception&) {
      // The first commit tries again and reports the error.
    }
    run();
  });
}

namespace {

// Sets `flag` under `mutex`, wakes the thread waiting on `cv` and joins it.
void stop(std::mutex& mutex, std::condition_variable& cv, bool& flag, std::thread& thread) {
  {
    std::lock_guard lock(mutex);
    flag = true;
  }
  cv.notify_all();
  thread.join();
}

}  // namespace

GroupCommitWriter::~GroupCommitWriter() {
  // In this order: the writer commits what is queued, the sync thread acknowledges it, the roll-up
  // thread rolls up everything now durable.
  stop(mutex_, work_cv_, stopping_, thread_);
  for (std::thread& t : sync_threads_) stop(sync_mutex_, sync_cv_, committing_done_, t);
  stop(rollup_mutex_, rollup_cv_, rollup_stop_, rollup_thread_);
  stop(checkpoint_mutex_, checkpoint_cv_, checkpoint_stop_, checkpoint_thread_);
}

void GroupCommitWriter::run_checkpoints() {
  std::unique_lock lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_cv_.wait(lock,
                        [&] { return checkpoint_stop_ || checkpoint_ == Checkpoint::running; });
    if (checkpoint_stop_) return;
    lock.unlock();
    // Repeats while commits keep adding frames, so the writer's finish has little left to copy.
    // A failure leaves the WAL longer; the next round or closing the store copies it.
    for (int round = 0; round < kCheckpointRounds; ++round) {
      auto left = store_.checkpoint();
      if (!left || *left <= kCheckpointLeft) break;
    }
    lock.lock();
    checkpoint_ = Checkpoint::done;
  }
}

void GroupCommitWriter::checkpoint_step() {
  const int frames = store_.wal_frames();
  if (frames < kCheckpointFrames) checkpoint_at_ = kCheckpointFrames;  // the WAL started over
  if (frames < checkpoint_at_) return;
  std::unique_lock lock(checkpoint_mutex_);
  if (checkpoint_ == Checkpoint::idle) {
    checkpoint_ = Checkpoint::running;
    lock.unlock();
    checkpoint_cv_.notify_one();
  } else if (checkpoint_ == Checkpoint::done) {
    checkpoint_ = Checkpoint::idle;
    lock.unlock();
    std::lock_guard commit_lock(commit_mutex_);
    (void)store_.finish_checkpoint();
    checkpoint_at_ = frames + kCheckpointRetryFrames;
  }
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
    checkpoint_step();
  }
}

void GroupCommitWriter::run_roll_ups() {
  std::unique_lock lock(rollup_mutex_);
  std::int64_t seen = -1;  // committed_seq() at the last look
  bool failing = false;    // logged once per run of failures
  for (;;) {
    const bool wanted =
        rollup_cv_.wait_for(lock, kRollUpIdle, [&] { return rollup_stop_ || rollup_wanted_; });
    const bool stop = rollup_stop_;
    rollup_wanted_ = false;
    const std::int64_t now = store_.committed_seq();
    const bool idle = now == seen;
    seen = now;
    if (!stop && !wanted && !(idle && store_.pending_records() > 0)) continue;
    lock.unlock();
    // On stop every commit is synced, so this ends with nothing pending. A failure (disk full)
    // loses nothing: reads count pending records (from memory or the records table); the next
    // turn retries.
    for (;;) {
      auto n = store_.roll_up(kRollUpLimit);
      if (!n && !failing) log::error("roll-up failed; retrying", {{"err", n.error().message}});
      if (n && failing) log::info("roll-up works again");
      failing = !n;
      if (!n || *n < kRollUpLimit || (!stop && store_.pending_records() < roll_up_at_)) break;
    }
    lock.lock();
    if (stop) return;
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
    auto synced = store_.sync();
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
      // Notified under the lock: once it is released the waiter may return and free the job.
      std::lock_guard lock(j->mutex);
      j->done = true;
      j->cv.notify_one();
    }
    if (store_.pending_records() >= roll_up_at_) {
      {
        std::lock_guard lock(rollup_mutex_);
        rollup_wanted_ = true;
      }
      rollup_cv_.notify_one();
    }
  }
}

}  // namespace aiusage
