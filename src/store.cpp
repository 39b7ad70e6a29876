#include "aiusage/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <map>
#include <stdexcept>
#include <tuple>

namespace aiusage {

namespace {

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kTimeMin = -(std::int64_t{1} << 60);
constexpr std::int64_t kTimeMax = std::int64_t{1} << 60;

std::int64_t floor_hour(std::int64_t ms) {
  std::int64_t q = ms / kHourMs;
  if (ms % kHourMs < 0) --q;
  return q * kHourMs;
}
std::int64_t ceil_hour(std::int64_t ms) {
  std::int64_t f = floor_hour(ms);
  return f == ms ? f : f + kHourMs;
}

// Schema migrations: index i takes user_version i to i + 1.
const char* const kMigrations[] = {
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
};

constexpr const char* kSumColumns =
    "calls, cache_hits, unpriced, prompt_tokens, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cached_tokens, cost_nanos";

std::string upsert_sql(const std::string& table, const std::string& key_columns, int key_count) {
  std::string sql = "INSERT INTO " + table + " (" + key_columns + ", " + kSumColumns + ") VALUES (";
  for (int i = 0; i < key_count + 9; ++i) sql += i ? ", ?" : "?";
  sql += ") ON CONFLICT DO UPDATE SET ";
  const char* cols[] = {"calls", "cache_hits", "unpriced", "prompt_tokens", "completion_tokens",
                        "cache_read_tokens", "cache_write_tokens", "cached_tokens", "cost_nanos"};
  for (int i = 0; i < 9; ++i)
    sql += std::string(i ? ", " : "") + cols[i] + " = " + cols[i] + " + excluded." + cols[i];
  return sql;
}

void bind_sums(SQLite::Statement& st, int first, const UsageSums& s) {
  const std::int64_t v[] = {s.calls, s.cache_hits, s.unpriced, s.prompt_tokens, s.completion_tokens,
                            s.cache_read_tokens, s.cache_write_tokens, s.cached_tokens, s.cost};
  for (int i = 0; i < 9; ++i) st.bind(first + i, static_cast<std::int64_t>(v[i]));
}

UsageSums read_sums(SQLite::Statement& st, int first) {
  UsageSums s;
  std::int64_t* f[] = {&s.calls, &s.cache_hits, &s.unpriced, &s.prompt_tokens, &s.completion_tokens,
                       &s.cache_read_tokens, &s.cache_write_tokens, &s.cached_tokens, &s.cost};
  for (int i = 0; i < 9; ++i) *f[i] = st.getColumn(first + i).getInt64();
  return s;
}

// Appends "AND col = ?" for each set filter field; returns the values in bind order.
std::vector<std::string> filter_sql(const UsageFilter& f, std::string& sql) {
  std::vector<std::string> values;
  auto add = [&](const std::optional<std::string>& v, const char* col) {
    if (!v) return;
    sql += std::string(" AND ") + col + " = ?";
    values.push_back(*v);
  };
  add(f.user, "user_id");
  add(f.project, "project_id");
  add(f.provider, "provider");
  add(f.model, "model");
  return values;
}

std::vector<SeriesSums> run_grouped(SQLite::Database& db, const std::string& sql, std::int64_t start,
                                    std::int64_t end, const std::vector<std::string>& values) {
  SQLite::Statement st(db, sql);
  st.bind(1, static_cast<std::int64_t>(start));
  st.bind(2, static_cast<std::int64_t>(end));
  for (std::size_t i = 0; i < values.size(); ++i) st.bind(static_cast<int>(i + 3), values[i]);
  std::vector<SeriesSums> rows;
  while (st.executeStep()) {
    rows.push_back({{st.getColumn(0).getString(), st.getColumn(1).getString(),
                     st.getColumn(2).getString(), st.getColumn(3).getString()},
                    read_sums(st, 4)});
  }
  return rows;
}

using HourKey = std::tuple<std::int64_t, SeriesKey>;

}  // namespace

Store::Store(const StoreOptions& options) {
  const int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX;
  writer_ = std::make_unique<SQLite::Database>(options.path, flags, 5000);
  writer_->exec("PRAGMA journal_mode = WAL");
  writer_->exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  int version = writer_->execAndGet("PRAGMA user_version").getInt();
  if (version > kSchemaVersion)
    throw std::runtime_error("database " + options.path + " has schema version " + std::to_string(version) +
                             ", newer than this binary's " + std::to_string(kSchemaVersion));
  for (; version < kSchemaVersion; ++version) {
    SQLite::Transaction tx(*writer_);
    writer_->exec(kMigrations[version]);
    writer_->exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
  reader_ = std::make_unique<SQLite::Database>(options.path, SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX, 5000);
}

Store::~Store() = default;

Result<std::vector<BatchOutcome>> Store::commit(std::span<std::vector<UsageRecord>* const> batches) {
  SQLite::Database& db = *writer_;
  std::vector<BatchOutcome> outcomes(batches.size());
  bool in_tx = false;
  try {
    db.exec("BEGIN IMMEDIATE");
    in_tx = true;
    SQLite::Statement insert(db,
        "INSERT INTO ai_usage (id, user_id, project_id, provider, model, prompt_tokens, "
        "completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, cost_nanos, priced, "
        "cached, timestamp_ms, received_ms, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING");
    SQLite::Statement lookup(db, "SELECT fingerprint, cost_nanos, priced FROM ai_usage WHERE id = ?");
    std::map<HourKey, UsageSums> hourly;
    std::map<SeriesKey, UsageSums> totals;

    for (std::size_t b = 0; b < batches.size(); ++b) {
      std::vector<UsageRecord>& records = *batches[b];
      BatchOutcome& out = outcomes[b];
      out.duplicate.assign(records.size(), false);
      db.exec("SAVEPOINT batch");
      std::map<HourKey, UsageSums> batch_hourly;
      for (std::size_t i = 0; i < records.size() && !out.conflict; ++i) {
        UsageRecord& r = records[i];
        insert.reset();
        insert.bind(1, r.id);
        insert.bind(2, r.user);
        insert.bind(3, r.project);
        insert.bind(4, r.provider);
        insert.bind(5, r.model);
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
        insert.bind(16, r.fingerprint);
        insert.exec();
        if (db.getChanges() == 1) {
          batch_hourly[{floor_hour(r.timestamp_ms), SeriesKey{r.provider, r.model, r.project, r.user}}].add(r);
          continue;
        }
        lookup.reset();
        lookup.bind(1, r.id);
        if (!lookup.executeStep()) throw std::logic_error("insert ignored but id not found: " + r.id);
        if (lookup.getColumn(0).getString() != r.fingerprint) {
          out.conflict = true;
          out.conflict_index = i;
          break;
        }
        out.duplicate[i] = true;
        r.cost = lookup.getColumn(1).getInt64();
        r.priced = lookup.getColumn(2).getInt() != 0;
      }
      if (out.conflict) {
        db.exec("ROLLBACK TO batch");
        db.exec("RELEASE batch");
        continue;
      }
      db.exec("RELEASE batch");
      for (const auto& [key, sums] : batch_hourly) {
        hourly[key] += sums;
        totals[std::get<1>(key)] += sums;
      }
    }

    SQLite::Statement up_hour(db, upsert_sql("usage_hourly", "hour_ms, provider, model, project_id, user_id", 5));
    for (const auto& [key, sums] : hourly) {
      const auto& [hour, k] = key;
      up_hour.reset();
      up_hour.bind(1, static_cast<std::int64_t>(hour));
      up_hour.bind(2, k.provider);
      up_hour.bind(3, k.model);
      up_hour.bind(4, k.project);
      up_hour.bind(5, k.user);
      bind_sums(up_hour, 6, sums);
      up_hour.exec();
    }
    SQLite::Statement up_total(db, upsert_sql("series_totals", "provider, model, project_id, user_id", 4));
    for (const auto& [k, sums] : totals) {
      up_total.reset();
      up_total.bind(1, k.provider);
      up_total.bind(2, k.model);
      up_total.bind(3, k.project);
      up_total.bind(4, k.user);
      bind_sums(up_total, 5, sums);
      up_total.exec();
    }
    db.exec("COMMIT");
    return outcomes;
  } catch (const SQLite::Exception& e) {
    std::string message = e.what();
    if (in_tx && sqlite3_get_autocommit(db.getHandle()) == 0) {
      try {
        db.exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
      }
    }
    return Error{message};
  }
}

std::vector<SeriesSums> Store::aggregate_raw(const UsageFilter& f, std::int64_t start, std::int64_t end) const {
  std::string sql =
      "SELECT provider, model, project_id, user_id, count(*), sum(cached), sum(1 - priced), "
      "sum(CASE WHEN cached THEN 0 ELSE prompt_tokens END), "
      "sum(CASE WHEN cached THEN 0 ELSE completion_tokens END), "
      "sum(CASE WHEN cached THEN 0 ELSE cache_read_tokens END), "
      "sum(CASE WHEN cached THEN 0 ELSE cache_write_tokens END), "
      "sum(CASE WHEN cached THEN total_tokens ELSE 0 END), sum(cost_nanos) "
      "FROM ai_usage WHERE timestamp_ms >= ? AND timestamp_ms < ?";
  auto values = filter_sql(f, sql);
  sql += " GROUP BY provider, model, project_id, user_id";
  return run_grouped(*reader_, sql, start, end, values);
}

std::vector<SeriesSums> Store::aggregate_hourly(const UsageFilter& f, std::int64_t start, std::int64_t end) const {
  std::string sql =
      "SELECT provider, model, project_id, user_id, sum(calls), sum(cache_hits), sum(unpriced), "
      "sum(prompt_tokens), sum(completion_tokens), sum(cache_read_tokens), sum(cache_write_tokens), "
      "sum(cached_tokens), sum(cost_nanos) FROM usage_hourly WHERE hour_ms >= ? AND hour_ms < ?";
  auto values = filter_sql(f, sql);
  sql += " GROUP BY provider, model, project_id, user_id";
  return run_grouped(*reader_, sql, start, end, values);
}

std::vector<SeriesSums> Store::aggregate(const UsageFilter& f) const {
  std::int64_t start = std::max(f.start_ms.value_or(kTimeMin), kTimeMin);
  std::int64_t end = std::min(f.end_ms.value_or(kTimeMax), kTimeMax);
  if (start >= end) return {};
  std::lock_guard lock(reader_mutex_);
  // Whole hours come from the rollup; the partial hours at either edge from the records.
  std::int64_t hour_start = ceil_hour(start);
  std::int64_t hour_end = floor_hour(end);
  std::vector<std::vector<SeriesSums>> parts;
  if (hour_start < hour_end) {
    parts.push_back(aggregate_hourly(f, hour_start, hour_end));
    if (start < hour_start) parts.push_back(aggregate_raw(f, start, hour_start));
    if (hour_end < end) parts.push_back(aggregate_raw(f, hour_end, end));
  } else {
    parts.push_back(aggregate_raw(f, start, end));
  }
  if (parts.size() == 1) return std::move(parts[0]);
  std::map<SeriesKey, UsageSums> merged;
  for (auto& part : parts)
    for (auto& row : part) merged[row.key] += row.sums;
  std::vector<SeriesSums> rows;
  rows.reserve(merged.size());
  for (auto& [key, sums] : merged) rows.push_back({key, sums});
  return rows;
}

std::vector<SeriesSums> Store::series_totals() const {
  std::lock_guard lock(reader_mutex_);
  SQLite::Statement st(*reader_, std::string("SELECT provider, model, project_id, user_id, ") + kSumColumns +
                                     " FROM series_totals");
  std::vector<SeriesSums> rows;
  while (st.executeStep())
    rows.push_back({{st.getColumn(0).getString(), st.getColumn(1).getString(),
                     st.getColumn(2).getString(), st.getColumn(3).getString()},
                    read_sums(st, 4)});
  return rows;
}

std::int64_t Store::record_count() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->execAndGet("SELECT count(*) FROM ai_usage").getInt64();
}

std::string Store::integrity_check() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->execAndGet("PRAGMA integrity_check").getString();
}

}  // namespace aiusage
