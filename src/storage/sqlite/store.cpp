#include "aiusage/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/container/flat_hash_map.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "aiusage/digest.hpp"

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

namespace {

constexpr std::int64_t kHourMs = 3'600'000;
// Queries see [kTimeMin, kTimeMax); records beyond it are stored but never counted by a range.
constexpr std::int64_t kTimeMin = -(std::int64_t{1} << 60);
constexpr std::int64_t kTimeMax = std::int64_t{1} << 60;
// Bucket of a record outside the queryable span: no query range ever reaches it.
constexpr std::int64_t kFarBucket = std::int64_t{1} << 61;

std::int64_t floor_hour(std::int64_t ms) {
  std::int64_t q = ms / kHourMs;
  if (ms % kHourMs < 0) --q;
  return q * kHourMs;
}
std::int64_t hour_bucket(std::int64_t ms) {
  if (ms < kTimeMin || ms >= kTimeMax) return ms < 0 ? -kFarBucket : kFarBucket;
  return floor_hour(ms);
}

// Calendar months are only bucketed inside ±~28,000 years (std::chrono's year range).
constexpr std::int64_t kMonthSpanMs = 900'000'000'000'000;
const std::int64_t kMonthLow = floor_utc_month(-kMonthSpanMs);
const std::int64_t kMonthHigh = floor_utc_month(kMonthSpanMs);

std::int64_t month_bucket(std::int64_t ms) {
  if (ms < kMonthLow || ms >= kMonthHigh) return hour_bucket(ms) < 0 ? -kFarBucket : kFarBucket;
  return floor_utc_month(ms);
}

// SQL function aiusage_month(ms): the monthly bucket of a time, for migrations.
void sql_month_bucket(sqlite3_context* ctx, int, sqlite3_value** argv) {
  sqlite3_result_int64(ctx, month_bucket(sqlite3_value_int64(argv[0])));
}

constexpr const char* kSumColumns =
    "calls, cache_hits, unpriced, prompt_tokens, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cached_tokens, cost_nanos";
constexpr int kSums = 9;
constexpr const char* kSumNames[kSums] = {"calls",
                                          "cache_hits",
                                          "unpriced",
                                          "prompt_tokens",
                                          "completion_tokens",
                                          "cache_read_tokens",
                                          "cache_write_tokens",
                                          "cached_tokens",
                                          "cost_nanos"};

// One record's contribution to each sum column, in kSumNames order (columns of ai_usage).
constexpr const char* kRecordValues[kSums] = {"1",
                                              "cached",
                                              "1 - priced",
                                              "CASE WHEN cached THEN 0 ELSE prompt_tokens END",
                                              "CASE WHEN cached THEN 0 ELSE completion_tokens END",
                                              "CASE WHEN cached THEN 0 ELSE cache_read_tokens END",
                                              "CASE WHEN cached THEN 0 ELSE cache_write_tokens END",
                                              "CASE WHEN cached THEN total_tokens ELSE 0 END",
                                              "cost_nanos"};

// The kRecordValues as select columns, each summed when `summed`.
std::string record_columns(bool summed) {
  std::string out;
  for (int i = 0; i < kSums; ++i)
    out += std::string(i ? ", " : "") + (summed ? "sum(" : "") + kRecordValues[i] +
           (summed ? ")" : "");
  return out;
}

// Label columns of `series`, in the order of the `dim` numbers of usage_monthly_label.
enum Dim { kProvider, kModel, kProject, kUser, kDims };
constexpr const char* kDimColumns[kDims] = {"provider", "model", "project_id", "user_id"};

// v3: all-time totals are summed from usage_monthly (series keeps only its labels), and a monthly
// rollup per label value lets unfiltered month-long statistics read ~1k rows instead of 100k.
std::string migration_v3() {
  std::string sums, cols;
  for (int i = 0; i < kSums; ++i) {
    sums += std::string(", sum(m.") + kSumNames[i] + ")";
    cols += std::string(", ") + kSumNames[i] + " INTEGER NOT NULL";
  }
  std::string sql =
      "CREATE TABLE usage_monthly_label (month_ms INTEGER NOT NULL, dim INTEGER NOT "
      "NULL, value TEXT NOT NULL" +
      cols + ", PRIMARY KEY (month_ms, dim, value)) WITHOUT ROWID;\n";
  for (int d = 0; d < kDims; ++d)
    sql += "INSERT INTO usage_monthly_label SELECT m.month_ms, " + std::to_string(d) + ", s." +
           kDimColumns[d] + sums +
           " FROM usage_monthly m JOIN series s ON s.id = m.series_id GROUP BY 1, 3;\n";
  for (const char* col : kSumNames)
    sql += std::string("ALTER TABLE series DROP COLUMN ") + col + ";\n";
  return sql;
}

// Schema migrations: index i takes user_version i to i + 1.
const std::string kMigrations[] = {
    R"SQL(
CREATE TABLE ai_usage (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  project_id TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nanos INTEGER NOT NULL,
  priced INTEGER NOT NULL,
  cached INTEGER NOT NULL DEFAULT 0,
  timestamp_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  fingerprint TEXT NOT NULL
);
CREATE UNIQUE INDEX ai_usage_id_idx ON ai_usage(id);
CREATE INDEX ai_usage_user_idx ON ai_usage(user_id);
CREATE INDEX ai_usage_project_idx ON ai_usage(project_id);
CREATE INDEX ai_usage_timestamp_idx ON ai_usage(timestamp_ms);
CREATE INDEX ai_usage_provider_model_idx ON ai_usage(provider, model);
CREATE TABLE usage_hourly (
  hour_ms INTEGER NOT NULL, user_id TEXT NOT NULL, project_id TEXT NOT NULL,
  provider TEXT NOT NULL, model TEXT NOT NULL,
  calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, user_id, project_id, provider, model)
) WITHOUT ROWID;
CREATE TABLE series_totals (
  provider TEXT NOT NULL, model TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
  calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
  PRIMARY KEY (provider, model, project_id, user_id)
) WITHOUT ROWID;
)SQL",
    // v2: rollups keyed by an integer series id, a monthly rollup, and no record indexes that
    // no query uses (queries read rollups; raw edges go through the timestamp index).
    R"SQL(
DROP INDEX ai_usage_user_idx;
DROP INDEX ai_usage_project_idx;
DROP INDEX ai_usage_provider_model_idx;
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL, model TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
  calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
  UNIQUE (provider, model, project_id, user_id)
);
INSERT INTO series (provider, model, project_id, user_id, calls, cache_hits, unpriced,
  prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, cached_tokens, cost_nanos)
SELECT provider, model, project_id, user_id, calls, cache_hits, unpriced, prompt_tokens,
  completion_tokens, cache_read_tokens, cache_write_tokens, cached_tokens, cost_nanos
FROM series_totals ORDER BY provider, model, project_id, user_id;
DROP TABLE series_totals;
CREATE TABLE usage_hourly_v2 (
  hour_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
  calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, series_id)
) WITHOUT ROWID;
INSERT INTO usage_hourly_v2
SELECT h.hour_ms, s.id, h.calls, h.cache_hits, h.unpriced, h.prompt_tokens, h.completion_tokens,
  h.cache_read_tokens, h.cache_write_tokens, h.cached_tokens, h.cost_nanos
FROM usage_hourly h JOIN series s USING (provider, model, project_id, user_id);
DROP TABLE usage_hourly;
ALTER TABLE usage_hourly_v2 RENAME TO usage_hourly;
CREATE TABLE usage_monthly (
  month_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
  calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
  PRIMARY KEY (month_ms, series_id)
) WITHOUT ROWID;
INSERT INTO usage_monthly
SELECT aiusage_month(hour_ms), series_id, sum(calls), sum(cache_hits), sum(unpriced),
  sum(prompt_tokens), sum(completion_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
  sum(cached_tokens), sum(cost_nanos)
FROM usage_hourly GROUP BY 1, 2;
)SQL",
    migration_v3(),
    // v4: records carry their series id, and rollups may lag the records: rollup_state says up to
    // which record they are complete (all of them when migrating).
    R"SQL(
ALTER TABLE ai_usage ADD COLUMN series_id INTEGER;
CREATE TABLE rollup_state (id INTEGER PRIMARY KEY CHECK (id = 0), rolled_up_seq INTEGER NOT NULL);
INSERT INTO rollup_state SELECT 0, coalesce(max(seq), 0) FROM ai_usage;
)SQL",
    "",  // v5, the rollups to their own file: migrate_v5()
    // v6: an id is an idempotency key within its project. Ids were unique across projects, so no
    // row conflicts; seqs and ids stay, so the rollup file still matches the records.
    R"SQL(
DROP INDEX ai_usage_id_idx;
CREATE UNIQUE INDEX ai_usage_project_id_idx ON ai_usage(project_id, id);
)SQL",
};
static_assert(std::size(kMigrations) == static_cast<std::size_t>(Store::kSchemaVersion));
constexpr int kRollupsMoved = 4;  // the migration from this version is migrate_v5()

// The rollup file: derived from the records, so it is rebuilt (empty, then rolled up again) when
// its version, its store id or its position does not match the records file.
constexpr int kRollupVersion = 1;

// The rollup tables in schema `s`, dropped first when they exist.
std::string rollup_schema(const std::string& s) {
  std::string cols;
  for (const char* name : kSumNames) cols += std::string(", ") + name + " INTEGER NOT NULL";
  std::string sql;
  for (const char* t : {"usage_hourly", "usage_monthly", "usage_monthly_label", "rollup_state"})
    sql += "DROP TABLE IF EXISTS " + s + "." + t + ";\n";
  return sql + "CREATE TABLE " + s +
         ".usage_hourly (hour_ms INTEGER NOT NULL, series_id INTEGER NOT NULL" + cols +
         ", PRIMARY KEY (hour_ms, series_id)) WITHOUT ROWID;\nCREATE TABLE " + s +
         ".usage_monthly (month_ms INTEGER NOT NULL, series_id INTEGER NOT NULL" + cols +
         ", PRIMARY KEY (month_ms, series_id)) WITHOUT ROWID;\nCREATE INDEX " + s +
         ".usage_monthly_series ON usage_monthly (series_id, month_ms);\nCREATE TABLE " + s +
         ".usage_monthly_label (month_ms INTEGER NOT NULL, dim INTEGER NOT NULL, value TEXT NOT "
         "NULL" +
         cols + ", PRIMARY KEY (month_ms, dim, value)) WITHOUT ROWID;\nCREATE TABLE " + s +
         ".rollup_state (id INTEGER PRIMARY KEY CHECK (id = 0), store_id TEXT NOT NULL, "
         "rolled_up_seq INTEGER NOT NULL, rolled_up_id TEXT NOT NULL, rolled_up_project TEXT);"
         "\nPRAGMA " +
         s + ".user_version = " + std::to_string(kRollupVersion) + ";\n";
}

void attach(SQLite::Database& db, const std::string& path, const char* as) {
  SQLite::Statement st(db, std::string("ATTACH DATABASE ? AS ") + as);
  st.bind(1, path);
  st.exec();
}

// What identifies a record: ids are unique within a project.
struct RecordKey {
  std::string project, id;
};

// Whether the rollup file in schema `s` names its last record's project (files of v5 stores do
// not).
bool rollup_names_project(SQLite::Database& db, const std::string& s) {
  return db.execAndGet("SELECT count(*) FROM pragma_table_info('rollup_state', '" + s +
                       "') WHERE name = 'rolled_up_project'")
             .getInt() > 0;
}

// Up to which record the rollup file in schema `s` is complete, when it is the rollup file of the
// records file with `store_id` (its last rolled-up record, `last_key`, still there); else nullopt.
std::optional<std::int64_t> rollup_position(
    SQLite::Database& db, const std::string& s, const std::string& store_id,
    const std::function<RecordKey(std::int64_t)>& last_key) {
  if (db.execAndGet("PRAGMA " + s + ".user_version").getInt() != kRollupVersion)
    return std::nullopt;
  const std::string project = rollup_names_project(db, s) ? "rolled_up_project" : "NULL";
  SQLite::Statement st(db, "SELECT store_id, rolled_up_seq, rolled_up_id, " + project + " FROM " +
                               s + ".rollup_state");
  if (!st.executeStep() || st.getColumn(0).getString() != store_id) return std::nullopt;
  const RecordKey last = last_key(st.getColumn(1).getInt64());
  if (last.id != st.getColumn(2).getString() ||
      (!st.getColumn(3).isNull() && last.project != st.getColumn(3).getString()))
    return std::nullopt;
  return st.getColumn(1).getInt64();
}

// v5: the rollups move to their own file, written by their own connection and thread, so rolling
// up never holds the records' write lock. The copy commits first: a crash before the second
// transaction leaves version 4, and the next start copies again.
void migrate_v5(SQLite::Database& db, const std::string& rollup_path) {
  const std::string store_id = make_uuid();
  attach(db, rollup_path, "r");
  db.exec("PRAGMA r.journal_mode = WAL");
  {
    SQLite::Transaction tx(db);
    db.exec(rollup_schema("r"));
    const std::string sums = kSumColumns;
    db.exec("INSERT INTO r.usage_hourly (hour_ms, series_id, " + sums +
            ") SELECT hour_ms, series_id, " + sums + " FROM main.usage_hourly");
    db.exec("INSERT INTO r.usage_monthly (month_ms, series_id, " + sums +
            ") SELECT month_ms, series_id, " + sums + " FROM main.usage_monthly");
    db.exec("INSERT INTO r.usage_monthly_label (month_ms, dim, value, " + sums +
            ") SELECT month_ms, dim, value, " + sums + " FROM main.usage_monthly_label");
    SQLite::Statement state(
        db,
        "INSERT INTO r.rollup_state SELECT 0, ?, rolled_up_seq, coalesce((SELECT id FROM "
        "main.ai_usage WHERE seq = rolled_up_seq), ''), (SELECT project_id FROM main.ai_usage "
        "WHERE seq = rolled_up_seq) FROM main.rollup_state");
    state.bind(1, store_id);
    state.exec();
    tx.commit();
  }
  {
    SQLite::Transaction tx(db);
    db.exec(
        "DROP TABLE main.usage_hourly; DROP TABLE main.usage_monthly; DROP TABLE "
        "main.usage_monthly_label; DROP TABLE main.rollup_state; CREATE TABLE store_info (id "
        "INTEGER PRIMARY KEY CHECK (id = 0), store_id TEXT NOT NULL)");
    SQLite::Statement info(db, "INSERT INTO store_info VALUES (0, ?)");
    info.bind(1, store_id);
    info.exec();
    db.exec("PRAGMA user_version = 5");
    tx.commit();
  }
  db.exec("DETACH DATABASE r");
}

// Adds the sums to the row of `keys` (`n_keys` columns), creating it if missing.
std::string upsert_rollup_sql(const char* table, const char* keys, int n_keys) {
  std::string sql =
      std::string("INSERT INTO ") + table + " (" + keys + ", " + kSumColumns + ") VALUES (?";
  for (int i = 1; i < n_keys + kSums; ++i) sql += ", ?";
  sql += ") ON CONFLICT DO UPDATE SET ";
  for (int i = 0; i < kSums; ++i)
    sql += std::string(i ? ", " : "") + kSumNames[i] + " = " + kSumNames[i] + " + excluded." +
           kSumNames[i];
  return sql;
}

void bind_sums(SQLite::Statement& st, int first, const UsageSums& s) {
  const std::int64_t v[] = {s.calls,
                            s.cache_hits,
                            s.unpriced,
                            s.prompt_tokens,
                            s.completion_tokens,
                            s.cache_read_tokens,
                            s.cache_write_tokens,
                            s.cached_tokens,
                            s.cost};
  for (int i = 0; i < kSums; ++i) st.bind(first + i, static_cast<std::int64_t>(v[i]));
}

// Sums of one series in one bucket; sorted by (bucket, id) and merged before upserting, so rows
// are written in key order and neighbouring keys share pages.
struct Delta {
  std::int64_t bucket, id;
  UsageSums sums;
};
// Sums the deltas of equal (bucket, id), in key order. Sorts small keys, not the deltas.
void merge(std::vector<Delta>& v) {
  struct Key {
    std::int64_t bucket, id;
    std::size_t at;
  };
  std::vector<Key> keys(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) keys[i] = {v[i].bucket, v[i].id, i};
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.bucket != b.bucket ? a.bucket < b.bucket : a.id < b.id;
  });
  std::vector<Delta> out;
  out.reserve(v.size());
  for (const Key& k : keys) {
    if (!out.empty() && out.back().bucket == k.bucket && out.back().id == k.id)
      out.back().sums += v[k.at].sums;
    else
      out.push_back(v[k.at]);
  }
  v.swap(out);
}

// Prepared statement read through the C API: SQLiteCpp's Column copies a shared_ptr per value,
// which dominates scans of 100k rollup rows.
class RawStatement {
 public:
  RawStatement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) !=
        SQLITE_OK)
      throw SQLite::Exception(db, sqlite3_errcode(db));
  }
  ~RawStatement() { sqlite3_finalize(st_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;

  // Rebinds the integer parameters 1..n and rewinds.
  void start(std::initializer_list<std::int64_t> params) {
    sqlite3_reset(st_);
    int i = 0;
    for (std::int64_t p : params) sqlite3_bind_int64(st_, ++i, p);
  }
  // Releases the statement's read of the database without stepping to its end.
  void finish() { sqlite3_reset(st_); }
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw SQLite::Exception(sqlite3_db_handle(st_), rc);
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
  }
  UsageSums sums(int first, std::int64_t sign = 1) const {
    UsageSums s;
    std::int64_t* f[] = {&s.calls,
                         &s.cache_hits,
                         &s.unpriced,
                         &s.prompt_tokens,
                         &s.completion_tokens,
                         &s.cache_read_tokens,
                         &s.cache_write_tokens,
                         &s.cached_tokens,
                         &s.cost};
    for (int i = 0; i < kSums; ++i) *f[i] = sign * sqlite3_column_int64(st_, first + i);
    return s;
  }

 private:
  sqlite3_stmt* st_ = nullptr;
};

// One piece of a query range: rows of a level over [from, to), added or subtracted.
enum class Level { raw, hourly, monthly };
struct Piece {
  Level level;
  std::int64_t from, to;
  std::int64_t sign;
};

std::int64_t bucket_floor(Level level, std::int64_t ms) {
  return level == Level::monthly ? floor_utc_month(ms) : floor_hour(ms);
}
std::int64_t bucket_ceil(Level level, std::int64_t ms) {
  std::int64_t f = bucket_floor(level, ms);
  if (f == ms) return f;
  return level == Level::monthly ? next_utc_month(f) : f + kHourMs;
}

void plan(Level level, std::int64_t a, std::int64_t b, std::int64_t sign, std::vector<Piece>& out);

// [x, y) added when x < y; [y, x) subtracted when y < x.
void plan_edge(Level level, std::int64_t x, std::int64_t y, std::int64_t sign,
               std::vector<Piece>& out) {
  if (x < y) plan(level, x, y, sign, out);
  if (y < x) plan(level, y, x, -sign, out);
}

// Whole buckets [s, e) with s and e the boundaries nearest a and b, corrected at the finer level
// (possibly by subtracting); used only when the corrections span less than the range itself.
void plan(Level level, std::int64_t a, std::int64_t b, std::int64_t sign, std::vector<Piece>& out) {
  if (level == Level::raw) {
    out.push_back({level, a, b, sign});
    return;
  }
  const Level finer = level == Level::monthly ? Level::hourly : Level::raw;
  std::int64_t best_s = 0, best_e = 0, best_cost = b - a;
  for (std::int64_t s : {bucket_floor(level, a), bucket_ceil(level, a)})
    for (std::int64_t e : {bucket_floor(level, b), bucket_ceil(level, b)}) {
      std::int64_t cost = (a > s ? a - s : s - a) + (b > e ? b - e : e - b);
      if (s < e && cost < best_cost) best_s = s, best_e = e, best_cost = cost;
    }
  if (best_s == best_e) {
    plan(finer, a, b, sign, out);
    return;
  }
  out.push_back({level, best_s, best_e, sign});
  plan_edge(finer, a, best_s, sign, out);
  plan_edge(finer, best_e, b, sign, out);
}

// Pieces whose signed sum is exactly [start, end); months only inside the span they are kept for.
std::vector<Piece> plan_range(std::int64_t start, std::int64_t end) {
  std::vector<Piece> pieces;
  const std::int64_t lo = std::max(start, kMonthLow), hi = std::min(end, kMonthHigh);
  if (lo >= hi) {
    plan(Level::hourly, start, end, 1, pieces);
    return pieces;
  }
  plan(Level::monthly, lo, hi, 1, pieces);
  if (start < lo) plan(Level::hourly, start, lo, 1, pieces);
  if (hi < end) plan(Level::hourly, hi, end, 1, pieces);
  return pieces;
}

}  // namespace

std::int64_t floor_utc_month(std::int64_t ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
  const year_month_day ymd(day);
  const sys_days first(ymd.year() / ymd.month() / 1);
  return duration_cast<milliseconds>(first.time_since_epoch()).count();
}

std::int64_t next_utc_month(std::int64_t month_start_ms) {
  using namespace std::chrono;
  const year_month_day ymd(floor<days>(sys_time<milliseconds>(milliseconds(month_start_ms))));
  const sys_days next((ymd.year() / ymd.month() + months(1)) / 1);
  return duration_cast<milliseconds>(next.time_since_epoch()).count();
}

namespace {

// All-time sums of what StoreLimits bounds, from per-series sums, 128 bits wide: a store written
// by an earlier version may hold more than the limits, or sums that wrapped negative.
struct WideTotals {
  Int128 tokens = 0, cost = 0;
  bool negative = false;
  std::int64_t through = -1;  // the newest record counted (-1: none read)
  void add(const UsageSums& s) {
    negative |= s.prompt_tokens < 0 || s.completion_tokens < 0 || s.cached_tokens < 0 || s.cost < 0;
    tokens += Int128{s.prompt_tokens} + s.completion_tokens + s.cached_tokens;
    cost += s.cost;
  }
};

// A total past its limit (or negative) reads as limit + 1: nothing more that adds to it fits.
std::int64_t clamp_total(Int128 v, bool negative, std::int64_t limit) {
  return negative || v > limit ? limit + 1 : static_cast<std::int64_t>(v);
}

}  // namespace

struct Store::Writer {
  explicit Writer(SQLite::Database& database)
      : db(database),
        insert(
            db,
            "INSERT INTO ai_usage (id, user_id, project_id, provider, model, prompt_tokens, "
            "completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, cost_nanos, "
            "priced, cached, timestamp_ms, received_ms, fingerprint, series_id) VALUES (?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, id) DO NOTHING"),
        lookup(db,
               "SELECT fingerprint, cost_nanos, priced FROM ai_usage WHERE project_id = ? AND "
               "id = ?"),
        new_series(
            db, "INSERT INTO series (provider, model, project_id, user_id) VALUES (?, ?, ?, ?)") {}

  // The strings are bound without a copy: `r` outlives the statement's execution.
  void insert_record(const UsageRecord& r, std::int64_t series) {
    insert.reset();
    insert.bindNoCopy(1, r.id);
    insert.bindNoCopy(2, r.user);
    insert.bindNoCopy(3, r.project);
    insert.bindNoCopy(4, r.provider);
    insert.bindNoCopy(5, r.model);
    insert.bind(6, static_cast<std::int64_t>(r.prompt_tokens));
    insert.bind(7, static_cast<std::int64_t>(r.completion_tokens));
    insert.bind(8, static_cast<std::int64_t>(r.total_tokens()));
    insert.bind(9, static_cast<std::int64_t>(r.cache_read_tokens));
    insert.bind(10, static_cast<std::int64_t>(r.cache_write_tokens));
    insert.bind(11, static_cast<std::int64_t>(r.cost));
    insert.bind(12, r.priced ? 1 : 0);
    insert.bind(13, r.cached ? 1 : 0);
    insert.bind(14, static_cast<std::int64_t>(r.timestamp_ms));
    insert.bind(15, static_cast<std::int64_t>(r.received_ms));
    insert.bindNoCopy(16, r.fingerprint);
    insert.bind(17, static_cast<std::int64_t>(series));
    insert.exec();
  }

  // The series' id; a new series gets its row now and is listed in `added`.
  std::int64_t series_id(const SeriesKeyView& key, std::vector<const SeriesKey*>& added) {
    // Read without the lock: only this thread changes `ids`.
    if (auto it = ids.find(key); it != ids.end()) return it->second;
    if (auto it = new_ids.find(key); it != new_ids.end()) return it->second;
    SeriesKey owned{std::string(key.provider), std::string(key.model), std::string(key.project),
                    std::string(key.user)};
    new_series.reset();
    new_series.bind(1, owned.provider);
    new_series.bind(2, owned.model);
    new_series.bind(3, owned.project);
    new_series.bind(4, owned.user);
    new_series.exec();
    const std::int64_t id = db.getLastInsertRowid();
    added.push_back(&new_ids.emplace(std::move(owned), id).first->first);
    return id;
  }

  // Adds a record the open transaction stored to its totals, unless that would take one past its
  // limit; a record that adds nothing always fits.
  BatchOutcome::Total admit(const UsageRecord& r, const StoreLimits& limits) {
    const std::int64_t tokens = r.total_tokens();
    if (tokens > 0 && tokens > limits.tokens - open.tokens) return BatchOutcome::Total::tokens;
    if (r.cost > 0 && r.cost > limits.cost - open.cost) return BatchOutcome::Total::cost;
    open.tokens += tokens;
    open.cost += r.cost;
    return BatchOutcome::Total::none;
  }

  // After COMMIT: the transaction's new series become visible to resolve_series().
  void publish() {
    if (new_ids.empty()) return;
    std::unique_lock lock(ids_mutex);
    for (const auto& [key, id] : new_ids) ids.emplace(key, id);
    new_ids.clear();
  }

  SQLite::Database& db;
  SQLite::Statement insert, lookup, new_series;
  // Open addressing: a lookup costs one or two cache misses, and resolve_series() prefetches them.
  using Ids = absl::flat_hash_map<SeriesKey, std::int64_t, SeriesKeyHash, SeriesKeyEq>;
  Ids ids;  // committed series; changed by the writer's thread under ids_mutex
  // Series created by the open transaction (node-based: `added` points into it).
  std::unordered_map<SeriesKey, std::int64_t, SeriesKeyHash, SeriesKeyEq> new_ids;
  mutable std::shared_mutex ids_mutex;
  bool ready = false;  // ids holds every series committed before; guarded by ids_mutex
  // All-time tokens and cost of what is committed (set with ready) and of the open transaction.
  struct Totals {
    std::int64_t tokens = 0;
    Nanos cost = 0;
  };
  Totals committed, open;
};

namespace {

// The label values of every series by id, loaded from the series table as it grows.
struct SeriesNames {
  // The query load() reads, on the series table of `schema`.
  static std::string select(const std::string& schema) {
    return "SELECT id, provider, model, project_id, user_id FROM " + schema +
           ".series WHERE id > ?";
  }
  // Loads the series added since the last call, through `st` (select()); inside a transaction.
  void load(RawStatement& st) {
    st.start({max_id});
    while (st.step()) {
      const std::int64_t id = st.i64(0);
      if (static_cast<std::size_t>(id) >= dims.size())
        dims.resize(static_cast<std::size_t>(id) + 1, {-1, -1, -1, -1});
      for (int d = 0; d < kDims; ++d) {
        std::string value = st.text(d + 1);
        auto [it, added] = index[d].try_emplace(value, static_cast<int>(names[d].size()));
        if (added) names[d].push_back(std::move(value));
        dims[static_cast<std::size_t>(id)][d] = it->second;
      }
      max_id = std::max(max_id, id);
    }
  }
  SeriesKey key_of(std::int64_t id) const {
    const auto& d = dims[static_cast<std::size_t>(id)];
    return {names[kProvider][d[kProvider]], names[kModel][d[kModel]], names[kProject][d[kProject]],
            names[kUser][d[kUser]]};
  }

  std::int64_t max_id = 0;
  std::vector<std::array<int, kDims>> dims;  // by series id: index into names, -1 for no series
  std::vector<std::string> names[kDims];
  std::unordered_map<std::string, int> index[kDims];
};

}  // namespace

// Committed records not yet rolled up, as roll_up() and reads need them: every record with seq in
// (base, top] is in `log`, in seq order. Past `limit` all are dropped (read back from the file).
struct Store::Recent {
  struct Record {
    std::int64_t seq, series, timestamp_ms;
    UsageSums sums;
  };

  explicit Recent(std::int64_t last_seq, std::size_t limit)
      : base(last_seq), top(last_seq), limit(limit) {}

  // After each commit that stored records, `last_seq` the last of them; one writer, commit order.
  void append(const std::vector<Record>& records, std::int64_t last_seq) {
    std::lock_guard lock(mutex);
    if (log.size() + records.size() > limit) {
      log.clear();
      base = last_seq;
    } else {
      log.insert(log.end(), records.begin(), records.end());
    }
    top = last_seq;
  }

  // After the records through `seq` were rolled up.
  void drop_through(std::int64_t seq) {
    std::lock_guard lock(mutex);
    while (!log.empty() && log.front().seq <= seq) log.pop_front();
    base = std::max(base, seq);
    top = std::max(top, base);
  }

  // Appends to `out` up to `max` kept records with seq in (after, upto], kChunk per hold of the
  // lock; returns the seq through which `out` now holds every record, `after` when the log does
  // not reach back to it.
  std::int64_t copy(std::int64_t after, std::int64_t upto, std::size_t max,
                    std::vector<Record>& out) {
    for (std::int64_t through = after;;) {
      std::lock_guard lock(mutex);
      if (base > through || max == 0) return through;
      auto it = std::upper_bound(log.begin(), log.end(), through,
                                 [](std::int64_t seq, const Record& r) { return seq < r.seq; });
      for (std::size_t n = std::min(max, kChunk); n > 0 && it != log.end() && it->seq <= upto;
           --n, --max, ++it)
        out.push_back(*it);
      if (it == log.end() || it->seq > upto) return std::max(through, std::min(upto, top));
      through = out.back().seq;
    }
  }

  // Records after this seq are kept (through top); those before it are read from the file.
  std::int64_t kept_after() {
    std::lock_guard lock(mutex);
    return base;
  }

  // Records copied per hold of the lock the writer appends under.
  static constexpr std::size_t kChunk = 4096;
  std::mutex mutex;
  std::deque<Record> log;
  std::int64_t base, top;
  const std::size_t limit;
};

// The rollup file's connection (the records file attached as `rec`), used by roll_up() only.
struct Store::Rollup : SeriesNames {
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
    if (db.execAndGet("PRAGMA user_version").getInt() == kRollupVersion &&
        !rollup_names_project(db, "main"))
      db.exec("ALTER TABLE rollup_state ADD COLUMN rolled_up_project TEXT");
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

  SQLite::Database db;
  std::unique_ptr<SQLite::Statement> add_hour, add_month, add_label, state;
  std::unique_ptr<RawStatement> pending;  // the oldest durable records not rolled up
  std::unique_ptr<RawStatement> series;   // select("rec")
  std::int64_t rolled = 0;                // every record up to this seq is rolled up
};

struct Store::Reader : SeriesNames {
  // `recent`: the store's records not yet rolled up, read from memory where it keeps them.
  // `read_only`: the files as they are, writing nothing (sqlite_read_only_uri), and the rollup file
  // only when it matches the records file (else an empty one in memory: reads count every record).
  Reader(const std::string& path, const std::string& rollup_path, Recent& recent,
         bool read_only = false)
      : recent(recent),
        db(read_only ? sqlite_read_only_uri(path) : path,
           read_only ? SQLite::OPEN_READWRITE | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX
                     : SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
           5000),
        attached(
            (read_only ? attach_read_only(db, rollup_path) : attach(db, rollup_path, "r"), true)),
        monthly(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                    " FROM r.usage_monthly WHERE month_ms >= ? AND month_ms < ?"),
        monthly_of(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                       " FROM r.usage_monthly INDEXED BY usage_monthly_series "
                                       "WHERE series_id = ? AND month_ms >= ? AND month_ms < ?"),
        hourly(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                   " FROM r.usage_hourly WHERE hour_ms >= ? AND hour_ms < ?"),
        // Rolled-up records of a time range, by the timestamp index (never by the seq range, which
        // holds nearly every record); CROSS JOIN keeps them the outer loop. Records from before
        // schema v4 have no series_id.
        raw(db.getHandle(),
            "SELECT s.id, " + record_columns(true) +
                " FROM ai_usage a INDEXED BY ai_usage_timestamp_idx CROSS JOIN series s ON "
                "s.provider = a.provider AND s.model = "
                "a.model AND s.project_id = a.project_id AND s.user_id = a.user_id WHERE "
                "a.timestamp_ms >= ?1 AND a.timestamp_ms < ?2 AND a.seq <= ?3 GROUP BY s.id"),
        // Records of seq in (?1, ?2] with a time in [?3, ?4], one row each, by the seq range (a
        // month of the timestamp index would be up to millions of records).
        pending(db.getHandle(), "SELECT series_id, " + record_columns(false) +
                                    " FROM ai_usage NOT INDEXED WHERE seq > ?1 AND seq <= ?2 AND "
                                    "timestamp_ms >= ?3 AND timestamp_ms <= ?4"),
        last_seq(db.getHandle(), "SELECT coalesce(max(seq), 0) FROM ai_usage"),
        rolled_up(db.getHandle(), "SELECT rolled_up_seq FROM r.rollup_state"),
        labels(db.getHandle(),
               std::string("SELECT dim, value, ") + kSumColumns +
                   " FROM r.usage_monthly_label WHERE month_ms >= ? AND month_ms < ?"),
        new_series(db.getHandle(), select("main")) {}

  // Loads the series committed since the last call; run inside the read transaction.
  void refresh() { load(new_series); }

  // The rollup file read-only as `r` when it belongs to the records file in `db`, else empty
  // rollups in memory that count nothing (rolled_up_seq 0).
  static void attach_read_only(SQLite::Database& db, const std::string& rollup_path) {
    const std::string store_id = db.execAndGet("SELECT store_id FROM store_info").getString();
    SQLite::Statement key_of(db, "SELECT project_id, id FROM ai_usage WHERE seq = ?");
    auto last_key = [&](std::int64_t seq) {
      key_of.reset();
      key_of.bind(1, seq);
      RecordKey key;
      if (key_of.executeStep())
        key = {key_of.getColumn(0).getString(), key_of.getColumn(1).getString()};
      return key;
    };
    if (std::filesystem::exists(rollup_path)) {
      bool attached = false;
      try {
        attach(db, sqlite_read_only_uri(rollup_path), "r");
        attached = true;
        if (rollup_position(db, "r", store_id, last_key)) return;
      } catch (const SQLite::Exception&) {
        // unreadable: counted from the records instead
      }
      key_of.reset();
      if (attached) db.exec("DETACH DATABASE r");
    }
    attach(db, ":memory:", "r");
    db.exec(rollup_schema("r"));
    SQLite::Statement st(db, "INSERT INTO r.rollup_state VALUES (0, ?, 0, '', '')");
    st.bind(1, store_id);
    st.exec();
  }

  // The rollups' position. First read of a transaction: the rollup file's snapshot is taken
  // before the records file's, which then holds every record and series the rollups count.
  std::int64_t rolled_up_seq() {
    rolled_up.start({});
    const std::int64_t rolled = rolled_up.step() ? rolled_up.i64(0) : 0;
    rolled_up.finish();  // an unfinished statement would keep the snapshot open after commit
    return rolled;
  }

  // Sums by series id over [start, end) for series matching `f`, from one consistent snapshot.
  // With `by_label` (kDims vectors) and no label filter, whole months are added there instead,
  // by name index, from the per-label rollup.
  std::vector<UsageSums> accumulate(const UsageFilter& f, std::vector<UsageSums>* by_label) {
    SQLite::Transaction tx(db);
    std::vector<UsageSums> acc = accumulate_in(f, by_label);
    tx.commit();
    return acc;
  }
  // The same inside the caller's read transaction (several reads, one snapshot).
  std::vector<UsageSums> accumulate_in(const UsageFilter& f, std::vector<UsageSums>* by_label) {
    const std::int64_t rolled = rolled_up_seq();
    refresh();
    // A label filter becomes a required name index; a name never seen matches nothing.
    std::array<int, kDims> want{-1, -1, -1, -1};
    const std::optional<std::string>* wanted[kDims] = {&f.provider, &f.model, &f.project, &f.user};
    for (int d = 0; d < kDims; ++d) {
      if (!*wanted[d]) continue;
      auto it = index[d].find(**wanted[d]);
      if (it == index[d].end()) return {};
      want[d] = it->second;
      by_label = nullptr;
    }
    if (by_label)
      for (int d = 0; d < kDims; ++d) by_label[d].assign(names[d].size(), UsageSums{});
    auto matches = [&](std::int64_t id) {
      if (id <= 0 || id > max_id) return false;
      const auto& d = dims[static_cast<std::size_t>(id)];
      if (d[0] < 0) return false;
      for (int i = 0; i < kDims; ++i)
        if (want[i] >= 0 && d[i] != want[i]) return false;
      return true;
    };
    std::vector<UsageSums> acc(static_cast<std::size_t>(max_id) + 1);
    const bool all_time_read = !by_label && !f.start_ms && !f.end_ms &&
                               std::all_of(want.begin(), want.end(), [](int w) { return w < 0; });
    // A filter matching few series reads their monthly rows by series (the index) instead of
    // every series' rows: one user's year is ~1k rows, not 1.2M.
    std::vector<std::int64_t> few;
    if (!by_label && std::any_of(want.begin(), want.end(), [](int w) { return w >= 0; })) {
      for (std::int64_t id = 1; id <= max_id; ++id)
        if (matches(id)) few.push_back(id);
      if (few.size() * kFewSeries > static_cast<std::size_t>(max_id)) few.clear();
    }
    auto read = [&](RawStatement& st, std::int64_t sign) {
      while (st.step())
        if (std::int64_t id = st.i64(0); matches(id))
          acc[static_cast<std::size_t>(id)] += st.sums(1, sign);
    };
    auto read_labels = [&](std::int64_t sign) {
      while (labels.step()) {
        const std::int64_t d = labels.i64(0);
        if (d < 0 || d >= kDims) continue;
        auto it = index[d].find(labels.text(1));
        // Label rows are written with their series, so the snapshot always knows the name.
        if (it == index[d].end())
          throw std::logic_error("label without a series: " + labels.text(1));
        by_label[d][static_cast<std::size_t>(it->second)] += labels.sums(2, sign);
      }
    };
    std::vector<Piece> pieces;
    // Times of the records to count, inclusive.
    std::int64_t first = std::numeric_limits<std::int64_t>::min();
    std::int64_t last = std::numeric_limits<std::int64_t>::max();
    if (!f.start_ms && !f.end_ms) {
      // All time, including records outside the queryable span (their months are far buckets).
      pieces.push_back({Level::monthly, first, last, 1});
    } else {
      const std::int64_t start = std::max(f.start_ms.value_or(kTimeMin), kTimeMin);
      const std::int64_t end = std::min(f.end_ms.value_or(kTimeMax), kTimeMax);
      if (start >= end) return acc;
      pieces = plan_range(start, end);
      first = start;
      last = end - 1;
    }
    // Records not rolled up: those kept in memory, the others (after a restart, or past the
    // limit, or committed but not yet handed over) from the records file.
    last_seq.start({});
    const std::int64_t newest = last_seq.step() ? last_seq.i64(0) : 0;
    last_seq.finish();
    std::vector<Recent::Record> chunk;
    for (std::int64_t through = rolled; through < newest;) {
      chunk.clear();
      if (const std::int64_t next = recent.copy(through, newest, Recent::kChunk, chunk);
          next > through) {
        for (const Recent::Record& r : chunk)
          if (r.timestamp_ms >= first && r.timestamp_ms <= last && matches(r.series))
            acc[static_cast<std::size_t>(r.series)] += r.sums;
        through = next;
        continue;
      }
      const std::int64_t kept_after = recent.kept_after();
      const std::int64_t upto = kept_after > through ? std::min(kept_after, newest) : newest;
      pending.start({through, upto, first, last});
      read(pending, 1);
      through = upto;
    }
    for (const Piece& p : pieces) {
      if (p.level == Level::monthly && by_label) {
        labels.start({p.from, p.to});
        read_labels(p.sign);
        continue;
      }
      if (p.level == Level::monthly && !few.empty()) {
        for (std::int64_t id : few) {
          monthly_of.start({id, p.from, p.to});
          read(monthly_of, p.sign);
        }
        continue;
      }
      RawStatement& st = p.level == Level::monthly  ? monthly
                         : p.level == Level::hourly ? hourly
                                                    : raw;
      if (&st == &raw)
        st.start({p.from, p.to, rolled});
      else
        st.start({p.from, p.to});
      read(st, p.sign);
    }
    if (all_time_read) {
      all_time = {};
      for (const UsageSums& s : acc) all_time.add(s);
      all_time.through = newest;
    }
    return acc;
  }

  Recent& recent;
  SQLite::Database db;
  bool attached;  // the rollup file, as `r`, before the statements that read it
  RawStatement monthly, monthly_of, hourly, raw, pending, last_seq, rolled_up, labels, new_series;
  WideTotals all_time;  // of the last all-time read of every series
  // A filter matching at most 1/kFewSeries of the series reads by series.
  static constexpr std::size_t kFewSeries = 16;
};

Store::Store(const StoreOptions& options) {
  // No memory statistics: they take a global mutex on every SQLite allocation. Only possible
  // before SQLite initialises; later it is refused and changes nothing.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  if (options.read_only) {
    open_read_only(options);
    return;
  }
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
  // No checkpoint inside COMMIT (it stalled the writer ~30 ms a time): the hook only counts the
  // WAL's frames, and checkpoint()/finish_checkpoint() copy them back (GroupCommitWriter).
  sqlite3_wal_hook(
      db.getHandle(),
      [](void* frames, sqlite3*, const char*, int n) {
        static_cast<std::atomic<int>*>(frames)->store(n, std::memory_order_relaxed);
        return SQLITE_OK;
      },
      &wal_frames_);
  sqlite3_create_function(db.getHandle(), "aiusage_month", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                          nullptr, sql_month_bucket, nullptr, nullptr);
  int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > kSchemaVersion)
    throw std::runtime_error("database " + options.path + " has schema version " +
                             std::to_string(version) + ", newer than this binary's " +
                             std::to_string(kSchemaVersion));
  const std::string rollup_path = options.path + "-rollups";
  for (; version < kSchemaVersion; ++version) {
    if (version == kRollupsMoved) {
      migrate_v5(db, rollup_path);
      continue;
    }
    SQLite::Transaction tx(db);
    db.exec(kMigrations[version]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
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

void Store::open_read_only(const StoreOptions& options) {
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

Store::~Store() {
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void Store::prepare_writer() {
  Writer& w = *writer_;
  if (w.ready) return;
  std::lock_guard lock(reader_mutex_);
  // Before any commit of this store: the last all-time read (the service's at startup) counted
  // everything committed unless a commit came since.
  if (reader_->all_time.through != committed_seq_.load()) (void)reader_->accumulate({}, nullptr);
  const WideTotals& all = reader_->all_time;
  w.committed = {clamp_total(all.tokens, all.negative, limits_.tokens),
                 clamp_total(all.cost, all.negative, limits_.cost)};
  SQLite::Transaction tx(reader_->db);
  reader_->refresh();
  tx.commit();
  Writer::Ids ids;
  ids.reserve(reader_->dims.size());
  for (std::size_t id = 1; id < reader_->dims.size(); ++id)
    if (reader_->dims[id][0] >= 0)
      ids.emplace(reader_->key_of(static_cast<std::int64_t>(id)), static_cast<std::int64_t>(id));
  std::unique_lock ids_lock(w.ids_mutex);
  w.ids.swap(ids);
  w.ready = true;
}

void Store::resolve_series(std::span<UsageRecord> records) const {
  const Writer& w = *writer_;
  // Short holds: the writer waits for the lock to publish new series.
  constexpr std::size_t kChunk = 64;
  for (std::size_t i = 0; i < records.size(); i += kChunk) {
    std::shared_lock lock(w.ids_mutex);
    if (!w.ready) return;
    const std::size_t end = std::min(records.size(), i + kChunk);
    // The chunk's slots are fetched together, not one cache miss after the other.
    for (std::size_t j = i; j < end; ++j) w.ids.prefetch(SeriesKeyView(records[j]));
    for (std::size_t j = i; j < end; ++j) {
      auto it = w.ids.find(SeriesKeyView(records[j]));
      records[j].series_id = it == w.ids.end() ? 0 : it->second;
    }
  }
}

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

Result<int> Store::checkpoint() {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return passive_checkpoint(*checkpoint_db_);
}

Result<int> Store::finish_checkpoint() {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return passive_checkpoint(*writer_db_);
}

Result<bool> Store::sync() {
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

Result<std::vector<BatchOutcome>> Store::commit(
    std::span<std::vector<UsageRecord>* const> batches) {
  SQLite::Database& db = *writer_db_;
  Writer& w = *writer_;
  std::vector<BatchOutcome> outcomes(batches.size());
  std::vector<const SeriesKey*> added;
  std::vector<Recent::Record> fresh;
  std::size_t inserted = 0;
  std::int64_t last_seq = 0;
  // Forgets the series created by the open transaction: their rows were rolled back.
  auto forget = [&] {
    for (const SeriesKey* key : added) w.new_ids.erase(*key);
    added.clear();
  };
  bool in_tx = false;
  try {
    prepare_writer();
    // No savepoint per batch (it copies every page the batch changes into a statement journal):
    // a conflicting batch rolls the transaction back and the rest are stored again without it.
    for (bool again = true; again;) {
      again = false;
      forget();
      fresh.clear();
      inserted = 0;
      last_seq = 0;
      w.open = w.committed;
      db.exec("BEGIN IMMEDIATE");
      in_tx = true;
      for (std::size_t b = 0; b < batches.size() && !again; ++b) {
        BatchOutcome& out = outcomes[b];
        if (out.refused()) continue;  // left out since an earlier attempt
        std::vector<UsageRecord>& records = *batches[b];
        out.duplicate.assign(records.size(), false);
        out.series.assign(records.size(), 0);
        for (std::size_t i = 0; i < records.size(); ++i) {
          UsageRecord& r = records[i];
          const std::int64_t series =
              r.series_id > 0 ? r.series_id : w.series_id(SeriesKeyView(r), added);
          w.insert_record(r, series);
          if (db.getChanges() == 1) {
            if (const auto over = w.admit(r, limits_); over != BatchOutcome::Total::none) {
              out.over_limit = over;
              out.over_limit_index = i;
              again = true;
              break;
            }
            out.series[i] = series;
            ++inserted;
            last_seq = db.getLastInsertRowid();
            fresh.push_back({last_seq, series, r.timestamp_ms, {}});
            fresh.back().sums.add(r);
            continue;
          }
          // The record of the same id in the same project: ids are keys within a project.
          w.lookup.reset();
          w.lookup.bindNoCopy(1, r.project);
          w.lookup.bindNoCopy(2, r.id);
          if (!w.lookup.executeStep())
            throw std::logic_error("insert ignored but id not found: " + r.id + " in project \"" +
                                   r.project + "\"");
          if (w.lookup.getColumn(0).getString() != r.fingerprint) {
            out.conflict = true;
            out.conflict_index = i;
            again = true;
            break;
          }
          out.duplicate[i] = true;
          r.cost = w.lookup.getColumn(1).getInt64();
          r.priced = w.lookup.getColumn(2).getInt() != 0;
        }
      }
      if (again) {
        db.exec("ROLLBACK");
        in_tx = false;
      }
    }
    db.exec("COMMIT");
    w.committed = w.open;
    w.publish();
    if (!fresh.empty()) recent_->append(fresh, last_seq);
    pending_ += inserted;
    if (last_seq > committed_seq_.load(std::memory_order_relaxed)) {
      committed_seq_.store(last_seq, std::memory_order_release);
      if (!full_sync_) synced_seq_.store(last_seq, std::memory_order_release);
    }
    return outcomes;
  } catch (const SQLite::Exception& e) {
    std::string message = e.what();
    forget();
    if (in_tx && sqlite3_get_autocommit(db.getHandle()) == 0) {
      try {
        db.exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
      }
    }
    return Error{message};
  }
}

Result<std::size_t> Store::roll_up(std::size_t max_records) {
  Rollup& u = *rollup_;
  // Only records on disk: a crash must not leave rollups counting records the file lost.
  std::int64_t upto = synced_seq_.load(std::memory_order_acquire);
  if (upto <= u.rolled) return std::size_t{0};
  // Records kept in memory are copied from there, the others read back from the records file.
  std::vector<Recent::Record> kept;
  recent_->copy(u.rolled, upto, max_records, kept);
  try {
    // Deferred: the records file is only read, so its write lock is never taken.
    SQLite::Transaction tx(u.db);
    std::vector<Delta> hours, months;
    std::int64_t last = 0;
    auto add = [&](std::int64_t seq, std::int64_t id, std::int64_t ts, const UsageSums& one) {
      last = seq;
      hours.push_back({hour_bucket(ts), id, one});
      months.push_back({month_bucket(ts), id, one});
    };
    if (!kept.empty()) {
      hours.reserve(kept.size());
      months.reserve(kept.size());
      for (const Recent::Record& r : kept) add(r.seq, r.series, r.timestamp_ms, r.sums);
    } else {
      upto = std::min(upto, recent_->kept_after());
      u.pending->start({u.rolled, upto, static_cast<std::int64_t>(max_records)});
      while (u.pending->step())
        add(u.pending->i64(0), u.pending->i64(1), u.pending->i64(2), u.pending->sums(3));
      u.pending->finish();
    }
    const std::size_t count = hours.size();
    if (count == 0) return count;
    u.load(*u.series);  // same snapshot: knows the series of every record read
    merge(hours);
    merge(months);
    // Label rows in key order too.
    std::map<std::tuple<std::int64_t, int, std::string_view>, UsageSums> labels;
    for (const Delta& m : months) {
      if (m.id <= 0 || m.id > u.max_id || u.dims[static_cast<std::size_t>(m.id)][0] < 0)
        throw std::logic_error("record of unknown series " + std::to_string(m.id));
      const auto& d = u.dims[static_cast<std::size_t>(m.id)];
      for (int i = 0; i < kDims; ++i) labels[{m.bucket, i, u.names[i][d[i]]}] += m.sums;
    }
    for (auto [st, rows] :
         {std::pair{u.add_hour.get(), &hours}, std::pair{u.add_month.get(), &months}})
      for (const Delta& r : *rows) {
        st->reset();
        st->bind(1, static_cast<std::int64_t>(r.bucket));
        st->bind(2, static_cast<std::int64_t>(r.id));
        bind_sums(*st, 3, r.sums);
        st->exec();
      }
    for (const auto& [k, sums] : labels) {
      u.add_label->reset();
      u.add_label->bind(1, static_cast<std::int64_t>(std::get<0>(k)));
      u.add_label->bind(2, std::get<1>(k));
      u.add_label->bind(3, std::string(std::get<2>(k)));
      bind_sums(*u.add_label, 4, sums);
      u.add_label->exec();
    }
    u.state->reset();
    u.state->bind(1, static_cast<std::int64_t>(last));
    u.state->exec();
    tx.commit();
    u.rolled = last;
    pending_.fetch_sub(count);
    recent_->drop_through(last);
    return count;
  } catch (const SQLite::Exception& e) {
    u.pending->finish();
    return Error{e.what()};
  }
}

std::vector<SeriesSums> Store::aggregate(const UsageFilter& f) const {
  std::lock_guard lock(reader_mutex_);
  std::vector<UsageSums> acc = reader_->accumulate(f, nullptr);
  std::vector<SeriesSums> rows;
  for (std::size_t id = 0; id < acc.size(); ++id)
    if (acc[id].calls != 0)
      rows.push_back({reader_->key_of(static_cast<std::int64_t>(id)), acc[id]});
  std::sort(rows.begin(), rows.end(),
            [](const SeriesSums& a, const SeriesSums& b) { return a.key < b.key; });
  return rows;
}

Breakdown Store::breakdown(const UsageFilter& f) const {
  std::lock_guard lock(reader_mutex_);
  const Reader& r = *reader_;
  // Folds by name index first, so each name is looked up in a map once, not once per series.
  std::vector<UsageSums> by[kDims];
  std::vector<UsageSums> acc = reader_->accumulate(f, by);
  for (int d = 0; d < kDims; ++d) by[d].resize(r.names[d].size());
  // Per-series sums may be signed corrections (zero calls, nonzero tokens): fold all of them.
  const UsageSums zero;
  for (std::size_t id = 0; id < acc.size(); ++id) {
    if (acc[id] == zero) continue;
    for (int d = 0; d < kDims; ++d) by[d][static_cast<std::size_t>(r.dims[id][d])] += acc[id];
  }
  Breakdown out;
  for (const UsageSums& s : by[kProvider]) out.total += s;
  std::map<std::string, UsageSums>* maps[kDims] = {&out.by_provider, &out.by_model, &out.by_project,
                                                   &out.by_user};
  for (int d = 0; d < kDims; ++d)
    for (std::size_t i = 0; i < by[d].size(); ++i)
      if (by[d][i].calls != 0) maps[d]->emplace(r.names[d][i], by[d][i]);
  return out;
}

std::vector<SeriesSums> Store::series_totals() const {
  std::lock_guard lock(reader_mutex_);
  std::vector<UsageSums> acc = reader_->accumulate({}, nullptr);
  std::vector<SeriesSums> rows;
  rows.reserve(acc.size());
  for (std::size_t id = 0; id < acc.size(); ++id)
    if (acc[id].calls != 0)
      rows.push_back({reader_->key_of(static_cast<std::int64_t>(id)), acc[id]});
  return rows;
}

SeriesTable Store::series_table(const UsageFilter& period) const {
  std::lock_guard lock(reader_mutex_);
  const Reader& r = *reader_;
  SeriesTable out;
  {
    SQLite::Transaction tx(reader_->db);  // one snapshot for both
    out.total = reader_->accumulate_in({}, nullptr);
    out.period = reader_->accumulate_in(period, nullptr);
    tx.commit();
  }
  const std::size_t ids = std::max(out.total.size(), out.period.size());
  out.total.resize(ids);
  out.period.resize(ids);
  // Names sorted per label, rows then named by rank: comparing ranks orders rows as their keys.
  std::array<std::vector<std::uint32_t>, kDims> rank;
  for (int d = 0; d < kDims; ++d) {
    const std::vector<std::string>& names = r.names[d];
    std::vector<std::uint32_t> order(names.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return names[a] < names[b]; });
    rank[d].resize(names.size());
    out.names[d].reserve(names.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) {
      rank[d][order[i]] = i;
      out.names[d].push_back(names[order[i]]);
    }
  }
  out.rows.reserve(ids);
  for (std::size_t id = 0; id < ids; ++id) {
    if (out.total[id].calls == 0 && out.period[id].calls == 0) continue;
    const auto& dims = r.dims[id];
    out.rows.push_back(
        {{rank[0][static_cast<std::size_t>(dims[0])], rank[1][static_cast<std::size_t>(dims[1])],
          rank[2][static_cast<std::size_t>(dims[2])], rank[3][static_cast<std::size_t>(dims[3])]},
         static_cast<std::uint32_t>(id)});
  }
  std::sort(out.rows.begin(), out.rows.end(),
            [](const SeriesTable::Row& a, const SeriesTable::Row& b) { return a.names < b.names; });
  return out;
}

std::int64_t Store::record_count() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->db.execAndGet("SELECT count(*) FROM ai_usage").getInt64();
}

std::string Store::integrity_check() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->db.execAndGet("PRAGMA integrity_check").getString();
}

}  // namespace aiusage
