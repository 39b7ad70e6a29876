// /metrics over HTTP against a real SQLite file: the golden page, counters rebuilt after a
// restart, quota gauges at a month boundary, dropped labels and escaped label values.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/metrics_page.hpp"
#include "support/sample_records.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"
#include "support/wait.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string without_revision(const std::string& metrics) {
  return std::regex_replace(metrics, std::regex("revision=\"[^\"]*\""), "revision=\"REVISION\"");
}

}  // namespace

TEST_CASE("metrics - golden exposition") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", kBatch).status == 200);
  REQUIRE(
      http_request(ts.port(), "POST", "/api/v1/usage", "{", {{"Content-Type", "application/json"}})
          .status == 400);
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage",
                         record("a", "alice", "web", "anthropic", "claude-3-5-sonnet-20241022",
                                1000, 500, R"(,"timestamp":"2026-11-15T10:00:00Z")"))
              .status == 200);
  const std::string page = http_get(ts.port(), "/metrics").body;
  // Two requests reached the writer (the malformed one did not), each flushed once at least.
  CHECK(page.find("\nai_usage_ingest_ack_duration_seconds_count 2\n") != std::string::npos);
  CHECK(std::regex_search(page, std::regex("\nai_usage_store_flush_duration_seconds_count [1-9]")));
  // The roll-up runs once ingest is idle; the backlog gauge then reads 0.
  CHECK(eventually([&] {
    return http_get(ts.port(), "/metrics").body.find("\nai_usage_rollup_pending_records 0\n") !=
           std::string::npos;
  }));
  std::string actual = without_timings(without_revision(page));
  const std::string golden_path = AIUSAGE_GOLDEN_DIR "/metrics.txt";
  if (std::getenv("AIUSAGE_UPDATE_GOLDEN")) std::ofstream(golden_path) << actual;
  CHECK(actual == read_file(golden_path));
}

TEST_CASE("metrics - counters are rebuilt exactly after a restart") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  Config config = test_config(dir.file("usage.db"));
  std::string before;
  {
    TestServer ts(config, clock.clock());
    REQUIRE(http_post_json(ts.port(), "/api/v1/usage", kBatch).status == 200);
    before = http_get(ts.port(), "/metrics").body;
  }
  TestServer again(config, clock.clock());
  // The usage families come back exactly; the storage pipeline's durations start afresh.
  const std::string after = http_get(again.port(), "/metrics").body;
  CHECK(usage_part(after) == usage_part(before));
  CHECK(after.find("\nai_usage_ingest_ack_duration_seconds_count 0\n") != std::string::npos);
  auto s = parse(http_get(again.port(), "/api/v1/statistics").body);
  CHECK(s["totalCalls"].GetInt() == 7);
}

TEST_CASE("metrics - quota gauges roll over at the month boundary of the zone") {
  TempDir dir;
  FakeClock clock;
  // 2026-11-30T15:59:59Z is 23:59:59 on 30 November in Asia/Shanghai.
  clock.set(at("2026-11-30T15:59:59Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  REQUIRE(
      http_post_json(ts.port(), "/api/v1/usage", record("m1", "erin", "", "ollama", "m", 9500, 0))
          .status == 200);
  auto has = [&](const std::string& line) {
    return http_get(ts.port(), "/metrics").body.find(line) != std::string::npos;
  };
  CHECK(
      has("ai_usage_quota_usage_ratio{scope=\"user\",subject=\"erin\",window=\"month\",resource="
          "\"tokens\"} "
          "0.95\n"));
  CHECK(parse(http_get(ts.port(), "/api/v1/alerts?userId=erin").body)["shouldAlert"].GetBool());
  clock.set(at("2026-11-30T16:00:00Z"));  // midnight, 1 December in Shanghai
  CHECK_FALSE(has("subject=\"erin\""));
  auto q = parse(http_get(ts.port(), "/api/v1/quota?userId=erin").body);
  CHECK(q["usage"]["tokens"].GetInt() == 0);
  CHECK(std::string(q["period"]["start"].GetString()) == "2026-12-01T00:00:00+08:00");
  CHECK(
      has("ai_usage_requests_total{provider=\"ollama\",model=\"m\",project=\"\",user=\"erin\","
          "cached=\"false\"} 1\n"));
}

TEST_CASE("metrics - dropped labels are summed away") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(
      test_config(dir.file("usage.db"), "\n[metrics]\nlabels = [\"provider\", \"model\"]\n"),
      clock.clock());
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", kBatch).status == 200);
  std::string m = http_get(ts.port(), "/metrics").body;
  CHECK(m.find("user=") == std::string::npos);
  CHECK(m.find("project=") == std::string::npos);
  // b (0.0303) + g (0, cached) share provider and model once user and project are dropped
  CHECK(m.find("ai_usage_cost_total{provider=\"anthropic\",model=\"claude-3-5-sonnet\",currency="
               "\"USD\"} 0.0303\n") != std::string::npos);
  CHECK(m.find("ai_usage_requests_total{provider=\"anthropic\",model=\"claude-3-5-sonnet\",cached="
               "\"true\"} 1\n") != std::string::npos);
}

TEST_CASE("metrics - label values are escaped") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  REQUIRE(
      http_post_json(
          ts.port(), "/api/v1/usage",
          R"({"userId":"a\"b\\c\nd","provider":"ollama","model":"m","usage":{"promptTokens":1,"completionTokens":1}})")
          .status == 200);
  std::string m = http_get(ts.port(), "/metrics").body;
  CHECK(m.find(R"(user="a\"b\\c\nd")") != std::string::npos);
}
