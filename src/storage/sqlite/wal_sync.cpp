#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "aiusage/sqlite_store.hpp"

namespace aiusage {

namespace {

// A passive checkpoint: copies what it can without waiting for readers or writers; returns the
// frames it left (appended meanwhile), or -1 when another checkpoint was running.
Result<int> passive_checkpoint(SQLite::Database& db) {
  int log = 0, copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(db.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc == SQLITE_OK) return log - copied;
  if (rc == SQLITE_BUSY) return -1;
  return Error{sqlite3_errstr(rc)};
}

}  // namespace

Result<int> SqliteStore::checkpoint() {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return passive_checkpoint(*checkpoint_db_);
}

Result<int> SqliteStore::finish_checkpoint() {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return passive_checkpoint(*writer_db_);
}

Result<bool> SqliteStore::sync() {
  if (!full_sync_) return true;
  // Every commit counted here has written its frames to the WAL, so the flush below covers it.
  const std::int64_t target = committed_seq_.load(std::memory_order_acquire);
  auto failed = [&](const char* what) {
    return Error{std::string(what) + " " + wal_path_ + ": " + std::strerror(errno)};
  };
  int fd = -1;
  {
    std::lock_guard lock(sync_mutex_);
    // SQLite keeps one WAL file while any of the store's connections is open: opened once.
    if (wal_fd_ < 0) {
      wal_fd_ = ::open(wal_path_.c_str(), O_RDWR | O_CLOEXEC);
      if (wal_fd_ < 0 && errno != ENOENT) return failed("open");
      if (wal_fd_ >= 0) {
        // The WAL's directory entry must survive a power loss too.
        const std::string dir = std::filesystem::path(wal_path_).parent_path().string();
        const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) return failed("open directory of");
        const int rc = ::fsync(dfd);
        ::close(dfd);
        if (rc != 0) return failed("fsync directory of");
      }
    }
    fd = wal_fd_;
  }
  // Flushes may overlap (one per sync thread); each covers what was committed before it began.
  if (fd >= 0 && ::fdatasync(fd) != 0) return failed("fdatasync");
  std::int64_t seen = synced_seq_.load(std::memory_order_relaxed);
  while (seen < target &&
         !synced_seq_.compare_exchange_weak(seen, target, std::memory_order_release)) {
  }
  return true;
}

}  // namespace aiusage
