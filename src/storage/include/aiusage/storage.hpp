#pragma once
// The store (a UsageStore, opened through its StoreBackend) and its group-commit writer. When
// the store cannot be opened for writing at startup because of the disk (SQLITE_FULL,
// SQLITE_IOERR: no room for the -shm/-wal files, a migration or the rollup file), it is opened
// read-only instead, with no writer: reads, /metrics and health are served and ingest is refused;
// a background thread opens it for writing once the disk has room, without a restart. Once
// writable, the store and the writer are never replaced.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "aiusage/usage_store.hpp"

namespace prometheus {
class Collectable;
}

namespace aiusage {

class GroupCommitWriter;
class Ledger;

// Called with each store opened, before it serves and with no reader holding it: rebuilds what
// is derived from it (the ledger).
using StoreOpened = std::function<void(const UsageStore&)>;

// How Storage opens a store: one per backend (SqliteBackend in src/storage/sqlite).
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // The store opened for writing; `opened` is called with it before the backend starts any
  // thread of its own. Throws on failure.
  virtual std::unique_ptr<UsageStore> open(const StoreOpened& opened) = 0;
  // The store opened for reads only, writing nothing (a full disk); throws on failure.
  virtual std::unique_ptr<UsageStore> open_read_only() = 0;
  // Whether `e`, thrown by open(), was the disk's doing (full, an I/O error): worth serving
  // read-only and trying again, where any other cause is a startup error.
  virtual bool disk_is_the_cause(const std::exception& e) const = 0;
  // Whether the disk seems to have room again for open().
  virtual bool has_room() const = 0;
  // The store, for logs (e.g. its path).
  virtual std::string name() const = 0;
};

class Storage {
 public:
  // The background thread looks every kPoll whether the backend has room, and then tries to open
  // it for writing; it tries at least every kRetryAnyway whatever the free space says (quotas,
  // reserved blocks).
  static constexpr std::chrono::milliseconds kPoll{200};
  static constexpr std::chrono::seconds kRetryAnyway{30};

  // Throws (a startup error) when the store cannot be opened for writing for another cause than
  // the disk: a newer schema, a missing directory, permissions, a damaged file.
  Storage(std::unique_ptr<StoreBackend> backend, Ledger& ledger, std::size_t max_batches,
          StoreOpened opened);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // The store for reading, held while this lives (until writable, the background thread waits for
  // it before it swaps the store); empty when not even a read-only store could be opened.
  class Reading {
   public:
    explicit operator bool() const { return store_ != nullptr; }
    const UsageStore& operator*() const { return *store_; }
    const UsageStore* operator->() const { return store_; }

   private:
    friend class Storage;
    std::shared_lock<std::shared_mutex> lock_;  // not taken once writable
    const UsageStore* store_ = nullptr;
  };
  Reading read() const;
  // The store for resolve_series() and the writer, while writable; nullptr before.
  UsageStore* writable_store() const;
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

  const std::unique_ptr<StoreBackend> backend_;
  Ledger& ledger_;
  const std::size_t max_batches_;
  const StoreOpened opened_;
  mutable std::shared_mutex swap_;
  std::unique_ptr<UsageStore> store_;
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
