#pragma once
#include <SQLiteCpp/SQLiteCpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"
#include "raw_statement.hpp"
#include "schema.hpp"
#include "series_names.hpp"

namespace aiusage {

// Sums of one series in one bucket; sorted by (bucket, id) and merged before upserting, so rows
// are written in key order and neighbouring keys share pages.
struct Delta {
  std::int64_t bucket, id;
  UsageSums sums;
};

// Adds the sums to the row of `keys` (`n_keys` columns), creating it if missing.
std::string upsert_rollup_sql(const char* table, const char* keys, int n_keys);

// The rollup file's connection (the records file attached as `rec`), used by roll_up() only.
struct SqliteStore::Rollup : SeriesNames {
  // `last_key(seq)`: the project and id of the record `seq` in the records file, empty when there
  // is none.
  Rollup(const std::string& path, const std::string& records_path, const std::string& store_id,
         const std::function<RecordKey(std::int64_t)>& last_key)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, 5000) {
    db.exec("PRAGMA journal_mode = WAL");
    // Derived data: a crash may lose the last roll-ups, never make them inconsistent.
    db.exec("PRAGMA synchronous = NORMAL");
    // Roll-ups update rows all over the current hour's and month's: keep them cached (32 MiB).
    db.exec("PRAGMA cache_size = -32768");
    // Files of schema v5 stores name the last record by id alone (NULL project): kept, not rebuilt.
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version >= 1 && version <= kRollupVersion && !rollup_names_project(db, "main"))
      db.exec("ALTER TABLE rollup_state ADD COLUMN rolled_up_project TEXT");
    if (version == 1) upgrade_rollups_v2(db);
    // The last record rolled up must still be there: not a rollup file of a newer copy.
    const std::optional<std::int64_t> position = rollup_position(db, "main", store_id, last_key);
    if (position) rolled = *position;
    if (!position) {
      SQLite::Transaction tx(db);
      db.exec(rollup_schema("main"));
      SQLite::Statement st(db, "INSERT INTO rollup_state VALUES (0, ?, 0, '', '')");
      st.bind(1, store_id);
      st.exec();
      tx.commit();
      rolled = 0;
    }
    // Files written before the index existed get it once (a few seconds per million rows).
    db.exec(
        "CREATE INDEX IF NOT EXISTS usage_monthly_series ON usage_monthly (series_id, month_ms)");
    attach(db, records_path, "rec");
    add_hour = std::make_unique<SQLite::Statement>(
        db, upsert_rollup_sql("usage_hourly", "hour_ms, series_id", 2));
    add_month = std::make_unique<SQLite::Statement>(
        db, upsert_rollup_sql("usage_monthly", "month_ms, series_id", 2));
    add_label = std::make_unique<SQLite::Statement>(
        db, upsert_rollup_sql("usage_monthly_label", "month_ms, dim, value", 3));
    state = std::make_unique<SQLite::Statement>(
        db,
        "UPDATE rollup_state SET rolled_up_seq = ?1, rolled_up_id = (SELECT id FROM rec.ai_usage "
        "WHERE seq = ?1), rolled_up_project = (SELECT project_id FROM rec.ai_usage WHERE seq = "
        "?1)");
    pending = std::make_unique<RawStatement>(
        db.getHandle(),
        "SELECT seq, series_id, timestamp_ms, " + record_columns(false) +
            " FROM rec.ai_usage WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3");
    series = std::make_unique<RawStatement>(db.getHandle(), select("rec"));
  }

  // The rows one roll-up adds to, and the last record it counts.
  struct Deltas {
    std::vector<Delta> hours, months;
    std::int64_t last = 0;
    void add(std::int64_t seq, std::int64_t id, std::int64_t ts, const UsageSums& one) {
      last = seq;
      hours.push_back({hour_bucket(ts), id, one});
      months.push_back({month_bucket(ts), id, one});
    }
  };
  // Adds `d` to the rollups and moves rollup_state to its last record, in the open transaction.
  void write(Deltas& d);

  SQLite::Database db;
  std::unique_ptr<SQLite::Statement> add_hour, add_month, add_label, state;
  std::unique_ptr<RawStatement> pending;  // the oldest durable records not rolled up
  std::unique_ptr<RawStatement> series;   // select("rec")
  std::int64_t rolled = 0;                // every record up to this seq is rolled up
};

}  // namespace aiusage
