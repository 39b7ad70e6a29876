// keep_largest: the shown entries of a statistics group and the exact "__other__" remainder.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "aiusage/aggregate.hpp"

using namespace aiusage;

namespace {

UsageSums sums(Nanos cost, std::int64_t tokens, std::int64_t calls) {
  UsageSums s;
  s.cost = cost;
  s.prompt_tokens = tokens;
  s.calls = calls;
  return s;
}

UsageSums total_of(const std::map<std::string, UsageSums>& by) {
  UsageSums t;
  for (const auto& [k, s] : by) t += s;
  return t;
}

}  // namespace

TEST_CASE("breakdown - keep_largest") {
  const std::map<std::string, UsageSums> by = {
      {"a", sums(5, 10, 1)}, {"b", sums(9, 1, 1)}, {"c", sums(5, 20, 1)},
      {"d", sums(5, 20, 3)}, {"e", sums(0, 0, 7)}, {"f", sums(5, 20, 3)},
  };
  struct Case {
    std::size_t limit;
    std::vector<std::string> kept;  // besides __other__
  } cases[] = {
      {0, {}},
      {1, {"b"}},       // largest cost
      {2, {"b", "d"}},  // cost tie: d and f have more tokens and calls; d by name
      {3, {"b", "d", "f"}},
      {4, {"b", "c", "d", "f"}},  // c has more tokens than a
      {5, {"a", "b", "c", "d", "f"}},
      {6, {"a", "b", "c", "d", "e", "f"}},
      {100, {"a", "b", "c", "d", "e", "f"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.limit);
    auto m = by;
    keep_largest(m, c.limit);
    CHECK(total_of(m) == total_of(by));  // nothing lost, nothing counted twice
    std::vector<std::string> kept;
    for (const auto& [k, s] : m)
      if (k != kOtherLabel) kept.push_back(k);
    CHECK(kept == c.kept);
    CHECK(m.count(std::string(kOtherLabel)) == (c.limit < by.size() ? 1u : 0u));
    for (const std::string& k : c.kept) CHECK(m.at(k) == by.at(k));
  }
  SECTION("a real __other__ entry is summed with the folded ones") {
    std::map<std::string, UsageSums> m = {
        {"__other__", sums(1, 1, 1)}, {"x", sums(100, 1, 1)}, {"y", sums(2, 1, 1)}};
    keep_largest(m, 1);
    CHECK(m.size() == 2);
    CHECK(m.at("__other__") == sums(3, 2, 2));
  }
}
