// What a failed comparison of the project's aggregates prints (support/printers.hpp).
#include <catch2/catch.hpp>
#include <map>

#include "support/printers.hpp"

using namespace aiusage;
using Catch::Detail::stringify;

TEST_CASE("printers - aggregates print their fields on one line, not {?}") {
  UsageSums s;
  s.calls = 2;
  s.prompt_tokens = 30;
  s.cost = 7;
  const std::string sums =
      "{calls=2 cache_hits=0 unpriced=0 prompt=30 completion=0 cache_read=0 cache_write=0 "
      "cached=0 cost=7}";
  CHECK(stringify(s) == sums);
  const SeriesKey key{"openai", "gpt-4o", "", "u1"};
  CHECK(stringify(key) == R"({provider="openai" model="gpt-4o" project="" user="u1"})");
  CHECK(stringify(SeriesUsage{s, {}}) ==
        "{total=" + sums + " month=" + stringify(UsageSums{}) + "}");
  CHECK(stringify(std::map<SeriesKey, UsageSums>{{key, s}}) ==
        "{ { " + stringify(key) + ", " + sums + " } }");
  Breakdown b;
  b.total = s;
  b.by_user["u1"] = s;
  CHECK(stringify(b) == "{total=" + sums + R"( by_provider={  } by_model={  } by_project={  } )" +
                            R"(by_user={ { "u1", )" + sums + " } }}");
  CHECK(stringify(Period{1000, 2000}) == "[1000, 2000)");
  CHECK(stringify(FieldError{1, "usage", "must be an object"}) ==
        R"({index=1 field="usage" message="must be an object"})");
  UsageRecord r;
  r.id = "a";
  r.cost = 5;
  CHECK(stringify(r) ==
        R"({id="a" user="" project="" provider="" model="" tokens=0/0/0/0 cached=0 ts=0 )"
        R"(received=0 cost=5 priced=0 fingerprint="" series=0})");
  OtlpOptions o;
  o.user_attributes = {"user.id"};
  o.project_attributes = {};
  CHECK(stringify(o) ==
        R"({user_attributes={ "user.id" } project_attributes={  } default_user="unknown"})");
}
