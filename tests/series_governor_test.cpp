// The cardinality governor: which values and rows are shown apart, decided in first-seen order.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "aiusage/series_governor.hpp"
#include "support/printers.hpp"

using namespace aiusage;

namespace {

SeriesKey key(std::string provider, std::string model, std::string project, std::string user) {
  return {std::move(provider), std::move(model), std::move(project), std::move(user)};
}

const std::string O(kOtherLabel);

}  // namespace

TEST_CASE("series governor - rows") {
  const std::vector<SeriesKey> seen = {
      key("openai", "gpt-4o", "web", "alice"), key("openai", "gpt-4o", "web", "bob"),
      key("openai", "gpt-4o", "", "carol"),    key("anthropic", "claude", "web", "alice"),
      key("openai", "gpt-4o", "web", "dave"),
  };
  struct Case {
    const char* name;
    GovernorLimits limits;
    std::vector<SeriesKey> rows;  // row_of each of `seen`
  };
  GovernorLimits two_users;
  two_users.top_k[3] = 2;
  GovernorLimits three_rows;
  three_rows.max_series = 3;
  GovernorLimits one_row;
  one_row.max_series = 1;
  GovernorLimits one_model_two_rows;
  one_model_two_rows.top_k[1] = 1;
  one_model_two_rows.max_series = 2;
  const SeriesKey all_other = key(O, O, O, O);
  const Case cases[] = {
      {"no limit reached: every series apart", GovernorLimits{}, seen},
      {"top_k user = 2: later users fold, their other labels stay",
       two_users,
       {seen[0], seen[1], key("openai", "gpt-4o", "", O), seen[3],
        key("openai", "gpt-4o", "web", O)}},
      {"max_series = 3: two rows apart, the rest in the all-__other__ row",
       three_rows,
       {seen[0], seen[1], all_other, all_other, all_other}},
      {"max_series = 1: everything in the all-__other__ row",
       one_row,
       {all_other, all_other, all_other, all_other, all_other}},
      {"top_k and max_series together",
       one_model_two_rows,
       {seen[0], all_other, all_other, all_other, all_other}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    SeriesGovernor g(c.limits);
    for (const SeriesKey& k : seen) g.observe(k);
    for (std::size_t i = 0; i < seen.size(); ++i) {
      CAPTURE(i);
      CHECK(g.row_of(seen[i]) == c.rows[i]);
      CHECK(g.shown_apart(seen[i]) == (c.rows[i] == seen[i]));
    }
    CHECK(g.rows() < std::max<std::size_t>(c.limits.max_series, 1));
  }
}

TEST_CASE("series governor - decisions never change") {
  GovernorLimits limits;
  limits.top_k[3] = 1;
  limits.max_series = 3;
  SeriesGovernor g(limits);
  const SeriesKey a = key("p", "m", "", "a"), b = key("p", "m", "", "b"),
                  c = key("q", "m", "", "c"), d = key("r", "m", "", "d");
  g.observe(a);
  g.observe(b);
  const SeriesKey b_row = g.row_of(b);
  CHECK(b_row == key("p", "m", "", O));
  // Later series, repeated ones and full rows do not move an earlier decision.
  for (int round = 0; round < 3; ++round)
    for (const SeriesKey& k : {c, d, a, b}) g.observe(k);
  CHECK(g.row_of(a) == a);
  CHECK(g.row_of(b) == b_row);
  CHECK(g.row_of(c) == key(O, O, O, O));  // rows were full: a's and b's folded row
  CHECK(g.rows() == 2);
  SECTION("the same first-seen order makes the same decisions (a restart replays it)") {
    SeriesGovernor again(limits);
    for (const SeriesKey& k : {a, b, c, d}) again.observe(k);
    for (const SeriesKey& k : {a, b, c, d}) CHECK(again.row_of(k) == g.row_of(k));
  }
  SECTION("the empty value (no project) is always shown and not counted") {
    GovernorLimits one_project;
    one_project.top_k[2] = 1;
    SeriesGovernor p(one_project);
    for (const SeriesKey& k :
         {key("p", "m", "", "u"), key("p", "m", "x", "u"), key("p", "m", "y", "u")})
      p.observe(k);
    CHECK(p.row_of(key("p", "m", "", "u")) == key("p", "m", "", "u"));
    CHECK(p.row_of(key("p", "m", "x", "u")) == key("p", "m", "x", "u"));
    CHECK(p.row_of(key("p", "m", "y", "u")) == key("p", "m", O, "u"));
  }
}

TEST_CASE("series governor - sums over the rows equal the sums over the series") {
  GovernorLimits limits;
  limits.top_k[3] = 7;
  limits.max_series = 20;
  SeriesGovernor g(limits);
  std::map<SeriesKey, std::int64_t> series;
  for (int i = 0; i < 500; ++i) {
    SeriesKey k = key("p" + std::to_string(i % 3), "m" + std::to_string(i % 5), "",
                      "u" + std::to_string(i % 37));
    if (i % 4 != 0) k.tags = "feature=f" + std::to_string(i % 11);  // a tag label's values
    g.observe(k);
    series[k] += i;
  }
  std::map<SeriesKey, std::int64_t> rows;
  std::int64_t total = 0;
  for (const auto& [k, v] : series) {
    rows[g.row_of(k)] += v;
    total += v;
  }
  std::int64_t shown = 0;
  for (const auto& [k, v] : rows) shown += v;
  CHECK(shown == total);
  CHECK(rows.size() <= limits.max_series);
  CHECK(rows.count(key(O, O, O, O)) == 1);
}

TEST_CASE("series governor - top_k of a tag label") {
  GovernorLimits limits;
  limits.tag_top_k["feature"] = 2;
  SeriesGovernor g(limits);
  auto tagged = [](std::string tags) {
    SeriesKey k = key("p", "m", "", "u");
    k.tags = std::move(tags);
    return k;
  };
  struct Case {
    const char* tags;
    const char* row;  // the row's tags
  };
  const Case cases[] = {
      {"feature=a", "feature=a"},
      {"env=x\nfeature=b", "env=x\nfeature=b"},  // env has no top_k
      {"feature=c", "feature=__other__"},        // two values shown already
      {"env=y\nfeature=c", "env=y\nfeature=__other__"},
      {"", ""},  // no feature tag: always shown, not counted
      {"feature=b", "feature=b"},
  };
  for (const Case& c : cases) g.observe(tagged(c.tags));
  for (const Case& c : cases) {
    CAPTURE(c.tags);
    CHECK(g.row_of(tagged(c.tags)) == tagged(c.row));
    CHECK(g.shown_apart(tagged(c.tags)) == (std::string(c.tags) == c.row));
  }
}

TEST_CASE("series governor - a row of nothing but __other__ is the all-__other__ row") {
  GovernorLimits limits;
  limits.top_k = {1, 1, 1, 1};
  limits.tag_top_k["feature"] = 1;
  SeriesGovernor g(limits);
  SeriesKey first = key("p", "m", "x", "u"), later = key("q", "n", "y", "v");
  first.tags = "feature=a";
  later.tags = "feature=b";
  g.observe(first);
  g.observe(later);
  // Shown with every tag label "__other__" too, so it must not be a row of its own.
  CHECK(g.row_of(later) == key(O, O, O, O));
  SeriesKey untagged = key("q", "n", "y", "v");
  untagged.tags = "feature=";  // shown as feature="": a row of its own
  g.observe(untagged);
  SeriesKey row = key(O, O, O, O);
  row.tags = "feature=";
  CHECK(g.row_of(untagged) == row);
}
