// Store: exact aggregates over any range, atomic batches, series ids, WAL sync and checkpoints,
// schema versions.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <random>

#include "aiusage/calendar.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/printers.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

UsageSums brute_force(const std::vector<UsageRecord>& all, const UsageFilter& f) {
  UsageSums s;
  for (const auto& r : all) {
    if (f.start_ms && r.timestamp_ms < *f.start_ms) continue;
    if (f.end_ms && r.timestamp_ms >= *f.end_ms) continue;
    if (f.user && r.user != *f.user) continue;
    if (f.project && r.project != *f.project) continue;
    s.add(r);
  }
  return s;
}

UsageSums total(const std::vector<SeriesSums>& rows) {
  UsageSums s;
  for (const auto& row : rows) s += row.sums;
  return s;
}

}  // namespace

TEST_CASE("store - aggregates are exact for any range, including ranges that cut an hour") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), true});
  const std::int64_t base = *parse_rfc3339("2026-11-01T00:00:00Z");
  std::mt19937_64 rng(42);
  std::vector<UsageRecord> all;
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 600; ++i) {
    std::int64_t ts = base + static_cast<std::int64_t>(rng() % (48ull * 3'600'000));
    batch.push_back(make_record("r" + std::to_string(i), "u" + std::to_string(i % 3),
                                i % 2 ? "p" : "", i % 5 ? "gpt-4o" : "gpt-4o-mini", ts, 100 + i,
                                1000 + i, i % 7 == 0));
    if (i % 4 == 0)  // the detail classes, summed like the others (a part of prompt or completion)
      batch.back().details = {i % 3, i % 5, i % 2, 3 * (i % 11), i % 13, i % 17};
    if (batch.size() == 50) {
      REQUIRE(commit_one(store, batch).ok());
      all.insert(all.end(), batch.begin(), batch.end());
      batch.clear();
    }
  }
  CHECK(store.record_count() == 600);
  CHECK(total(store.series_totals()) == brute_force(all, {}));
  const std::int64_t H = 3'600'000;
  struct Range {
    std::int64_t start, end;
  };
  const Range ranges[] = {
      {base, base + 48 * H},                     // whole hours only
      {base + 1, base + 48 * H - 1},             // cuts the first and last hour
      {base + 90 * 60'000, base + 30 * H + 17},  // starts and ends inside hours
      {base + 5 * H + 10, base + 5 * H + 20},    // inside one hour
      {base + 7 * H, base + 8 * H},              // exactly one bucket
      {base - H, base + 100 * H},                // beyond the data
  };
  for (const Range& r : ranges) {
    CAPTURE(r.start - base, r.end - base);
    UsageFilter f;
    f.start_ms = r.start;
    f.end_ms = r.end;
    CHECK(total(store.aggregate(f)) == brute_force(all, f));
    f.user = "u1";
    f.project = "p";
    CHECK(total(store.aggregate(f)) == brute_force(all, f));
  }
  CHECK(brute_force(all, {}).details[kReasoning] > 0);  // the sums compared include details

  SECTION("the same sums once rolled up") {
    REQUIRE(store.sync().ok());
    REQUIRE(store.roll_up(1'000'000).ok());
    CHECK(store.pending_records() == 0);
    CHECK(total(store.series_totals()) == brute_force(all, {}));
    CHECK(store.breakdown({}).total == brute_force(all, {}));
  }
}

TEST_CASE("store - a batch is atomic and duplicates carry the stored cost") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), true});
  std::vector<UsageRecord> first{make_record("a", "u", "", "m", 1000, 10, 111)};
  REQUIRE(commit_one(store, first).ok());

  SECTION("same id and content is a duplicate") {
    std::vector<UsageRecord> again{make_record("a", "u", "", "m", 1000, 10, 999),
                                   make_record("b", "u", "", "m", 1000, 10, 5)};
    auto r = commit_one(store, again);
    REQUIRE(r.ok());
    CHECK((*r)[0].duplicate == std::vector<bool>{true, false});
    CHECK(again[0].cost == 111);
    CHECK(store.record_count() == 2);
  }
  SECTION("same id with other content refuses the whole batch") {
    std::vector<UsageRecord> conflict{make_record("c", "u", "", "m", 1000, 10, 5),
                                      make_record("a", "u", "", "m", 1000, 10, 5)};
    conflict[1].fingerprint = "other";
    auto r = commit_one(store, conflict);
    REQUIRE(r.ok());
    CHECK((*r)[0].conflict);
    CHECK((*r)[0].conflict_index == 1);
    CHECK(store.record_count() == 1);
    CHECK(total(store.series_totals()).calls == 1);
  }
  SECTION("batches in one transaction stay independent") {
    std::vector<UsageRecord> good{make_record("d", "u", "", "m", 1000, 10, 5)};
    std::vector<UsageRecord> bad{make_record("a", "u", "", "m", 1000, 10, 5)};
    bad[0].fingerprint = "other";
    std::vector<UsageRecord>* batches[] = {&good, &bad};
    auto r = store.commit(batches);
    REQUIRE(r.ok());
    CHECK_FALSE((*r)[0].conflict);
    CHECK((*r)[1].conflict);
    CHECK(store.record_count() == 2);
  }
  SECTION("the batches around a conflicting one are stored as if it never came") {
    // The first creates a series the third uses, and the third repeats one of the first's ids.
    std::vector<UsageRecord> good{make_record("d", "u2", "", "m", 1000, 10, 5),
                                  make_record("e", "u", "", "m", 1000, 10, 6)};
    std::vector<UsageRecord> bad{make_record("f", "u3", "", "m", 1000, 10, 7),
                                 make_record("a", "u", "", "m", 1000, 10, 5)};
    bad[1].fingerprint = "other";
    std::vector<UsageRecord> later{make_record("g", "u2", "", "m", 1000, 10, 8), good[0]};
    std::vector<UsageRecord>* batches[] = {&good, &bad, &later};
    auto r = store.commit(batches);
    REQUIRE(r.ok());
    CHECK_FALSE((*r)[0].conflict);
    CHECK((*r)[1].conflict);
    CHECK((*r)[1].conflict_index == 1);
    CHECK_FALSE((*r)[2].conflict);
    CHECK((*r)[0].duplicate == std::vector<bool>{false, false});
    CHECK((*r)[2].duplicate == std::vector<bool>{false, true});
    CHECK((*r)[2].series[0] == (*r)[0].series[0]);
    CHECK(store.record_count() == 4);  // a, d, e, g
    CHECK(total(store.series_totals()).calls == 4);
    CHECK(store.series_totals().size() == 2);  // u and u2; u3 came only with the conflict
  }
}

TEST_CASE("store - resolve_series names committed series only") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), true});
  store.prepare_writer();
  std::vector<UsageRecord> first{make_record("a", "u1", "p", "m", 1000, 10, 1)};
  auto r = commit_one(store, first);
  REQUIRE(r.ok());
  const std::int64_t u1 = (*r)[0].series[0];
  REQUIRE(u1 > 0);

  // u2's series is created by a batch that conflicts: rolled back, so never named.
  std::vector<UsageRecord> conflict{make_record("b", "u2", "p", "m", 1000, 10, 1),
                                    make_record("a", "u1", "p", "m", 1000, 10, 1)};
  conflict[1].fingerprint = "other";
  REQUIRE((*commit_one(store, conflict))[0].conflict);

  std::vector<UsageRecord> next{make_record("c", "u1", "p", "m", 2000, 10, 2),
                                make_record("d", "u2", "p", "m", 2000, 10, 3),
                                make_record("e", "u1", "", "m", 2000, 10, 4)};
  store.resolve_series(next);
  CHECK(next[0].series_id == u1);
  CHECK(next[1].series_id == 0);
  CHECK(next[2].series_id == 0);

  // Committed with and without a resolved id alike; then u2's series is named too.
  r = commit_one(store, next);
  REQUIRE(r.ok());
  const std::vector<std::int64_t>& ids = (*r)[0].series;
  CHECK(ids[0] == u1);
  CHECK(ids[1] > u1);
  CHECK(ids[2] > ids[1]);
  std::vector<UsageRecord> later{make_record("f", "u2", "p", "m", 3000, 10, 5)};
  store.resolve_series(later);
  CHECK(later[0].series_id == ids[1]);
  UsageFilter f;
  f.user = "u2";
  CHECK(total(store.aggregate(f)).cost == 3);
  f.user = "u1";
  CHECK(total(store.aggregate(f)).cost == 7);
}

TEST_CASE("store - sync flushes the WAL, and follows it when SQLite replaces the file") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  for (bool full : {true, false}) {
    CAPTURE(full);
    {
      SqliteStore store({path, full});
      CHECK(store.sync().ok());  // before any commit
      std::vector<UsageRecord> batch{make_record(full ? "f1" : "n1", "u", "", "m", 1000, 10, 1)};
      std::vector<UsageRecord>* batches[] = {&batch};
      REQUIRE(store.commit(batches).ok());
      CHECK(store.sync().ok());
    }
    // Closing the last connection checkpoints and deletes the WAL; a new store makes a new one.
    SqliteStore store({path, full});
    std::vector<UsageRecord> batch{make_record(full ? "f2" : "n2", "u", "", "m", 1000, 10, 1)};
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
    CHECK(store.sync().ok());
    CHECK(store.record_count() == (full ? 2 : 4));
  }
}

TEST_CASE("store - checkpoints run outside commits and let the WAL start over") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), true});
  auto commit = [&](int n, int tag) {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < n; ++i)
      batch.push_back(make_record("c" + std::to_string(tag) + "-" + std::to_string(i),
                                  "u" + std::to_string(i % 50), "", "m", 1000 + i, 10, 1));
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
  };
  for (int b = 0; b < 20; ++b) commit(200, b);
  CHECK(*store.roll_up(100000) == 0);  // nothing durable yet: sync() has not run
  REQUIRE(store.sync().ok());
  REQUIRE(*store.roll_up(100000) == 4000);
  const int grown = store.wal_frames();
  CHECK(grown > 20);  // no checkpoint ran inside the commits
  CHECK(*store.checkpoint() == 0);
  CHECK(*store.finish_checkpoint() == 0);
  commit(1, 99);
  CHECK(store.wal_frames() < grown);  // the next commit wrote from the WAL's start
  CHECK(store.record_count() == 4001);
  CHECK(store.integrity_check() == "ok");
}

TEST_CASE("store - schema is versioned") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  { SqliteStore store({path, true}); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == SqliteStore::kSchemaVersion);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    db.exec("PRAGMA user_version = 99");
  }
  CHECK_THROWS_WITH(SqliteStore({path, true}),
                    "database " + path + " has schema version 99, newer than this binary's " +
                        std::to_string(SqliteStore::kSchemaVersion));
}
