#include "aiusage/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "maintenance.hpp"
#include "reader.hpp"
#include "recent.hpp"
#include "rollup.hpp"
#include "schema.hpp"
#include "writer_state.hpp"

namespace aiusage {

bool disk_is_the_cause(const std::exception& e) {
  const auto* sql = dynamic_cast<const SQLite::Exception*>(&e);
  const int code = sql != nullptr ? sql->getErrorCode() & 0xff : 0;
  return code == SQLITE_FULL || code == SQLITE_IOERR;
}

std::string sqlite_read_only_uri(const std::string& path) {
  struct stat db {};
  const mode_t mode =
      ::stat(path.c_str(), &db) == 0 ? (db.st_mode & 0777) : 0600;  // as SQLite does
  const int fd = ::open((path + "-shm").c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd >= 0) ::close(fd);
  // An absolute path after an empty authority ("file:///..."), so "//x" is not read as a host.
  std::string uri = path.starts_with('/') ? "file://" : "file:";
  for (const unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
      uri += static_cast<char>(c);
    } else {
      static const char* const kHex = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?mode=ro&readonly_shm=1";
}

// The writer's connection, with the store's settings from `options`.
SQLite::Database& SqliteStore::open_writer(const StoreOptions& options) {
  // No connection mutex: the writer connection has one thread at a time (the writer), the reader
  // is used under reader_mutex_.
  const int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX;
  writer_db_ = std::make_unique<SQLite::Database>(options.path, flags, 5000);
  SQLite::Database& db = *writer_db_;
  db.exec("PRAGMA journal_mode = WAL");
  // NORMAL: a commit writes the WAL without flushing it; with synchronous_full, sync() flushes it
  // before anything is acknowledged (what FULL does inside COMMIT, but outside the write lock).
  db.exec("PRAGMA synchronous = NORMAL");
  full_sync_ = options.synchronous_full;
  kept_limit_ = options.kept_limit;
  limits_ = options.limits;
  if (limits_.tokens > kMaxStoreTokens || limits_.cost > kMaxStoreCostNanos)
    throw std::invalid_argument("store limits above kMaxStoreTokens or kMaxStoreCostNanos");
  wal_path_ = options.path + "-wal";
  // Inserts touch the id index anywhere: keep many of its pages cached (32 MiB).
  db.exec("PRAGMA cache_size = -32768");
  // No checkpoint inside COMMIT (why: docs/design.md): the hook only counts the
  // WAL's frames, and checkpoint()/finish_checkpoint() copy them back (SqliteMaintenance).
  sqlite3_wal_hook(
      db.getHandle(),
      [](void* frames, sqlite3*, const char*, int n) {
        static_cast<std::atomic<int>*>(frames)->store(n, std::memory_order_relaxed);
        return SQLITE_OK;
      },
      &wal_frames_);
  return db;
}

SqliteStore::SqliteStore(const StoreOptions& options) {
  // No memory statistics: they take a global mutex on every SQLite allocation. Only possible
  // before SQLite initialises; later it is refused and changes nothing.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  if (options.read_only) {
    open_read_only(options);
    return;
  }
  SQLite::Database& db = open_writer(options);
  migrate(db, options.path);
  const std::string rollup_path = options.path + "-rollups";
  const std::string store_id = db.execAndGet("SELECT store_id FROM store_info").getString();
  // Everything in the records file when it opens is on disk as far as the store can tell.
  const std::int64_t max_seq =
      db.execAndGet("SELECT coalesce(max(seq), 0) FROM ai_usage").getInt64();
  committed_seq_ = synced_seq_ = max_seq;
  recent_ = std::make_unique<Recent>(max_seq, options.kept_limit);
  writer_ = std::make_unique<Writer>(db);
  SQLite::Statement key_of(db, "SELECT project_id, id FROM ai_usage WHERE seq = ?");
  rollup_ = std::make_unique<Rollup>(rollup_path, options.path, store_id, [&](std::int64_t seq) {
    key_of.bind(1, seq);
    RecordKey key;
    if (key_of.executeStep())
      key = {key_of.getColumn(0).getString(), key_of.getColumn(1).getString()};
    key_of.reset();
    return key;
  });
  reader_ = std::make_unique<Reader>(options.path, rollup_path, *recent_);
  checkpoint_db_ = std::make_unique<SQLite::Database>(
      options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, 5000);
  checkpoint_db_->exec("PRAGMA synchronous = NORMAL");
  // The series list is read once, by the reader; the writer's id map is built from it later.
  SQLite::Transaction tx(reader_->db);
  reader_->refresh();
  tx.commit();
  pending_ = static_cast<std::size_t>(
      db.execAndGet("SELECT count(*) FROM ai_usage WHERE seq > " + std::to_string(rollup_->rolled))
          .getInt64());
}

void SqliteStore::open_read_only(const StoreOptions& options) {
  full_sync_ = false;
  kept_limit_ = 0;
  // Keeps nothing in memory: every read adds the records past the rollups from the file.
  recent_ = std::make_unique<Recent>(std::numeric_limits<std::int64_t>::max(), 0);
  const int version = SQLite::Database(sqlite_read_only_uri(options.path),
                                       SQLite::OPEN_READWRITE | SQLite::OPEN_URI)
                          .execAndGet("PRAGMA user_version")
                          .getInt();
  if (version != kSchemaVersion)
    throw std::runtime_error("database " + options.path + " has schema version " +
                             std::to_string(version) + ", not this binary's " +
                             std::to_string(kSchemaVersion) + ": it cannot be read until migrated");
  reader_ = std::make_unique<Reader>(options.path, options.path + "-rollups", *recent_, true);
  SQLite::Transaction tx(reader_->db);
  reader_->refresh();
  tx.commit();
}

SqliteStore::~SqliteStore() {
  maintenance_.reset();  // its last roll-up, while everything is still open
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void SqliteStore::start_maintenance() {
  if (!maintenance_ && writer_) maintenance_ = std::make_unique<SqliteMaintenance>(*this);
}

void SqliteStore::after_commit() {
  if (maintenance_) maintenance_->after_commit();
}

Result<bool> SqliteStore::make_durable() {
  auto synced = sync();
  if (maintenance_) maintenance_->after_sync();
  return synced;
}

}  // namespace aiusage
