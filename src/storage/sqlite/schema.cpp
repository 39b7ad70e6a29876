#include "schema.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "aiusage/digest.hpp"
#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"

namespace aiusage {

namespace {

// SQL function aiusage_month(ms): the monthly bucket of a time, for migrations.
void sql_month_bucket(sqlite3_context* ctx, int, sqlite3_value** argv) {
  sqlite3_result_int64(ctx, month_bucket(sqlite3_value_int64(argv[0])));
}

// One record's contribution to each sum column, in kSumNames order (columns of ai_usage).
constexpr const char* kRecordValues[kSums] = {
    "1",
    "cached",
    "1 - priced",
    "CASE WHEN cached THEN 0 ELSE prompt_tokens END",
    "CASE WHEN cached THEN 0 ELSE completion_tokens END",
    "CASE WHEN cached THEN 0 ELSE cache_read_tokens END",
    "CASE WHEN cached THEN 0 ELSE cache_write_tokens END",
    "CASE WHEN cached THEN total_tokens ELSE 0 END",
    "cost_nanos",
    "CASE WHEN cached THEN 0 ELSE cache_write_1h_tokens END",
    "CASE WHEN cached THEN 0 ELSE audio_input_tokens END",
    "CASE WHEN cached THEN 0 ELSE image_input_tokens END",
    "CASE WHEN cached THEN 0 ELSE reasoning_tokens END",
    "CASE WHEN cached THEN 0 ELSE audio_output_tokens END",
    "CASE WHEN cached THEN 0 ELSE image_output_tokens END"};

}  // namespace

// The kRecordValues as select columns, each summed when `summed`.
std::string record_columns(bool summed) {
  std::string out;
  for (int i = 0; i < kSums; ++i)
    out += std::string(i ? ", " : "") + (summed ? "sum(" : "") + kRecordValues[i] +
           (summed ? ")" : "");
  return out;
}

namespace {

constexpr const char* kDimColumns[kDims] = {"provider", "model", "project_id", "user_id"};

// v3: all-time totals are summed from usage_monthly (series keeps only its labels), and a monthly
// rollup per label value lets unfiltered month-long statistics read ~1k rows instead of 100k.
std::string migration_v3() {
  std::string sums, cols;
  for (int i = 0; i < kLegacySums; ++i) {
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
  for (int i = 0; i < kLegacySums; ++i)
    sql += std::string("ALTER TABLE series DROP COLUMN ") + kSumNames[i] + ";\n";
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
    // v7: the detail token classes, parts of prompt_tokens or completion_tokens (0 before).
    R"SQL(
ALTER TABLE ai_usage ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN audio_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN image_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN audio_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN image_output_tokens INTEGER NOT NULL DEFAULT 0;
)SQL",
    // v8: the service tier a record asked for, and its tool calls (whether each tool had a price
    // when the record was stored), for the tool-call counters.
    R"SQL(
ALTER TABLE ai_usage ADD COLUMN service_tier TEXT NOT NULL DEFAULT 'standard';
CREATE TABLE record_tools (
  seq INTEGER NOT NULL, tool TEXT NOT NULL, calls INTEGER NOT NULL, priced INTEGER NOT NULL,
  PRIMARY KEY (seq, tool)
) WITHOUT ROWID;
)SQL",
    // v9: a record's tags, found by key and value for tag.KEY=VALUE filters and byTag.
    R"SQL(
CREATE TABLE record_tags (
  seq INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (seq, key)
) WITHOUT ROWID;
CREATE INDEX record_tags_key_value ON record_tags (key, value, seq);
)SQL",
    // v10: a series is also told apart by the values of its tag labels (tags, "" for none), and
    // every record names its series (those from before v4 get theirs), so none is found by labels.
    R"SQL(
CREATE TABLE series_v10 (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL, model TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '',
  UNIQUE (provider, model, project_id, user_id, tags)
);
INSERT INTO series_v10 (id, provider, model, project_id, user_id)
SELECT id, provider, model, project_id, user_id FROM series;
DROP TABLE series;
ALTER TABLE series_v10 RENAME TO series;
UPDATE ai_usage SET series_id = (SELECT s.id FROM series s WHERE s.provider = ai_usage.provider
  AND s.model = ai_usage.model AND s.project_id = ai_usage.project_id
  AND s.user_id = ai_usage.user_id AND s.tags = '')
WHERE series_id IS NULL;
)SQL",
};
static_assert(std::size(kMigrations) == static_cast<std::size_t>(SqliteStore::kSchemaVersion));
constexpr int kRollupsMoved = 4;  // the migration from this version is migrate_v5()

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
    const std::string sums = kLegacySumColumns;  // the detail columns default to 0
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

}  // namespace

void migrate(SQLite::Database& db, const std::string& path) {
  sqlite3_create_function(db.getHandle(), "aiusage_month", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                          nullptr, sql_month_bucket, nullptr, nullptr);
  int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > SqliteStore::kSchemaVersion)
    throw std::runtime_error("database " + path + " has schema version " + std::to_string(version) +
                             ", newer than this binary's " +
                             std::to_string(SqliteStore::kSchemaVersion));
  const std::string rollup_path = path + "-rollups";
  for (; version < SqliteStore::kSchemaVersion; ++version) {
    if (version == kRollupsMoved) {
      migrate_v5(db, rollup_path);
      continue;
    }
    SQLite::Transaction tx(db);
    db.exec(kMigrations[version]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
}

// The rollup tables in schema `s`, dropped first when they exist.
std::string rollup_schema(const std::string& s) {
  std::string cols;
  for (const char* name : kSumNames)
    cols += std::string(", ") + name + " INTEGER NOT NULL DEFAULT 0";
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

void upgrade_rollups_v2(SQLite::Database& db) {
  SQLite::Transaction tx(db);
  for (const char* t : {"usage_hourly", "usage_monthly", "usage_monthly_label"})
    for (int i = kLegacySums; i < kSums; ++i)
      db.exec(std::string("ALTER TABLE ") + t + " ADD COLUMN " + kSumNames[i] +
              " INTEGER NOT NULL DEFAULT 0");
  db.exec("PRAGMA user_version = 2");
  tx.commit();
}

void attach(SQLite::Database& db, const std::string& path, const char* as) {
  SQLite::Statement st(db, std::string("ATTACH DATABASE ? AS ") + as);
  st.bind(1, path);
  st.exec();
}

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

}  // namespace aiusage
