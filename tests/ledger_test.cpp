// Ledger: label folding, the month, and equality with the store's series table and ids.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "aiusage/calendar.hpp"
#include "aiusage/ledger.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/printers.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

UsageRecord record_of(const std::string& user) {
  UsageRecord r;
  r.id = "id-" + user;
  r.user = user;
  r.provider = "openai";
  r.model = "gpt-4o";
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  r.priced = true;
  return r;
}

// Every field of two ledgers' states, compared.
void check_same(const LedgerState& a, const LedgerState& b) {
  CHECK(a.series == b.series);
  CHECK(a.unpriced == b.unpriced);
  CHECK(a.records == b.records);
  auto usage = [](const std::map<std::string, MonthUsage, std::less<>>& m) {
    std::map<std::string, std::pair<std::int64_t, Nanos>> out;
    for (const auto& [k, u] : m) out[k] = {u.tokens, u.cost};
    return out;
  };
  for (Window w : {Window::day, Window::week, Window::month}) {
    CAPTURE(to_string(w));
    const WindowUsage &x = a.window(w), &y = b.window(w);
    CHECK(x.period == y.period);
    CHECK(usage(x.users) == usage(y.users));
    CHECK(usage(x.projects) == usage(y.projects));
    CHECK(x.global.tokens == y.global.tokens);
    CHECK(x.global.cost == y.global.cost);
  }
}

}  // namespace

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

TEST_CASE("ledger - built from the store's series table equals the ledger built record by record") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), true});
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
  SqliteStore store({dir.file("usage.db"), false});
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

TEST_CASE("ledger - the slice hook runs between slices with the lock released") {
  Ledger ledger({true, true, true});
  ledger.reset(SeriesTable{}, {0, 1});
  const std::size_t n = 2 * Ledger::kSlice + 100;
  std::vector<UsageRecord> records;
  for (std::size_t i = 0; i < n; ++i) records.push_back(record_of("u" + std::to_string(10000 + i)));
  std::vector<const UsageRecord*> all;
  for (const UsageRecord& r : records) all.push_back(&r);
  ledger.apply(all);

  std::size_t seen = 0, hooks = 0;
  const UsageRecord late = record_of("z-late");  // sorts after every other user
  CHECK(ledger.for_each_series([&](const SeriesKey&, const SeriesUsage&) { ++seen; },
                               [&] {
                                 // A commit here would deadlock if the slice still held the lock.
                                 if (++hooks == 1) ledger.apply({&late});
                                 return true;
                               }));
  CHECK(hooks == 3);
  CHECK(seen == n + 1);  // the commit between slices shows in a later one

  seen = hooks = 0;
  CHECK_FALSE(ledger.for_each_series([&](const SeriesKey&, const SeriesUsage&) { ++seen; },
                                     [&] { return ++hooks < 2; }));
  CHECK(hooks == 2);
  CHECK(seen == 2 * Ledger::kSlice);
}
