// HTTP API against the real server on a loopback port, over a real SQLite file.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <regex>

#include <sys/prctl.h>

#include "aiusage/calendar.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/raw_client.hpp"
#include "support/sample_records.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

TEST_CASE("http - ingest prices each record and answers every question") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());

  auto r = http_post_json(ts.port(), "/api/v1/usage", kBatch);
  REQUIRE(r.status == 200);
  auto d = parse(r.body);
  CHECK(d["accepted"].GetInt() == 7);
  CHECK(d["duplicates"].GetInt() == 0);
  struct Expected {
    const char* id;
    std::int64_t nanos;
    bool priced;
  };
  const Expected expected[] = {{"a", 10'500'000, true}, {"b", 30'300'000, true},
                               {"c", 27'600'000, true}, {"d", 4'750'000, true},
                               {"e", 0, true},          {"f", 0, false},
                               {"g", 0, true}};
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    const auto& rec = d["records"][static_cast<rapidjson::SizeType>(i)];
    CAPTURE(expected[i].id);
    CHECK(std::string(rec["id"].GetString()) == expected[i].id);
    CHECK(rec["costNanos"].GetInt64() == expected[i].nanos);
    CHECK(rec["priced"].GetBool() == expected[i].priced);
    CHECK(std::string(rec["currency"].GetString()) == "USD");
  }

  SECTION("statistics") {
    auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
    CHECK(s["totalCalls"].GetInt() == 7);
    // billed tokens: 1500 + 11000 + 2000 + 2100 + 500 + 20 (the cached record's 1500 are not
    // billed)
    CHECK(s["totalTokens"].GetInt() == 17120);
    CHECK(s["cachedTokens"].GetInt() == 1500);
    CHECK(s["cacheHits"].GetInt() == 1);
    CHECK(s["unpricedCalls"].GetInt() == 1);
    CHECK(s["totalCostNanos"].GetInt64() == 10'500'000 + 30'300'000 + 27'600'000 + 4'750'000);
    CHECK(s["totalCost"].GetDouble() == Approx(0.07315));
    CHECK(s["byProvider"]["anthropic"]["calls"].GetInt() == 3);
    CHECK(s["byProvider"]["anthropic"]["costNanos"].GetInt64() == 40'800'000);
    CHECK(s["byUser"]["bob"]["tokens"].GetInt() == 4100);
    CHECK(s["byProject"]["web"]["calls"].GetInt() == 3);
    CHECK(s["byModel"]["gpt-4o-2024-08-06"]["costNanos"].GetInt64() == 4'750'000);
  }
  SECTION("statistics groups keep their largest entries and sum the rest into __other__") {
    auto s = parse(http_get(ts.port(), "/api/v1/statistics?limit=1").body);
    CHECK(s["totalCostNanos"].GetInt64() == 73'150'000);  // totals are unaffected
    // alice 40.8M beats bob 32.35M and carol 0; __other__ holds bob and carol.
    CHECK(s["byUser"].MemberCount() == 2);
    CHECK(s["byUser"]["alice"]["costNanos"].GetInt64() == 40'800'000);
    CHECK(s["byUser"]["__other__"]["costNanos"].GetInt64() == 32'350'000);
    CHECK(s["byUser"]["__other__"]["calls"].GetInt() == 4);
    CHECK(s["byProvider"]["__other__"]["calls"].GetInt() == 4);
    auto all = parse(http_get(ts.port(), "/api/v1/statistics?limit=3").body);
    CHECK(all["byUser"].MemberCount() == 3);
    CHECK_FALSE(all["byUser"].HasMember("__other__"));
    for (const char* bad : {"0", "-1", "x", "1000001", "99999999999999999999", "1.5"}) {
      CAPTURE(bad);
      auto r = http_get(ts.port(), std::string("/api/v1/statistics?limit=") + bad);
      CHECK(r.status == 400);
      CHECK(r.body ==
            R"({"error":"query parameter \"limit\" must be an integer from 1 to 1000000"})");
    }
    CHECK(http_get(ts.port(), "/api/v1/cache-hit-rate?limit=5").status == 400);
  }
  SECTION("statistics filtered by user and by a range that cuts an hour") {
    auto s = parse(
        http_get(
            ts.port(),
            "/api/v1/statistics?userId=alice&start=2026-11-15T10:15:00Z&end=2026-11-15T10:50:00Z")
            .body);
    CHECK(s["totalCalls"].GetInt() == 2);  // b at 10:30 and g at 10:45
    CHECK(s["totalCostNanos"].GetInt64() == 30'300'000);
    auto day = parse(
        http_get(ts.port(), "/api/v1/statistics?start=2026-11-15&end=2026-11-16&provider=zhipu")
            .body);
    CHECK(day["totalCalls"].GetInt() == 1);
    // A leap second in start/end is the minute's last millisecond: b at 10:30 is after
    // 10:29:60 (10:29:59.999), g at 10:45 is not before 10:44:60 (10:44:59.999).
    auto leap = http_get(ts.port(),
                         "/api/v1/statistics?userId=alice&start=2026-11-15T10:29:60Z"
                         "&end=2026-11-15T10:44:60.5Z");
    REQUIRE(leap.status == 200);
    CHECK(parse(leap.body)["totalCalls"].GetInt() == 1);  // b
  }
  SECTION("quota for a user against the wildcard rule") {
    auto q = parse(http_get(ts.port(), "/api/v1/quota?userId=alice").body);
    CHECK(q["exceeded"].GetBool() == true);  // 12500 of 10000 tokens
    CHECK(q["usage"]["tokens"].GetInt() == 12500);
    CHECK(q["usage"]["costNanos"].GetInt64() == 40'800'000);
    CHECK(q["limits"]["tokens"].GetInt() == 10000);
    CHECK(q["limits"]["cost"].GetDouble() == 1.0);
    CHECK(q["percentage"]["tokens"].GetDouble() == 125.0);
    CHECK(std::string(q["period"]["start"].GetString()) == "2026-11-01T00:00:00+08:00");
    CHECK(std::string(q["period"]["end"].GetString()) == "2026-12-01T00:00:00+08:00");
  }
  SECTION("quota with the seed's override parameters") {
    auto q =
        parse(http_get(ts.port(),
                       "/api/v1/quota?userId=bob&monthlyTokenLimit=1000000&monthlyCostLimit=0.05")
                  .body);
    CHECK(q["exceeded"].GetBool() == false);
    CHECK(q["percentage"]["tokens"].GetDouble() == Approx(0.41));
    CHECK(q["percentage"]["cost"].GetDouble() == Approx(64.7));  // 0.03235 / 0.05
  }
  SECTION("alerts for one subject and for all") {
    auto a = parse(http_get(ts.port(), "/api/v1/alerts?userId=alice").body);
    CHECK(a["shouldAlert"].GetBool());
    CHECK(std::string(a["level"].GetString()) == "critical");
    CHECK(std::string(a["message"].GetString()) ==
          "AI usage quota exceeded! tokens: 12500/10000, cost: 0.0408/1.00 USD");
    auto none = parse(http_get(ts.port(), "/api/v1/alerts?userId=carol").body);
    CHECK_FALSE(none["shouldAlert"].GetBool());
    CHECK(none["level"].IsNull());
    auto all = parse(http_get(ts.port(), "/api/v1/alerts").body);
    REQUIRE(all["alerts"].Size() == 1);
    CHECK(std::string(all["alerts"][0]["subject"].GetString()) == "alice");
  }
  SECTION("cache-hit rate") {
    auto c = parse(http_get(ts.port(), "/api/v1/cache-hit-rate?userId=alice").body);
    CHECK(c["hits"].GetInt() == 1);
    CHECK(c["total"].GetInt() == 3);
    CHECK(c["rate"].GetDouble() == Approx(1.0 / 3));
    auto empty = parse(http_get(ts.port(), "/api/v1/cache-hit-rate?userId=nobody").body);
    CHECK(empty["rate"].GetDouble() == 0.0);
  }
  SECTION("a retried batch is acknowledged as duplicates and counted once") {
    auto again = parse(http_post_json(ts.port(), "/api/v1/usage", kBatch).body);
    CHECK(again["accepted"].GetInt() == 0);
    CHECK(again["duplicates"].GetInt() == 7);
    CHECK(again["records"][1]["costNanos"].GetInt64() == 30'300'000);
    auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
    CHECK(s["totalCalls"].GetInt() == 7);
  }
}

TEST_CASE("http - thresholds at 89.99, 90, 100 and 100.01 percent") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  struct Step {
    int prompt;
    const char* level;  // after adding `prompt` tokens of ollama (free) usage for dave
    const char* message;
  };
  const Step steps[] = {
      {8999, nullptr, ""},
      {1, "warning", "AI usage quota nearly exhausted! tokens: 90.0%, cost: 0.0%"},
      {999, "warning",
       "AI usage quota nearly exhausted! tokens: 99.9%, cost: 0.0%"},  // 9999 = 99.99 %
      {1, "critical", "AI usage quota exceeded! tokens: 10000/10000, cost: 0.00/1.00 USD"},
      {1, "critical", "AI usage quota exceeded! tokens: 10001/10000, cost: 0.00/1.00 USD"},
  };
  int n = 0;
  for (const Step& step : steps) {
    CAPTURE(n);
    auto post = http_post_json(
        ts.port(), "/api/v1/usage",
        record("t" + std::to_string(n++), "dave", "", "ollama", "llama3", step.prompt, 0));
    REQUIRE(post.status == 200);
    auto a = parse(http_get(ts.port(), "/api/v1/alerts?userId=dave").body);
    if (step.level == nullptr) {
      CHECK(a["level"].IsNull());
    } else {
      CHECK(std::string(a["level"].GetString()) == step.level);
      CHECK(std::string(a["message"].GetString()) == step.message);
    }
  }
}

TEST_CASE("http - every error status has a JSON body naming the problem") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock(), 4096);
  const std::string ok = record("x1", "u", "", "ollama", "m", 1, 1);
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", ok).status == 200);

  struct Case {
    const char* name;
    std::string method;
    std::string target;
    std::string content_type;
    std::string body;
    int status;
    std::string expected_body;
  };
  const Case cases[] = {
      {"unknown path", "GET", "/nope", "", "", 404, R"({"error":"no such endpoint: /nope"})"},
      {"GET on ingest", "GET", "/api/v1/usage", "", "", 405,
       R"({"error":"method GET is not allowed on /api/v1/usage; use POST"})"},
      {"POST on metrics", "POST", "/metrics", "application/json", "{}", 405,
       R"({"error":"method POST is not allowed on /metrics; use GET"})"},
      {"form content type", "POST", "/api/v1/usage", "application/x-www-form-urlencoded", ok, 415,
       R"({"error":"Content-Type must be application/json or application/x-ndjson"})"},
      {"no content type", "POST", "/api/v1/usage", "", ok, 415,
       R"({"error":"Content-Type must be application/json or application/x-ndjson"})"},
      {"malformed JSON", "POST", "/api/v1/usage", "application/json", R"({"userId": )", 400,
       R"({"error":"malformed JSON at byte 11: Invalid value.","offset":11,"details":[]})"},
      {"invalid record", "POST", "/api/v1/usage", "application/json; charset=utf-8",
       R"([{"userId":"u","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}},{"userId":"u","provider":"p","model":"m","usage":{"promptTokens":"1"}}])",
       400,
       R"({"error":"1 of 2 records are invalid; nothing was stored","details":[{"index":1,"field":"usage.promptTokens","message":"must be a non-negative integer"},{"index":1,"field":"usage.completionTokens","message":"is required"}]})"},
      {"id reused with other content", "POST", "/api/v1/usage", "application/json",
       record("x1", "u", "", "ollama", "m", 2, 1), 409,
       R"({"error":"id \"x1\" was already used for a record with different content; nothing was stored","details":[{"index":0,"field":"id","message":"already used for a record with different content"}]})"},
      {"body over the limit", "POST", "/api/v1/usage", "application/json", std::string(5000, ' '),
       413, R"({"error":"request body exceeds 4096 bytes"})"},
      {"unknown query parameter", "GET", "/api/v1/statistics?user=alice", "", "", 400,
       R"({"error":"unknown query parameter \"user\""})"},
      {"bad start", "GET", "/api/v1/statistics?start=yesterday", "", "", 400,
       R"({"error":"query parameter \"start\": expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"yesterday\""})"},
      {"end before start", "GET", "/api/v1/cache-hit-rate?start=2026-11-02&end=2026-11-01", "", "",
       400, R"({"error":"query parameter \"end\" must not be before \"start\""})"},
      {"empty parameter", "GET", "/api/v1/quota?userId=", "", "", 400,
       R"({"error":"query parameter \"userId\" must not be empty"})"},
      {"both subjects", "GET", "/api/v1/quota?userId=a&projectId=b", "", "", 400,
       R"({"error":"give query parameter \"userId\" or \"projectId\", not both"})"},
      {"bad token limit", "GET", "/api/v1/alerts?userId=a&monthlyTokenLimit=-5", "", "", 400,
       R"({"error":"query parameter \"monthlyTokenLimit\" must be a positive integer"})"},
      {"bad cost limit", "GET", "/api/v1/quota?userId=a&monthlyCostLimit=ten", "", "", 400,
       R"({"error":"query parameter \"monthlyCostLimit\" must be a positive decimal number"})"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!c.content_type.empty()) headers.push_back({"Content-Type", c.content_type});
    auto r = http_request(ts.port(), c.method, c.target, c.body, headers);
    CHECK(r.status == c.status);
    CHECK(r.body == c.expected_body);
    CHECK(r.headers["content-type"] == "application/json");
    if (c.status == 405) CHECK_FALSE(r.headers["allow"].empty());
  }
  auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
  CHECK(s["totalCalls"].GetInt() == 1);  // nothing from the refused requests was stored
  // Refused records: 2 × 415, malformed JSON, both records of the invalid batch, 409, 413.
  CHECK(http_get(ts.port(), "/metrics")
            .body.find("ai_usage_ingest_records_total{result=\"rejected\"} 7\n") !=
        std::string::npos);
}

TEST_CASE("http - NDJSON bodies, landing page and health") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  std::string ndjson = record("n1", "u", "", "ollama", "m", 1, 1) + "\n\n" +
                       record("n2", "u", "", "ollama", "m", 1, 1) + "\n";
  auto r = http_request(ts.port(), "POST", "/api/v1/usage", ndjson,
                        {{"Content-Type", "application/x-ndjson"}});
  CHECK(r.status == 200);
  CHECK(parse(r.body)["accepted"].GetInt() == 2);
  auto bad = http_request(ts.port(), "POST", "/api/v1/usage", ndjson + "{oops}\n",
                          {{"Content-Type", "application/x-ndjson"}});
  CHECK(bad.status == 400);
  // The two records and blank line take 211 bytes; the error is at the 'o' after the '{' of line 4.
  REQUIRE(ndjson.size() == 211);
  CHECK(
      bad.body ==
      R"({"error":"malformed JSON at byte 212: Missing a name for object member.","offset":212,"details":[]})");

  auto home = http_get(ts.port(), "/");
  CHECK(home.status == 200);
  CHECK(home.headers["content-type"] == "text/html; charset=utf-8");
  CHECK(home.body.find("href=\"/metrics\"") != std::string::npos);
  CHECK(http_get(ts.port(), "/-/healthy").status == 200);
  CHECK(http_get(ts.port(), "/-/ready").status == 200);
  auto m = http_get(ts.port(), "/metrics");
  CHECK(m.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("http - a response is one write with its length, date and connection") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  struct Case {
    const char* request;
    const char* connection;
    bool body;
  };
  const Case cases[] = {
      {"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", "keep-alive", true},
      {"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", "close", true},
      {"GET /-/healthy HTTP/1.0\r\n\r\n", "close", true},
      {"GET /-/healthy HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "keep-alive", true},
      {"HEAD /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", "keep-alive", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    RawSocket s(ts.port());
    REQUIRE(s.send(c.request));
    // Kept-alive connections stay open: read one response by its framing.
    const RawResponse r = parse_response(s.read_response(!c.body));
    CHECK(r.status == 200);
    CHECK(r.headers.at("connection") == c.connection);
    CHECK(r.headers.at("cache-control") == "no-store");
    CHECK(std::regex_match(
        r.headers.at("date"),
        std::regex("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT")));
    CHECK(std::stoul(r.headers.at("content-length")) == (c.body ? r.body.size() : 9u));
    CHECK(r.body == (c.body ? "Healthy.\n" : ""));
  }
}

TEST_CASE("http - a running server has a futex hash wide enough for its workers") {
  // Linux >= 6.17 answers PR_FUTEX_HASH_GET_SLOTS (78, 2); older kernels have one global hash.
  TempDir dir;
  FakeClock clock;
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  const int slots = prctl(78, 2, 0UL, 0UL, 0UL);
  if (slots < 0) {
    WARN("this kernel has no per-process futex hash: nothing to check");
    return;
  }
  CHECK(slots >= 1024);
}
