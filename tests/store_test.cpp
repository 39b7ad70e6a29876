// Store and ledger: exact rollups, atomic batches, migrations, group commit under concurrency.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "aiusage/calendar.hpp"
#include "aiusage/ledger.hpp"
#include "aiusage/service.hpp"
#include "aiusage/store.hpp"
#include "aiusage/writer.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

UsageRecord make_record(std::string id, std::string user, std::string project, std::string model,
                        std::int64_t ts, std::int64_t prompt, Nanos cost, bool cached = false) {
  UsageRecord r;
  r.id = std::move(id);
  r.user = std::move(user);
  r.project = std::move(project);
  r.provider = "openai";
  r.model = std::move(model);
  r.prompt_tokens = prompt;
  r.completion_tokens = prompt / 2;
  r.cache_read_tokens = prompt / 4;
  r.cached = cached;
  r.timestamp_ms = ts;
  r.received_ms = ts;
  r.cost = cost;
  r.priced = true;
  r.fingerprint = "fp-" + r.id;
  return r;
}

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

// One gpt-4o record of 1000 prompt and 100 completion tokens, as a POST body.
std::string gpt4o_body(const std::string& id, const std::string& user) {
  return R"({"id":")" + id + R"(","userId":")" + user +
         R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1000,"completionTokens":100}})";
}

Result<std::vector<BatchOutcome>> commit_one(Store& store, std::vector<UsageRecord>& batch) {
  std::vector<UsageRecord>* batches[] = {&batch};
  return store.commit(batches);
}

}  // namespace

TEST_CASE("store - aggregates are exact for any range, including ranges that cut an hour") {
  TempDir dir;
  Store store({dir.file("usage.db"), true});
  const std::int64_t base = *parse_rfc3339("2026-11-01T00:00:00Z");
  std::mt19937_64 rng(42);
  std::vector<UsageRecord> all;
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 600; ++i) {
    std::int64_t ts = base + static_cast<std::int64_t>(rng() % (48ull * 3'600'000));
    batch.push_back(make_record("r" + std::to_string(i), "u" + std::to_string(i % 3),
                                i % 2 ? "p" : "", i % 5 ? "gpt-4o" : "gpt-4o-mini", ts, 100 + i,
                                1000 + i, i % 7 == 0));
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
}

TEST_CASE("store - a batch is atomic and duplicates carry the stored cost") {
  TempDir dir;
  Store store({dir.file("usage.db"), true});
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
  Store store({dir.file("usage.db"), true});
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
      Store store({path, full});
      CHECK(store.sync().ok());  // before any commit
      std::vector<UsageRecord> batch{make_record(full ? "f1" : "n1", "u", "", "m", 1000, 10, 1)};
      std::vector<UsageRecord>* batches[] = {&batch};
      REQUIRE(store.commit(batches).ok());
      CHECK(store.sync().ok());
    }
    // Closing the last connection checkpoints and deletes the WAL; a new store makes a new one.
    Store store({path, full});
    std::vector<UsageRecord> batch{make_record(full ? "f2" : "n2", "u", "", "m", 1000, 10, 1)};
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
    CHECK(store.sync().ok());
    CHECK(store.record_count() == (full ? 2 : 4));
  }
}

TEST_CASE("store - checkpoints run outside commits and let the WAL start over") {
  TempDir dir;
  Store store({dir.file("usage.db"), true});
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

TEST_CASE("writer - a reader holding the WAL back does not make checkpoints spin") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  Store store({path, true});
  Ledger ledger(LabelSet{});
  GroupCommitWriter writer(store, ledger, 4096);
  // An open read transaction: no checkpoint can copy frames committed after it.
  SQLite::Database reader(path, SQLite::OPEN_READONLY);
  reader.exec("BEGIN");
  CHECK(reader.execAndGet("SELECT count(*) FROM ai_usage").getInt64() == 0);
  int next = 0;
  auto submit = [&](int n) {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < n; ++i, ++next)
      batch.push_back(make_record("w" + std::to_string(next * 7919 % 1000003), "u", "", "m",
                                  1000 + next, 10, 1));
    REQUIRE(writer.submit(batch).ok());
  };
  while (store.wal_frames() < GroupCommitWriter::kCheckpointFrames) submit(500);
  // Past the threshold, 100 more commits add far fewer frames than a retry waits for.
  const int frames = store.wal_frames();
  for (int i = 0; i < 100; ++i) submit(1);
  CHECK(store.wal_frames() - frames < GroupCommitWriter::kCheckpointRetryFrames);
  // One round of checkpoints at the threshold (the thread's rounds and the writer's finish), and
  // not one per commit.
  CHECK(store.checkpoints() <= GroupCommitWriter::kCheckpointRounds + 2);
  reader.exec("COMMIT");
}

TEST_CASE("store - schema is versioned") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  { Store store({path, true}); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == Store::kSchemaVersion);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    db.exec("PRAGMA user_version = 99");
  }
  CHECK_THROWS_WITH(Store({path, true}), "database " + path +
                                             " has schema version 99, newer than this binary's " +
                                             std::to_string(Store::kSchemaVersion));
}

TEST_CASE("ledger - folds dropped labels and keeps the month apart") {
  Ledger ledger({/*project=*/false, /*user=*/true, /*model=*/false});
  ledger.reset(SeriesTable{}, {1000, 2000});
  UsageRecord in_month = make_record("a", "u1", "p1", "gpt-4o", 1500, 100, 7);
  UsageRecord before = make_record("b", "u1", "p2", "gpt-4o-mini", 500, 100, 9);
  ledger.apply({&in_month, &before});
  ledger.read([](const LedgerState& st) {
    REQUIRE(st.series.size() == 1);
    CHECK(st.series.begin()->first == SeriesKey{"openai", "", "", "u1"});
    CHECK(st.series.begin()->second.total.cost == 16);
    CHECK(st.series.begin()->second.month.cost == 7);
    CHECK(st.records == 2);
  });
  CHECK(ledger.month_usage(Scope::user, "u1").cost == 7);
  CHECK(ledger.month_usage(Scope::project, "p1").tokens == 150);
  CHECK(ledger.month_usage(Scope::project, "p2").tokens == 0);
  CHECK(ledger.month_usage(Scope::global, "").cost == 7);
}

namespace {

// Every field of two ledgers' states, compared.
void check_same(const LedgerState& a, const LedgerState& b) {
  CHECK(a.series == b.series);
  CHECK(a.unpriced == b.unpriced);
  CHECK(a.records == b.records);
  CHECK(a.month == b.month);
  auto usage = [](const std::map<std::string, MonthUsage, std::less<>>& m) {
    std::map<std::string, std::pair<std::int64_t, Nanos>> out;
    for (const auto& [k, u] : m) out[k] = {u.tokens, u.cost};
    return out;
  };
  CHECK(usage(a.month_users) == usage(b.month_users));
  CHECK(usage(a.month_projects) == usage(b.month_projects));
  CHECK(a.month_global.tokens == b.month_global.tokens);
  CHECK(a.month_global.cost == b.month_global.cost);
}

}  // namespace

TEST_CASE("ledger - built from the store's series table equals the ledger built record by record") {
  TempDir dir;
  Store store({dir.file("usage.db"), true});
  const std::int64_t nov = *parse_rfc3339("2026-11-01T00:00:00Z");
  const Period utc_month{nov, *parse_rfc3339("2026-12-01T00:00:00Z")};
  std::mt19937_64 rng(7);
  const char* models[] = {"gpt-4o", "gpt-4o-mini", "o1"};
  const char* projects[] = {"", "web", "api"};
  std::vector<UsageRecord> all;
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 900; ++i) {
    // Two days either side of the month boundary.
    const std::int64_t ts = nov - 2 * 86'400'000 + static_cast<std::int64_t>(rng() % 345'600'000);
    UsageRecord r = make_record("r" + std::to_string(i), "u" + std::to_string(rng() % 7),
                                projects[rng() % 3], models[rng() % 3], ts,
                                static_cast<std::int64_t>(rng() % 1000), 100 + i, rng() % 9 == 0);
    if (rng() % 4 == 0) r.provider = "anthropic";
    r.priced = rng() % 5 != 0;
    batch.push_back(r);
    if (batch.size() == 100) {
      REQUIRE(commit_one(store, batch).ok());
      all.insert(all.end(), batch.begin(), batch.end());
      batch.clear();
      // Part rolled up, part pending.
      REQUIRE(store.sync().ok());
      if (all.size() <= 500) REQUIRE(store.roll_up(70).ok());
    }
  }
  REQUIRE(store.pending_records() > 0);
  std::vector<const UsageRecord*> records;
  for (const UsageRecord& r : all) records.push_back(&r);
  const LabelSet label_sets[] = {{true, true, true},
                                 {/*project=*/true, /*user=*/true, /*model=*/false},
                                 {/*project=*/false, /*user=*/true, /*model=*/true},
                                 {/*project=*/false, /*user=*/false, /*model=*/false}};
  // A UTC month, and one of a zone 5 hours behind UTC (its edges cut hours of the rollups).
  const std::int64_t shift = 5 * 3'600'000 + 60'000;
  const Period months[] = {utc_month, {utc_month.start_ms + shift, utc_month.end_ms + shift}};
  for (const Period& month : months)
    for (const LabelSet& labels : label_sets) {
      CAPTURE(month.start_ms, labels.project, labels.user, labels.model);
      UsageFilter period;
      period.start_ms = month.start_ms;
      period.end_ms = month.end_ms;
      const SeriesTable table = store.series_table(period);
      Ledger from_table(labels), by_record(labels);
      from_table.reset(table, month);
      by_record.reset(SeriesTable{}, month);
      by_record.apply(records);
      from_table.read([&](const LedgerState& a) {
        by_record.read([&](const LedgerState& b) { check_same(a, b); });
      });
      // Records applied later land in the same series.
      UsageRecord late = make_record("late", "u1", "web", "gpt-4o", nov + 1000, 10, 3);
      from_table.apply({&late});
      by_record.apply({&late});
      from_table.read([&](const LedgerState& a) {
        by_record.read([&](const LedgerState& b) { check_same(a, b); });
      });
    }
}

TEST_CASE("ledger - records applied with their series ids equal records applied without") {
  TempDir dir;
  Store store({dir.file("usage.db"), false});
  const Period november{*parse_rfc3339("2026-11-01T00:00:00Z"),
                        *parse_rfc3339("2026-12-01T00:00:00Z")};
  const Period december{november.end_ms, *parse_rfc3339("2027-01-01T00:00:00Z")};
  std::mt19937_64 rng(11);
  const char* projects[] = {"", "web"};
  const char* models[] = {"gpt-4o", "gpt-4o-mini"};
  int next = 0;
  for (const LabelSet& labels : {LabelSet{true, true, true}, LabelSet{false, true, false}}) {
    Ledger with_ids(labels), without(labels);
    with_ids.reset(SeriesTable{}, november);
    without.reset(SeriesTable{}, november);
    // Two rounds in November, then the month turns (cached month entries must not be reused).
    for (int round = 0; round < 3; ++round) {
      if (round == 2) {
        with_ids.reset_month(december, {});
        without.reset_month(december, {});
      }
      std::vector<UsageRecord> batch;
      for (int i = 0; i < 60; ++i) {
        const std::int64_t ts =
            november.end_ms - 86'400'000 + static_cast<std::int64_t>(rng() % (2 * 86'400'000));
        UsageRecord r =
            make_record("s" + std::to_string(next++), "u" + std::to_string(rng() % 5),
                        projects[rng() % 2], models[rng() % 2], ts, 100, 10 + i, rng() % 7 == 0);
        r.priced = rng() % 5 != 0;
        batch.push_back(r);
      }
      std::vector<UsageRecord>* batches[] = {&batch};
      auto outcome = store.commit(batches);
      REQUIRE(outcome.ok());
      const std::vector<std::int64_t>& ids = (*outcome)[0].series;
      REQUIRE(ids.size() == batch.size());
      CHECK(std::count(ids.begin(), ids.end(), 0) == 0);
      std::vector<const UsageRecord*> records;
      for (const UsageRecord& r : batch) records.push_back(&r);
      with_ids.apply(records, ids);
      without.apply(records);
      with_ids.read([&](const LedgerState& a) {
        without.read([&](const LedgerState& b) { check_same(a, b); });
      });
    }
  }
}

TEST_CASE("service - a month change during concurrent ingest counts each record once") {
  TempDir dir;
  FakeClock clock;
  // The test zone is Asia/Shanghai: its December starts at 2026-11-30T16:00:00Z.
  clock.set(*parse_rfc3339("2026-11-30T15:59:59.500Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int threads = 4, per_thread = 60;
  std::atomic<int> posted{0}, failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i, ++posted) {
        const std::string body = gpt4o_body("m" + std::to_string(t) + "-" + std::to_string(i), "u");
        if (auto r = service.ingest(body, BodyFormat::json); !r || r->accepted != 1) ++failures;
      }
    });
  // Midnight passes while records arrive; the first read after it resets the ledger's month while
  // December's records are being committed.
  while (posted < threads * per_thread / 3) std::this_thread::yield();
  clock.set(*parse_rfc3339("2026-11-30T16:00:00.100Z"));
  while (posted < threads * per_thread * 2 / 3) std::this_thread::yield();
  (void)service.quota(Scope::global, "");
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  const QuotaReport q = service.quota(Scope::global, "");
  CHECK(q.period.start_ms == *parse_rfc3339("2026-11-30T16:00:00Z"));
  UsageFilter december;
  december.start_ms = q.period.start_ms;
  december.end_ms = q.period.end_ms;
  const Statistics s = service.statistics(december);
  CHECK(s.total.calls > 0);
  CHECK(s.total.calls < threads * per_thread);
  const MonthUsage m = service.ledger().month_usage(Scope::global, "");
  CHECK(m.tokens == s.total.tokens());
  CHECK(m.cost == s.total.cost);
}

TEST_CASE("service - concurrent ingest through group commit loses and doubles nothing") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int threads = 8, per_thread = 40;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string body =
            gpt4o_body(std::to_string(t) + "-" + std::to_string(i), "u" + std::to_string(t));
        auto r = service.ingest(body, BodyFormat::json);
        if (!r || r->accepted != 1) ++failures;
        auto again = service.ingest(body, BodyFormat::json);  // a retry
        if (!again || again->duplicates != 1) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  CHECK(service.store().record_count() == threads * per_thread);
  // 1000 × 2.50 + 100 × 10.00 = 3500 per 1M → 3 500 000 nanos per record
  Statistics s = service.statistics({});
  CHECK(s.total.calls == threads * per_thread);
  CHECK(s.total.cost == threads * per_thread * 3'500'000LL);
  service.ledger().read([&](const LedgerState& st) {
    UsageSums mem;
    for (const auto& [k, v] : st.series) mem += v.total;
    CHECK(mem == s.total);
  });
  CHECK(service.store().integrity_check() == "ok");
  // Once idle, the writer rolls up every record; the answers do not change.
  for (int i = 0; i < 1000 && service.store().pending_records() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(service.store().pending_records() == 0);
  CHECK(service.statistics({}).total == s.total);
}

TEST_CASE("service - reads during commits and roll-ups see one consistent snapshot") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int writers = 4, batches = 40, per_batch = 50;
  std::atomic<int> done{0}, refused{0};  // written by the writers, checked after they join
  std::vector<std::thread> pool;
  for (int t = 0; t < writers; ++t)
    pool.emplace_back([&, t] {
      for (int b = 0; b < batches; ++b) {
        std::string body = "[";
        for (int i = 0; i < per_batch; ++i)
          body +=
              std::string(i ? "," : "") + R"({"id":")" + std::to_string(t) + "-" +
              std::to_string(b) + "-" + std::to_string(i) + R"(","userId":"u)" +
              std::to_string(i % 7) +
              R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":10,"completionTokens":1}})";
        if (!service.ingest(body + "]", BodyFormat::json)) ++refused;
      }
      ++done;
    });
  // Every snapshot: the by-user sums add up to the total, whole batches only, never shrinking.
  std::int64_t last = 0;
  int reads = 0;
  while (done < writers || reads < 5) {
    const Statistics s = service.statistics({});
    UsageSums users;
    for (const auto& [user, sums] : s.by_user) users += sums;
    CHECK(users == s.total);
    CHECK(s.total.calls % per_batch == 0);
    CHECK(s.total.calls >= last);
    last = s.total.calls;
    ++reads;
  }
  for (auto& th : pool) th.join();
  CHECK(refused == 0);
  CHECK(service.statistics({}).total.calls == writers * batches * per_batch);
}

TEST_CASE("service - a record costing more than the largest amount refuses its batch") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  Config config = test_config(dir.file("usage.db"));
  // One input token at 10000 XAU per 1M tokens and 10000 USD per XAU costs 1e11 nanos,
  // so 20,000 tokens cost exactly the largest amount (2e6 USD).
  Price gold{"luxury", "gold", "XAU", kMaxPriceNanos, kMaxPriceNanos, 0, 0, INT64_MIN};
  config.prices = PriceBook({gold}, "USD", {{"XAU", kMaxRateNanos}});
  UsageService service(config, clock.clock());
  auto body = [](const char* id, std::int64_t prompt) {
    return R"({"id":")" + std::string(id) +
           R"(","userId":"u","provider":"luxury","model":"gold","usage":{"promptTokens":)" +
           std::to_string(prompt) + R"(,"completionTokens":0}})";
  };
  auto refused =
      service.ingest("[" + body("a", 20'000) + "," + body("b", 20'001) + "]", BodyFormat::json);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == IngestErrorKind::invalid);
  CHECK(refused.error().message == "1 of 2 records are invalid; nothing was stored");
  CHECK(refused.error().details ==
        std::vector<FieldError>{
            {1, "usage", "costs more than 2000000 USD, the most one record may cost"}});
  CHECK(service.store().record_count() == 0);
  auto ok = service.ingest(body("a", 20'000), BodyFormat::json);
  REQUIRE(ok.ok());
  CHECK(ok->records[0].cost == kMaxRecordCostNanos);
}
