// The process-wide budget of memory that request bodies being read and parsed may hold.
#include <catch2/catch.hpp>
#include <optional>
#include <utility>

#include "memory_budget.hpp"

using namespace aiusage;

TEST_CASE("memory budget - reserve, grow and return") {
  MemoryBudget budget(100);
  std::optional<MemoryBudget::Lease> a = budget.reserve(60);
  REQUIRE(a);
  CHECK_FALSE(budget.reserve(41));  // 101 would pass the limit: nothing taken
  std::optional<MemoryBudget::Lease> b = budget.reserve(40);
  REQUIRE(b);
  CHECK_FALSE(b->grow_to(41));
  CHECK(b->bytes() == 40);
  CHECK(b->grow_to(30));  // already holds more
  a.reset();              // returns its 60
  CHECK(b->grow_to(100));
  CHECK(b->bytes() == 100);
  CHECK_FALSE(budget.reserve(1));
  MemoryBudget::Lease moved = std::move(*b);
  b.reset();  // the moved-from lease returns nothing
  CHECK_FALSE(budget.reserve(1));
  { MemoryBudget::Lease gone = std::move(moved); }
  CHECK(budget.reserve(100));
}
