#pragma once
// The store and its group-commit writer. When the store cannot be opened for writing at startup
// because of the disk (SQLITE_FULL, SQLITE_IOERR: no room for the -shm/-wal files, a migration or
// the rollup file), it is opened read-only instead, with no writer: reads, /metrics and health
// are served and ingest is refused; a background thread opens it for writing once the disk has
// room, without a restart. Once writable, the store and the writer are never replaced.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "aiusage/store.hpp"

namespace prometheus {
class Collectable;
}

namespace aiusage {

class GroupCommitWriter;
class Ledger;

class Storage {
 public:
  // Called with each store opened, before it serves and with no reader holding it: rebuilds what
  // is derived from it (the ledger).
  using Opened = std::function<void(const Store&)>;
  // The background thread looks every kPoll for kRoomBytes free beside the database, and then
  // tries to open it for writing; it tries at least every kRetryAnyway whatever the free space
  // says (quotas, reserved blocks).
  static constexpr std::chrono::milliseconds kPoll{200};
  static constexpr std::uint64_t kRoomBytes = std::uint64_t{1} << 20;
  static constexpr std::chrono::seconds kRetryAnyway{30};

  // Throws (a startup error) when the store cannot be opened for writing for another cause than
  // the disk: a newer schema, a missing directory, permissions, a damaged file.
  Storage(StoreOptions options, Ledger& ledger, std::size_t max_batches, Opened opened);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // The store for reading, held while this lives (until writable, the background thread waits for
  // it before it swaps the store); empty when not even a read-only store could be opened.
  class Reading {
   public:
    explicit operator bool() const { return store_ != nullptr; }
    const Store& operator*() const { return *store_; }
    const Store* operator->() const { return store_; }

   private:
    friend class Storage;
    std::shared_lock<std::shared_mutex> lock_;  // not taken once writable
    const Store* store_ = nullptr;
  };
  Reading read() const;
  // The store for resolve_series() and the writer, while writable; nullptr before.
  Store* writable_store() const;
  GroupCommitWriter* writer() const;
  // Empty while writable; else why not (the last attempt's error).
  std::string degraded() const;
  // ai_usage_storage_degraded, then the writer's families while writable.
  std::shared_ptr<prometheus::Collectable> collector() const { return collector_; }

 private:
  // Under swap_ (unique). False (the reason kept) when the disk is the cause; `startup` rethrows
  // any other cause.
  bool open_for_writing(bool startup);
  void open_read_only();
  void recover();

  const StoreOptions options_;
  Ledger& ledger_;
  const std::size_t max_batches_;
  const Opened opened_;
  mutable std::shared_mutex swap_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<GroupCommitWriter> writer_;
  std::atomic<bool> writable_{false};
  mutable std::mutex reason_mutex_;
  std::string reason_;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread recovery_;
};

}  // namespace aiusage
