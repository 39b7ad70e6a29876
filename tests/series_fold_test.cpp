// The usage series of a page under the governor: exact sums, bounded rows, the same rows for the
// same series whatever order they reached the ledger in, and no row that ever goes down.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "aiusage/series_fold.hpp"
#include "support/printers.hpp"

using namespace aiusage;

namespace {

SeriesEntry entry(std::int64_t id, std::string user, std::int64_t calls, Nanos cost) {
  SeriesEntry e{id, {"openai", "gpt-4o", "p" + std::to_string(id % 7), std::move(user)}, {}};
  e.usage.total.calls = calls;
  e.usage.total.cost = cost;
  e.usage.month.calls = calls / 2;
  return e;
}

UsageSums sum_rows(const FoldedPage& p) {
  UsageSums s;
  for (const SeriesRow& r : p.rows) s += r.total;
  return s;
}

std::map<SeriesKey, Nanos> costs(const FoldedPage& p) {
  std::map<SeriesKey, Nanos> out;
  for (const SeriesRow& r : p.rows) out[r.key] = r.total.cost;
  return out;
}

}  // namespace

TEST_CASE("series fold - exact sums and bounded rows over random streams") {
  std::mt19937_64 rng(20261203);
  struct Case {
    std::size_t max_series;
    std::optional<std::size_t> user_k;
    std::size_t series;
    std::uint64_t users = 100'000;  // label values drawn from this many; 0: one per series
  };
  const std::vector<Case> cases = {
      {1, {}, 1000},
      {2, {}, 1000},
      {50, {}, 20000},
      {5000, {}, 3000},
      {5000, 10, 20000},
      {100, 3, 5000},
      {200000, {}, 200000},
      {5000, 500, 1'000'000, 0},  // a million distinct users under the default limit
  };
  for (const Case& c : cases) {
    CAPTURE(c.max_series, c.series);
    GovernorLimits limits;
    limits.max_series = c.max_series;
    limits.top_k[3] = c.user_k;
    SeriesFolder folder(limits);
    std::vector<SeriesEntry> entries;
    UsageSums expected;
    std::map<SeriesKey, Nanos> before;
    // Series arrive in batches and grow between pages; every row's cost is monotone.
    for (std::size_t id = 1; id <= c.series; ++id) {
      const std::uint64_t user = c.users == 0 ? id : rng() % c.users;
      entries.push_back(entry(static_cast<std::int64_t>(id), "u" + std::to_string(user),
                              1 + static_cast<std::int64_t>(rng() % 5),
                              static_cast<Nanos>(rng() % 1'000'000'000'000)));
      if (id % (c.series / 4) != 0 && id != c.series) continue;
      for (SeriesEntry& e : entries) e.usage.total.cost += 1;  // every series spends again
      expected = {};
      for (const SeriesEntry& e : entries) expected += e.usage.total;
      const FoldedPage page = folder.fold(entries);
      CHECK(page.rows.size() <= c.max_series);
      CHECK(sum_rows(page) == expected);
      const auto now = costs(page);
      for (const auto& [key, cost] : before) {
        auto it = now.find(key);
        CHECK((it != now.end() && it->second >= cost));
      }
      before = now;
    }
  }
}

TEST_CASE("series fold - decisions follow first-seen order, not arrival order") {
  GovernorLimits limits;
  limits.max_series = 3;  // two series apart and the all-"__other__" row
  std::vector<SeriesEntry> all = {entry(1, "a", 1, 10), entry(2, "b", 1, 20), entry(3, "c", 1, 30),
                                  entry(4, "d", 1, 40)};
  SECTION("a restart (a fresh folder) shows the same rows") {
    SeriesFolder running(limits), restarted(limits);
    running.fold({all[0], all[1]});
    const FoldedPage a = running.fold(all);
    std::vector<SeriesEntry> shuffled = {all[3], all[1], all[0], all[2]};
    const FoldedPage b = restarted.fold(shuffled);
    CHECK(costs(a) == costs(b));
    CHECK(a.folded == 2);
    CHECK(costs(a).count(all[0].key) == 1);
    CHECK(costs(a).count(all[1].key) == 1);
  }
  SECTION("a series that reached the ledger late takes its place by its number") {
    SeriesFolder folder(limits);
    const FoldedPage early = folder.fold({all[1], all[2], all[3]});  // 1 not applied yet
    CHECK(costs(early).count(all[2].key) == 1);
    const FoldedPage late = folder.fold(all);
    CHECK(costs(late).count(all[0].key) == 1);
    CHECK(costs(late).count(all[2].key) == 0);  // moved into "__other__": nothing decreased
    CHECK(sum_rows(late).cost == 100);
    const SeriesKey other{kOtherLabel.data(), kOtherLabel.data(), kOtherLabel.data(),
                          kOtherLabel.data()};
    CHECK(costs(late).at(other) == 70);
  }
  SECTION("a decision kept by number is not reused for another series of that number") {
    SeriesFolder folder(limits);
    folder.fold({all[0], all[1]});
    SeriesEntry renamed = entry(1, "z", 1, 15);  // number 1 again, as after a reset
    const FoldedPage page = folder.fold({renamed, all[1], all[2]});
    CHECK(sum_rows(page).cost == 65);
    CHECK(costs(page).count(renamed.key) == 1);
    CHECK(costs(page).count(all[0].key) == 0);
  }
  SECTION("pages after the first give the rows a fresh folder gives") {
    SeriesFolder kept(limits);
    kept.fold({all[0]});
    kept.fold({all[0], all[1]});
    const FoldedPage a = kept.fold(all);
    const FoldedPage b = SeriesFolder(limits).fold(all);
    CHECK(costs(a) == costs(b));
    CHECK(a.folded == b.folded);
  }
}
