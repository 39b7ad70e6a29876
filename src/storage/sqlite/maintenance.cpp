#include "maintenance.hpp"

#include <pthread.h>

#include <cstdint>
#include <exception>

#include "aiusage/log.hpp"
#include "aiusage/priority.hpp"
#include "aiusage/sqlite_store.hpp"
#include "aiusage/stop_thread.hpp"

namespace aiusage {

SqliteMaintenance::SqliteMaintenance(SqliteStore& store)
    : store_(store),
      roll_up_at_(store.kept_limit() / 4 * 3),
      checkpoint_at_(SqliteStore::kCheckpointFrames) {
  // Named for top -H and perf.
  checkpoint_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-ckpt");
    try {
      store_.prepare_writer();  // off the startup path
    } catch (const std::exception&) {
      // The first commit tries again and reports the error.
    }
    run_checkpoints();
  });
  rollup_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-rollup");
    set_thread_nice(10);  // background work: under full load the request path goes first
    run_roll_ups();
  });
}

SqliteMaintenance::~SqliteMaintenance() {
  // The writer has stopped and every commit is flushed: the roll-up takes everything.
  stop_thread(rollup_mutex_, rollup_cv_, rollup_stop_, rollup_thread_);
  stop_thread(checkpoint_mutex_, checkpoint_cv_, checkpoint_stop_, checkpoint_thread_);
}

void SqliteMaintenance::run_checkpoints() {
  std::unique_lock lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_cv_.wait(lock,
                        [&] { return checkpoint_stop_ || checkpoint_ == Checkpoint::running; });
    if (checkpoint_stop_) return;
    lock.unlock();
    // Repeats while commits keep adding frames, so the writer's finish has little left to copy.
    // A failure leaves the WAL longer; the next round or closing the store copies it.
    for (int round = 0; round < SqliteStore::kCheckpointRounds; ++round) {
      auto left = store_.checkpoint();
      if (!left || *left <= SqliteStore::kCheckpointLeft) break;
    }
    lock.lock();
    checkpoint_ = Checkpoint::done;
  }
}

void SqliteMaintenance::after_commit() {
  const int frames = store_.wal_frames();
  if (frames < SqliteStore::kCheckpointFrames)
    checkpoint_at_ = SqliteStore::kCheckpointFrames;  // the WAL started over
  if (frames < checkpoint_at_) return;
  std::unique_lock lock(checkpoint_mutex_);
  if (checkpoint_ == Checkpoint::idle) {
    checkpoint_ = Checkpoint::running;
    lock.unlock();
    checkpoint_cv_.notify_one();
  } else if (checkpoint_ == Checkpoint::done) {
    checkpoint_ = Checkpoint::idle;
    lock.unlock();
    (void)store_.finish_checkpoint();
    checkpoint_at_ = frames + SqliteStore::kCheckpointRetryFrames;
  }
}

void SqliteMaintenance::after_sync() {
  if (store_.pending_records() < roll_up_at_) return;
  {
    std::lock_guard lock(rollup_mutex_);
    rollup_wanted_ = true;
  }
  rollup_cv_.notify_one();
}

void SqliteMaintenance::run_roll_ups() {
  std::unique_lock lock(rollup_mutex_);
  std::int64_t seen = -1;  // committed_seq() at the last look
  bool failing = false;    // logged once per run of failures
  for (;;) {
    const bool wanted = rollup_cv_.wait_for(lock, SqliteStore::kRollUpIdle,
                                            [&] { return rollup_stop_ || rollup_wanted_; });
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
      auto n = store_.roll_up(SqliteStore::kRollUpLimit);
      if (!n && !failing) log::error("roll-up failed; retrying", {{"err", n.error().message}});
      if (n && failing) log::info("roll-up works again");
      failing = !n;
      if (!n || *n < SqliteStore::kRollUpLimit || (!stop && store_.pending_records() < roll_up_at_))
        break;
    }
    lock.lock();
    if (stop) return;
  }
}

}  // namespace aiusage
