// Tags on records: validation, part of the content for idempotency, stored, and statistics by
// tag.KEY=VALUE filters and byTag over HTTP against a real SQLite file.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "aiusage/ingest.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr std::int64_t kNow = 1'794'736'800'000;  // 2026-11-15T10:00:00Z

std::string record(const std::string& fields) {
  return R"({"userId":"u1","provider":"ollama","model":"m","usage":{"promptTokens":10,)"
         R"("completionTokens":5},)" +
         fields + "}";
}

std::string describe(const std::vector<FieldError>& errors) {
  std::ostringstream os;
  for (const auto& e : errors) os << "\n  [" << e.index << "] " << e.field << ": " << e.message;
  return os.str();
}

}  // namespace

TEST_CASE("tags - valid tags are kept in key order") {
  auto r = parse_usage_body(record(R"("tags":{"feature":"chat","env":"prod","_x9":"ü"})"),
                            BodyFormat::json, kNow);
  REQUIRE(r.ok());
  CHECK(r->front().tags == Tags{{"_x9", "ü"}, {"env", "prod"}, {"feature", "chat"}});
  auto none = parse_usage_body(record(R"("tags":null)"), BodyFormat::json, kNow);
  REQUIRE(none.ok());
  CHECK(none->front().tags.empty());
}

TEST_CASE("tags - invalid tags name the field") {
  const std::string k64(64, 'k'), v256(256, 'v');
  std::string seventeen;
  for (int i = 0; i < 17; ++i)
    seventeen += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":\"v\"");
  struct Case {
    std::string tags;
    std::string field, message;  // empty field: valid
  };
  const std::string key_rule =
      " is not a tag key (1 to 64 of A-Z a-z 0-9 _, not starting with a "
      "digit or \"__\")";
  const Case cases[] = {
      {"[]", "tags", "must be an object of string keys and values"},
      {R"("chat")", "tags", "must be an object of string keys and values"},
      {"{" + seventeen + "}", "tags", "must have at most 16 keys"},
      {R"({"feature":1})", "tags.feature", "must be a string"},
      {R"({"feature":null})", "tags.feature", "must be a string"},
      {R"({"feature":""})", "tags.feature", "must not be empty (leave the key out)"},
      {R"({"feature":"__other__"})", "tags.feature",
       "\"__other__\" is reserved: it names the sum of the values not shown apart"},
      {R"({"feature":")" + v256 + "x\"}", "tags.feature", "must be at most 256 bytes"},
      {R"({"feature":")" + v256 + "\"}", "", ""},
      {R"({")" + k64 + R"(":"v"})", "", ""},
      {R"({")" + k64 + R"(x":"v"})", "tags", "\"" + k64 + "x\"" + key_rule},
      {R"({"":"v"})", "tags", "\"\"" + key_rule},
      {R"({"9lives":"v"})", "tags", "\"9lives\"" + key_rule},
      {R"({"__name__":"v"})", "tags", "\"__name__\"" + key_rule},
      {R"({"team.name":"v"})", "tags", "\"team.name\"" + key_rule},
      {R"({"feature":"a","feature":"b"})", "tags.feature", "is given twice"},
      {R"({"feature":"\udc00"})", "tags.feature",
       R"(must be valid UTF-8 (\udc00 is a lone surrogate))"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.tags);
    for (BodyFormat format : {BodyFormat::json, BodyFormat::ndjson}) {
      auto r = parse_usage_body(record("\"tags\":" + c.tags), format, kNow);
      if (c.field.empty()) {
        CHECK(r.ok());
        continue;
      }
      REQUIRE_FALSE(r.ok());
      INFO(describe(r.error().details));
      CHECK(r.error().details == std::vector<FieldError>{{0, c.field, c.message}});
    }
  }
}

TEST_CASE("tags - part of the record's content, key order aside") {
  auto fingerprint = [](const std::string& fields) {
    auto r =
        parse_usage_body(record(R"("timestamp":1794736800000)" + fields), BodyFormat::json, kNow);
    REQUIRE(r.ok());
    return r->front().fingerprint;
  };
  const std::string none = fingerprint(""), tagged = fingerprint(R"(,"tags":{"a":"1","b":"2"})");
  CHECK(fingerprint(R"(,"tags":{})") == none);  // no tags, as before tags existed
  CHECK(fingerprint(R"(,"tags":null)") == none);
  CHECK(tagged != none);
  CHECK(fingerprint(R"(,"tags":{"b":"2","a":"1"})") == tagged);
  CHECK(fingerprint(R"(,"tags":{"a":"1","b":"3"})") != tagged);
  CHECK(fingerprint(R"(,"tags":{"a":"1"})") != tagged);
  CHECK(fingerprint(R"(,"tags":{"a":"1","c":"2"})") != tagged);
}

TEST_CASE("tags - statistics filtered and broken down by tag, over HTTP") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNow);
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  const int port = ts.port();
  // gpt-4o: 1000 × 2.50 + 100 × 10 = 3500 per 1M each.
  auto rec = [](const char* id, const char* user, const std::string& tags) {
    return std::string(R"({"id":")") + id + R"(","userId":")" + user +
           R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1000,)"
           R"("completionTokens":100},"timestamp":"2026-11-15T09:00:00Z")" +
           (tags.empty() ? "" : ",\"tags\":" + tags) + "}";
  };
  const std::string body = "[" + rec("a", "alice", R"({"feature":"chat","env":"prod"})") + "," +
                           rec("b", "alice", R"({"feature":"search","env":"prod"})") + "," +
                           rec("c", "bob", R"({"feature":"chat","env":"dev"})") + "," +
                           rec("d", "bob", "") + "]";
  REQUIRE(http_post_json(port, "/api/v1/usage", body).status == 200);

  auto stats = [&](const std::string& query) {
    auto r = http_get(port, "/api/v1/statistics" + query);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return parse(r.body);
  };
  SECTION("filters") {
    struct Case {
      const char* query;
      std::int64_t calls;
      const char* users;  // byUser keys
    };
    const Case cases[] = {
        {"", 4, "alice bob"},
        {"?tag.feature=chat", 2, "alice bob"},
        {"?tag.feature=chat&tag.env=prod", 1, "alice"},
        {"?tag.env=prod&userId=alice", 2, "alice"},
        {"?tag.env=prod&userId=bob", 0, ""},
        {"?tag.feature=nothing", 0, ""},
        {"?tag.team=x", 0, ""},
        {"?tag.feature=chat&start=2026-11-15T09:00:01Z", 0, ""},
        {"?tag.feature=chat&end=2026-11-15T09:00:01Z", 2, "alice bob"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.query);
      const auto d = stats(c.query);
      CHECK(d["totalCalls"].GetInt64() == c.calls);
      CHECK(d["totalCostNanos"].GetInt64() == c.calls * 3'500'000);
      std::string users;
      for (const auto& m : d["byUser"].GetObject())
        users += (users.empty() ? "" : " ") + std::string(m.name.GetString());
      CHECK(users == c.users);
      CHECK_FALSE(d.HasMember("byTag"));
    }
  }
  SECTION("byTag: one entry per value, records without the tag under \"\", summing to the total") {
    const auto d = stats("?byTag=feature");
    REQUIRE(d.HasMember("byTag"));
    const auto& by = d["byTag"];
    CHECK(by.MemberCount() == 3);
    CHECK(by["chat"]["calls"].GetInt64() == 2);
    CHECK(by["search"]["calls"].GetInt64() == 1);
    CHECK(by[""]["calls"].GetInt64() == 1);
    CHECK(by["chat"]["costNanos"].GetInt64() == 7'000'000);
    CHECK(d["totalCalls"].GetInt64() == 4);
    const auto f = stats("?byTag=env&tag.feature=chat");
    CHECK(f["byTag"].MemberCount() == 2);
    CHECK(f["byTag"]["prod"]["calls"].GetInt64() == 1);
    CHECK(f["byTag"]["dev"]["calls"].GetInt64() == 1);
    const auto limited = stats("?byTag=feature&limit=1");
    CHECK(limited["byTag"].MemberCount() == 2);
    CHECK(limited["byTag"]["__other__"]["calls"].GetInt64() == 2);
  }
  SECTION("cache-hit-rate takes the same filters") {
    auto r = http_get(port, "/api/v1/cache-hit-rate?tag.env=prod");
    REQUIRE(r.status == 200);
    CHECK(parse(r.body)["total"].GetInt64() == 2);
  }
  SECTION("bad parameters are 400 naming them") {
    struct Case {
      const char* query;
      const char* error;
    };
    const Case cases[] = {
        {"?tag.9x=a",
         R"(query parameter "tag.9x": not a tag key (tag.KEY, KEY 1 to 64 of A-Z a-z 0-9 _))"},
        {"?tag.=a",
         R"(query parameter "tag.": not a tag key (tag.KEY, KEY 1 to 64 of A-Z a-z 0-9 _))"},
        {"?tag.feature=", R"(query parameter "tag.feature" must not be empty)"},
        {"?byTag=a-b",
         R"(query parameter "byTag": "a-b" is not a tag key (1 to 64 of A-Z a-z 0-9 _))"},
        {"?tags=a", R"(unknown query parameter "tags")"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.query);
      auto r = http_get(port, std::string("/api/v1/statistics") + c.query);
      CHECK(r.status == 400);
      CHECK(std::string(parse(r.body)["error"].GetString()) == c.error);
    }
    CHECK(http_get(port, "/api/v1/cache-hit-rate?byTag=feature").status == 400);
  }
  SECTION("a re-sent record with other tags is a 409, with the same tags a duplicate") {
    CHECK(http_post_json(port, "/api/v1/usage",
                         rec("a", "alice", R"({"env":"prod","feature":"chat"})"))
              .status == 200);
    CHECK(
        http_post_json(port, "/api/v1/usage", rec("a", "alice", R"({"feature":"chat"})")).status ==
        409);
    CHECK(http_post_json(port, "/api/v1/usage", rec("d", "bob", R"({"feature":"chat"})")).status ==
          409);
    CHECK(stats("")["totalCalls"].GetInt64() == 4);
  }
  SECTION("the tags survive a restart") {
    ts.server.reset();
    ts.service.reset();
    TestServer again(test_config(dir.file("usage.db")), clock.clock());
    auto r = http_get(again.port(), "/api/v1/statistics?tag.feature=chat");
    CHECK(parse(r.body)["totalCalls"].GetInt64() == 2);
  }
}
