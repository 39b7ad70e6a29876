// Store rollups: hourly + monthly buckets combined (and subtracted) stay exact for any range,
// whether the records are rolled up yet or not.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include "aiusage/calendar.hpp"
#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/answers.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;

UsageRecord record(int i, std::int64_t ts, std::mt19937_64& rng) {
  UsageRecord r;
  r.id = "r" + std::to_string(i);
  r.user = "u" + std::to_string(rng() % 4);
  r.project = rng() % 3 ? "p" + std::to_string(rng() % 2) : "";
  r.provider = rng() % 2 ? "openai" : "anthropic";
  r.model = "m" + std::to_string(rng() % 3);
  r.prompt_tokens = 100 + static_cast<std::int64_t>(rng() % 1000);
  r.completion_tokens = static_cast<std::int64_t>(rng() % 500);
  r.cache_read_tokens = r.prompt_tokens / 4;
  r.cached = rng() % 9 == 0;
  r.timestamp_ms = ts;
  r.received_ms = ts;
  r.cost = static_cast<Nanos>(rng() % 1'000'000);
  r.priced = rng() % 11 != 0;
  r.fingerprint = "fp-" + r.id;
  return r;
}

bool selected(const UsageRecord& r, const UsageFilter& f) {
  if (f.start_ms && r.timestamp_ms < *f.start_ms) return false;
  if (f.end_ms && r.timestamp_ms >= *f.end_ms) return false;
  if (f.user && r.user != *f.user) return false;
  if (f.project && r.project != *f.project) return false;
  if (f.provider && r.provider != *f.provider) return false;
  if (f.model && r.model != *f.model) return false;
  return true;
}

Breakdown brute_force(const std::vector<UsageRecord>& all, const UsageFilter& f) {
  Breakdown b;
  for (const auto& r : all) {
    if (!selected(r, f)) continue;
    UsageSums one;
    one.add(r);
    b.total += one;
    b.by_provider[r.provider] += one;
    b.by_model[r.model] += one;
    b.by_project[r.project] += one;
    b.by_user[r.user] += one;
  }
  return b;
}

void check_exact(const SqliteStore& store, const std::vector<UsageRecord>& all,
                 const UsageFilter& f) {
  const Breakdown want = brute_force(all, f);
  const Breakdown got = store.breakdown(f);
  CHECK(got.total == want.total);
  CHECK(got.by_provider == want.by_provider);
  CHECK(got.by_model == want.by_model);
  CHECK(got.by_project == want.by_project);
  CHECK(got.by_user == want.by_user);
  UsageSums series_total;
  for (const SeriesSums& row : store.aggregate(f)) {
    CHECK(row.sums.calls > 0);
    series_total += row.sums;
  }
  CHECK(series_total == want.total);
}

// Four months of records around a year boundary, committed in batches of 100; `adjust` may
// change each record before it is committed.
std::vector<UsageRecord> fill(
    SqliteStore& store, int count, std::int64_t from, std::int64_t to,
    const std::function<void(UsageRecord&, std::mt19937_64&)>& adjust = {}) {
  std::mt19937_64 rng(7);
  std::vector<UsageRecord> all, batch;
  for (int i = 0; i < count; ++i) {
    batch.push_back(record(
        i, from + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(to - from)), rng));
    if (adjust) adjust(batch.back(), rng);
    if (batch.size() == 100 || i + 1 == count) {
      std::vector<UsageRecord>* batches[] = {&batch};
      REQUIRE(store.commit(batches).ok());
      all.insert(all.end(), batch.begin(), batch.end());
      batch.clear();
    }
  }
  return all;
}

// The records table of schema v1 and v2, with two records of one series: 2026-10-31T23:30Z and
// 2026-11-01T00:30Z.
constexpr const char* kRecordsV1 = R"SQL(
      CREATE TABLE ai_usage (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, user_id TEXT NOT NULL,
        project_id TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL, model TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        cost_nanos INTEGER NOT NULL, priced INTEGER NOT NULL, cached INTEGER NOT NULL DEFAULT 0,
        timestamp_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, fingerprint TEXT NOT NULL);
      CREATE UNIQUE INDEX ai_usage_id_idx ON ai_usage(id);
      CREATE INDEX ai_usage_timestamp_idx ON ai_usage(timestamp_ms);
      INSERT INTO ai_usage VALUES (1, 'a', 'u', '', 'openai', 'gpt-4o', 100, 10, 110, 0, 0, 7, 1, 0,
        1793489400000, 1793489400000, 'fa');
      INSERT INTO ai_usage VALUES (2, 'b', 'u', '', 'openai', 'gpt-4o', 200, 20, 220, 0, 0, 9, 1, 0,
        1793493000000, 1793493000000, 'fb');
)SQL";

// A database file in `dir` holding kRecordsV1 and then `sql`.
std::string old_database(TempDir& dir, const char* sql) {
  const std::string path = dir.file("usage.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(kRecordsV1);
  db.exec(sql);
  return path;
}

}  // namespace

TEST_CASE("rollup - months, hours and raw edges add up exactly for ranges cutting buckets") {
  TempDir dir;
  // Records not rolled up are read from memory (all kept), from the file (none kept), or the
  // oldest 1600 from the file and the rest from memory (past the limit of 1500 kept, the log
  // starts over).
  const std::size_t kept = GENERATE(StoreOptions::kDefaultKept, std::size_t{0}, std::size_t{1500});
  SqliteStore store({dir.file("usage.db"), false, kept});
  const std::int64_t from = at("2026-10-20T00:00:00Z"), to = at("2027-02-10T00:00:00Z");
  const std::vector<UsageRecord> all = fill(store, 3000, from, to);
  // Every answer below is checked with none, part and all of the records rolled up.
  const std::size_t rolled = GENERATE(std::size_t{0}, std::size_t{1234}, std::size_t{3000});
  CAPTURE(kept, rolled);
  CHECK(store.pending_records() == 3000);
  if (rolled > 0) REQUIRE(*store.roll_up(rolled) == rolled);
  CHECK(store.pending_records() == 3000 - rolled);

  struct Range {
    const char* what;
    std::int64_t start, end;
  };
  const Range ranges[] = {
      {"one UTC month", at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")},
      {"a month in +08:00 (buckets minus edges)", at("2026-11-01T00:00:00+08:00"),
       at("2026-12-01T00:00:00+08:00")},
      {"a month in -05:30 (edges off the hour)", at("2026-11-01T00:00:00-05:30"),
       at("2026-12-01T00:00:00-05:30")},
      {"across the year end", at("2026-12-03T07:13:00Z"), at("2027-01-29T22:59:59.999Z")},
      {"a few days inside a month", at("2026-11-14T10:30:00Z"), at("2026-11-18T02:00:00Z")},
      {"one hour less two minutes", at("2026-11-14T10:01:00Z"), at("2026-11-14T10:59:00Z")},
      {"one millisecond", at("2026-11-14T10:00:00Z"), at("2026-11-14T10:00:00.001Z")},
      {"beyond the data", from - 40 * kDay, to + 40 * kDay},
  };
  for (const Range& r : ranges) {
    CAPTURE(r.what);
    UsageFilter f;
    f.start_ms = r.start;
    f.end_ms = r.end;
    check_exact(store, all, f);
    f.user = "u1";
    check_exact(store, all, f);
    f.user.reset();
    f.project = "";
    f.model = "m2";
    check_exact(store, all, f);
  }

  SECTION("random ranges") {
    std::mt19937_64 rng(11);
    for (int i = 0; i < 60; ++i) {
      std::int64_t a =
          from - kDay +
          static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(to - from + 2 * kDay));
      std::int64_t b = a + static_cast<std::int64_t>(rng() % (i % 2 ? 3 * kHour : 70 * kDay));
      UsageFilter f;
      f.start_ms = a;
      f.end_ms = b;
      if (i % 3 == 0) f.provider = "openai";
      CAPTURE(a, b);
      check_exact(store, all, f);
    }
  }
  SECTION("open-ended and unbounded ranges") {
    UsageFilter f;
    check_exact(store, all, f);
    f.start_ms = at("2026-12-15T12:34:56Z");
    check_exact(store, all, f);
    f.start_ms.reset();
    f.end_ms = at("2026-12-15T12:34:56Z");
    check_exact(store, all, f);
  }
  SECTION("a label value never seen matches nothing") {
    UsageFilter f;
    f.user = "nobody";
    CHECK(store.breakdown(f).total == UsageSums{});
    CHECK(store.aggregate(f).empty());
  }
}

TEST_CASE("rollup - UTC month boundaries") {
  CHECK(month_bucket(at("2026-11-15T12:00:00Z")) == at("2026-11-01T00:00:00Z"));
  CHECK(month_bucket(at("2026-11-01T00:00:00Z")) == at("2026-11-01T00:00:00Z"));
  CHECK(month_bucket(at("2026-10-31T23:59:59.999Z")) == at("2026-10-01T00:00:00Z"));
  CHECK(MonthCalendar::utc().month_of(at("2026-12-01T00:00:00Z")).end_ms ==
        at("2027-01-01T00:00:00Z"));
  CHECK(month_bucket(-1) == at("1969-12-01T00:00:00Z"));
}

TEST_CASE("rollup - a version 1 database is migrated with its rollups intact") {
  TempDir dir;
  const std::string path = old_database(dir, R"SQL(
      CREATE INDEX ai_usage_user_idx ON ai_usage(user_id);
      CREATE INDEX ai_usage_project_idx ON ai_usage(project_id);
      CREATE INDEX ai_usage_provider_model_idx ON ai_usage(provider, model);
      CREATE TABLE usage_hourly (hour_ms INTEGER NOT NULL, user_id TEXT NOT NULL,
        project_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (hour_ms, user_id, project_id, provider, model)) WITHOUT ROWID;
      CREATE TABLE series_totals (provider TEXT NOT NULL, model TEXT NOT NULL,
        project_id TEXT NOT NULL, user_id TEXT NOT NULL, calls INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (provider, model, project_id, user_id)) WITHOUT ROWID;
      INSERT INTO usage_hourly VALUES (1793487600000, 'u', '', 'openai', 'gpt-4o', 1, 0, 0, 100, 10, 0, 0, 0, 7);
      INSERT INTO usage_hourly VALUES (1793491200000, 'u', '', 'openai', 'gpt-4o', 1, 0, 0, 200, 20, 0, 0, 0, 9);
      INSERT INTO series_totals VALUES ('openai', 'gpt-4o', '', 'u', 2, 0, 0, 300, 30, 0, 0, 0, 16);
      PRAGMA user_version = 1;
    )SQL");
  SqliteStore store({path, true});
  CHECK(store.pending_records() == 0);  // migrated rollups hold every record
  REQUIRE(store.series_totals().size() == 1);
  CHECK(store.series_totals()[0].sums.cost == 16);
  UsageFilter november;
  november.start_ms = at("2026-11-01T00:00:00Z");
  november.end_ms = at("2026-12-01T00:00:00Z");
  CHECK(store.breakdown(november).total.cost == 9);
  UsageFilter october_end;
  october_end.start_ms = at("2026-10-01T00:00:00Z");
  october_end.end_ms = at("2026-11-01T00:00:00Z");
  CHECK(store.breakdown(october_end).total.prompt_tokens == 100);
  std::vector<UsageRecord> more{UsageRecord{"c", "u", "", "openai", "gpt-4o", 5, 5, 0, 0, false,
                                            at("2026-11-02T00:00:00Z"), 0, 1, true, "fc"}};
  std::vector<UsageRecord>* batches[] = {&more};
  REQUIRE(store.commit(batches).ok());
  CHECK(store.breakdown(november).total.cost == 10);
  CHECK(store.breakdown({}).total.calls == 3);
  REQUIRE(store.sync().ok());
  REQUIRE(*store.roll_up(100) == 1);
  CHECK(store.breakdown(november).total.cost == 10);
  CHECK(store.breakdown({}).total.calls == 3);
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("rollup - all-time totals after a reopen equal the records, far timestamps included") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  std::vector<UsageRecord> all;
  {
    SqliteStore store({path, false});
    all = fill(store, 1500, at("2026-10-20T00:00:00Z"), at("2027-02-10T00:00:00Z"));
    // Outside the month span (far month bucket) and outside the queryable span (far buckets).
    std::mt19937_64 rng(3);
    std::vector<UsageRecord> far{record(90001, std::int64_t{1} << 61, rng),
                                 record(90002, -(std::int64_t{1} << 61), rng),
                                 record(90003, 10'000'000'000'000'000, rng)};
    std::vector<UsageRecord>* batches[] = {&far};
    REQUIRE(store.commit(batches).ok());
    all.insert(all.end(), far.begin(), far.end());
  }
  SqliteStore store({path, false});
  // Nothing was rolled up before the reopen: the reopened store counts all of it as pending.
  CHECK(store.pending_records() == all.size());
  if (GENERATE(false, true)) REQUIRE(*store.roll_up(1000) == 1000);
  std::map<SeriesKey, UsageSums> want;
  for (const UsageRecord& r : all) {
    UsageSums one;
    one.add(r);
    want[{r.provider, r.model, r.project, r.user}] += one;
  }
  std::map<SeriesKey, UsageSums> got;
  for (const SeriesSums& row : store.series_totals()) got[row.key] += row.sums;
  CHECK(got == want);
  check_exact(store, all, {});
  // The writer's series ids survive the reopen: new records land on the existing series.
  std::mt19937_64 rng(5);
  std::vector<UsageRecord> more{record(90004, at("2026-11-03T00:00:00Z"), rng)};
  std::vector<UsageRecord>* batches[] = {&more};
  REQUIRE(store.commit(batches).ok());
  all.push_back(more[0]);
  check_exact(store, all, {});
  while (store.pending_records() > 0) REQUIRE(*store.roll_up(512) > 0);
  CHECK(*store.roll_up(512) == 0);
  check_exact(store, all, {});
  CHECK(store.series_totals().size() ==
        want.size() +
            (want.count({more[0].provider, more[0].model, more[0].project, more[0].user}) ? 0 : 1));
}

TEST_CASE(
    "rollup - a version 2 database keeps its totals (summed from months) and gets label rows") {
  TempDir dir;
  const std::string path = old_database(dir, R"SQL(
      CREATE TABLE series (id INTEGER PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,
        project_id TEXT NOT NULL, user_id TEXT NOT NULL, calls INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
        UNIQUE (provider, model, project_id, user_id));
      CREATE TABLE usage_hourly (hour_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
        calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (hour_ms, series_id)) WITHOUT ROWID;
      CREATE TABLE usage_monthly (month_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
        calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
        PRIMARY KEY (month_ms, series_id)) WITHOUT ROWID;
      -- series 2: 2026-11-02T00:00Z
      INSERT INTO ai_usage VALUES (3, 'c', 'v', 'p', 'anthropic', 'claude', 5, 5, 10, 0, 0, 0, 0, 0,
        1793577600000, 1793577600000, 'fc');
      INSERT INTO series VALUES (1, 'openai', 'gpt-4o', '', 'u', 2, 0, 0, 300, 30, 0, 0, 0, 16);
      INSERT INTO series VALUES (2, 'anthropic', 'claude', 'p', 'v', 1, 0, 1, 5, 5, 0, 0, 0, 0);
      INSERT INTO usage_hourly VALUES (1793487600000, 1, 1, 0, 0, 100, 10, 0, 0, 0, 7);
      INSERT INTO usage_hourly VALUES (1793491200000, 1, 1, 0, 0, 200, 20, 0, 0, 0, 9);
      INSERT INTO usage_hourly VALUES (1793577600000, 2, 1, 0, 1, 5, 5, 0, 0, 0, 0);
      INSERT INTO usage_monthly VALUES (1790812800000, 1, 1, 0, 0, 100, 10, 0, 0, 0, 7);
      INSERT INTO usage_monthly VALUES (1793491200000, 1, 1, 0, 0, 200, 20, 0, 0, 0, 9);
      INSERT INTO usage_monthly VALUES (1793491200000, 2, 1, 0, 1, 5, 5, 0, 0, 0, 0);
      PRAGMA user_version = 2;
    )SQL");
  SqliteStore store({path, true});
  std::map<std::string, UsageSums> totals;
  for (const SeriesSums& row : store.series_totals()) totals[row.key.user] = row.sums;
  REQUIRE(totals.size() == 2);
  CHECK(totals["u"].calls == 2);
  CHECK(totals["u"].prompt_tokens == 300);
  CHECK(totals["u"].cost == 16);
  CHECK(totals["v"].unpriced == 1);
  UsageFilter november;
  november.start_ms = at("2026-11-01T00:00:00Z");
  november.end_ms = at("2026-12-01T00:00:00Z");
  const Breakdown b = store.breakdown(november);
  CHECK(b.total.calls == 2);
  CHECK(b.total.cost == 9);
  CHECK(b.by_user.at("u").prompt_tokens == 200);
  CHECK(b.by_provider.at("anthropic").unpriced == 1);
  CHECK(b.by_project.at("p").calls == 1);
  CHECK(store.breakdown({}).total.cost == 16);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM pragma_table_info('series')").getInt() == 6);  // tags
  // Records of before v4 are given their series (v10).
  CHECK(db.execAndGet("SELECT count(*) FROM ai_usage WHERE series_id IS NULL").getInt() == 0);
  CHECK(db.execAndGet("SELECT series_id FROM ai_usage WHERE id = 'c'").getInt() == 2);
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("rollup - the rollup file is rebuilt when it is missing or belongs to another store") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  std::vector<UsageRecord> all;
  {
    SqliteStore store({path, false});
    all = fill(store, 800, at("2026-10-25T00:00:00Z"), at("2026-11-05T00:00:00Z"));
    REQUIRE(*store.roll_up(10000) == 800);
  }
  auto remove_rollups = [&] {
    for (const char* suffix : {"-rollups", "-rollups-wal", "-rollups-shm"})
      std::filesystem::remove(path + suffix);
  };
  SECTION("missing: every record counts as pending, then rolls up again") { remove_rollups(); }
  SECTION("another store's: the same") {
    remove_rollups();
    const std::string other = dir.file("other.db");
    { SqliteStore store({other, false}); }
    std::filesystem::copy_file(other + "-rollups", path + "-rollups");
  }
  SECTION("ahead of the records (records restored from an older copy): the same") {
    SQLite::Database db(path + "-rollups", SQLite::OPEN_READWRITE);
    db.exec("UPDATE rollup_state SET rolled_up_seq = 1000000");
  }
  SECTION("its last record is another one (an older copy that took new records): the same") {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE ai_usage SET id = 'restored' WHERE seq = (SELECT max(seq) FROM ai_usage)");
  }
  SqliteStore store({path, false});
  CHECK(store.pending_records() == all.size());
  check_exact(store, all, {});
  UsageFilter november;
  november.start_ms = at("2026-11-01T00:00:00Z");
  november.end_ms = at("2026-11-03T07:30:00Z");
  check_exact(store, all, november);
  REQUIRE(*store.roll_up(10000) == 800);
  check_exact(store, all, {});
  check_exact(store, all, november);
  CHECK(store.integrity_check() == "ok");
}

// Every row of the rollup file's hourly, monthly and label tables, in key order.
std::vector<std::string> rollup_rows(const std::string& path) {
  SQLite::Database db(path + "-rollups", SQLite::OPEN_READONLY);
  std::vector<std::string> rows;
  for (const char* table : {"usage_hourly", "usage_monthly", "usage_monthly_label"}) {
    SQLite::Statement q(db, std::string("SELECT * FROM ") + table + " ORDER BY 1, 2, 3");
    while (q.executeStep()) {
      std::string row = table;
      for (int c = 0; c < q.getColumnCount(); ++c) row += " " + q.getColumn(c).getString();
      rows.push_back(row);
    }
  }
  return rows;
}

TEST_CASE("rollup - records rolled up from memory give the rows that reading them back gives") {
  TempDir dir;
  const std::int64_t from = at("2026-10-25T00:00:00Z"), to = at("2026-11-05T00:00:00Z");
  // Reopened before rolling up: every record is read back from the records file.
  const std::string back = dir.file("back.db");
  {
    SqliteStore store({back, false});
    fill(store, 1000, from, to);
  }
  {
    SqliteStore store({back, false});
    while (*store.roll_up(300) > 0) {
    }
  }
  const std::string path = dir.file("memory.db");
  std::size_t limit = StoreOptions{}.kept_limit;
  bool conflict = false;
  SECTION("all kept in memory") {}
  SECTION("past the limit they are dropped and read back") { limit = 250; }
  SECTION("a batch rolled back for a conflict leaves nothing in memory") { conflict = true; }
  SqliteStore store({path, false, limit});
  int n = 0;
  UsageRecord stored;  // one already committed, reused with other content for the conflict
  // Commits (every 100 records) and roll-ups interleave, so slices end inside what is kept.
  fill(store, 1000, from, to, [&](UsageRecord& r, std::mt19937_64&) {
    if (++n == 4) stored = r;
    if (n % 230 == 0) REQUIRE(store.roll_up(170).ok());
    if (conflict && n == 450) {
      std::mt19937_64 rng(1);
      std::vector<UsageRecord> batch = {record(5000, from, rng), stored};
      batch[1].fingerprint = "other";
      std::vector<UsageRecord>* batches[] = {&batch};
      REQUIRE((*store.commit(batches))[0].conflict);
    }
  });
  while (*store.roll_up(300) > 0) {
  }
  CHECK(store.pending_records() == 0);
  CHECK(rollup_rows(path) == rollup_rows(back));
  CHECK(rollup_rows(path).size() > 1000);
}

TEST_CASE("rollup - filters matching few series read them by series, exactly") {
  // 48 users x 2 providers x 3 models: one user is at most 6 of 288 series (read by series),
  // one provider half of them (read by scanning the months).
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), false});
  const std::vector<UsageRecord> all =
      fill(store, 3000, at("2026-09-20T00:00:00Z"), at("2027-01-10T00:00:00Z"),
           [](UsageRecord& r, std::mt19937_64& rng) {
             r.user = "w" + std::to_string(rng() % 48);
             r.project = "";
           });
  REQUIRE(*store.roll_up(2000) == 2000);  // part rolled up, part pending
  struct Range {
    const char* start;
    const char* end;
  };
  const Range ranges[] = {{nullptr, nullptr},
                          {"2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z"},
                          {"2026-10-15T06:30:00Z", "2026-12-31T23:00:00Z"}};
  for (const Range& range : ranges) {
    UsageFilter f;
    if (range.start) f.start_ms = at(range.start);
    if (range.end) f.end_ms = at(range.end);
    for (const char* user : {"w0", "w17", "w47"}) {
      CAPTURE(range.start, user);
      f.user = user;
      check_exact(store, all, f);
      f.model = "m1";
      check_exact(store, all, f);
      f.model.reset();
    }
    f.user.reset();
    f.provider = "openai";
    check_exact(store, all, f);
  }
}
