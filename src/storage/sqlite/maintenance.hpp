#pragma once
// The SQLite store's own upkeep, on its own threads: a checkpoint thread copies the WAL back into
// the database past SqliteStore::kCheckpointFrames, and a roll-up thread (nice 10) brings the
// rollups up to date in large slices once commits pause or many records are pending.
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace aiusage {

class SqliteStore;

class SqliteMaintenance {
 public:
  // Starts both threads; the checkpoint thread first loads the writer's series ids.
  explicit SqliteMaintenance(SqliteStore& store);
  // Rolls up everything durable, then stops both threads.
  ~SqliteMaintenance();
  SqliteMaintenance(const SqliteMaintenance&) = delete;
  SqliteMaintenance& operator=(const SqliteMaintenance&) = delete;

  // After a commit, on the writer's thread with no commit running: starts a background
  // checkpoint, or finishes one that is done.
  void after_commit();
  // After a flush: wakes the roll-up when many records are pending.
  void after_sync();

 private:
  void run_checkpoints();
  void run_roll_ups();

  SqliteStore& store_;
  // Rolls up when no commit came for kRollUpIdle, or once this many records are pending (3/4 of
  // what the store keeps in memory): a burst is stored first and rolled up after, in large
  // slices that update each rollup page once for many records. Reads add pending records kept
  // in memory (~100 bytes each).
  const std::size_t roll_up_at_;
  enum class Checkpoint { idle, running, done };
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  Checkpoint checkpoint_ = Checkpoint::idle;
  // WAL frames at which the next checkpoint starts (writer's thread only): a reader's snapshot
  // can keep a checkpoint from reaching the WAL's end, and retrying at once would spin.
  int checkpoint_at_;
  bool checkpoint_stop_ = false;
  std::mutex rollup_mutex_;
  std::condition_variable rollup_cv_;
  bool rollup_wanted_ = false;
  bool rollup_stop_ = false;
  std::thread checkpoint_thread_;
  std::thread rollup_thread_;
};

}  // namespace aiusage
