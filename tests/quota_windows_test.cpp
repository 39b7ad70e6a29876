// Budget windows (day, ISO week, month) across a DST change, thresholds, forecasts, and the
// quota rows of /metrics, through the real HTTP API on a real store.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "aiusage/config.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// Europe/Berlin: summer time starts 2026-03-29 at 02:00 local (01:00Z), so that day has 23 hours.
const char* const kConfig = R"TOML(
[billing]
currency = "USD"
timezone = "Europe/Berlin"

[[pricing]]
provider = "ollama"
model = "*"
input = 0.0
output = 0.0

[[quota]]
scope = "user"
subject = "*"
window = "day"
tokens = 1000
thresholds = [0.5, 0.8, 1.0]

[[quota]]
scope = "user"
subject = "*"
window = "week"
tokens = 3000

[[quota]]
scope = "user"
subject = "ann"
tokens = 100000
)TOML";

Config config_in(const TempDir& dir) {
  auto r = parse_config(kConfig, "test.toml", ".");
  REQUIRE(r.ok());
  r->storage_path = dir.file("usage.db");
  return std::move(*r);
}

void post(int port, const std::string& id, const std::string& user, int tokens,
          const std::string& project = "") {
  const std::string p = project.empty() ? "" : R"(,"projectId":")" + project + "\"";
  const std::string body = R"({"id":")" + id + R"(","userId":")" + user + "\"" + p +
                           R"(,"provider":"ollama","model":"m","usage":{"promptTokens":)" +
                           std::to_string(tokens) + R"(,"completionTokens":0}})";
  REQUIRE(http_post_json(port, "/api/v1/usage", body).status == 200);
}

rapidjson::Document get(int port, const std::string& target) {
  const HttpResponse r = http_get(port, target);
  CAPTURE(target, r.body);
  REQUIRE(r.status == 200);
  return parse(r.body);
}

std::string str(const rapidjson::Value& v) { return v.IsNull() ? "null" : v.GetString(); }

bool has_line(int port, const std::string& line) {
  const std::string page = http_get(port, "/metrics").body;
  return page.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("quota windows - day and week across a DST change") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-03-28T22:30:00Z"));  // Saturday 23:30 CET
  TestServer ts(config_in(dir), clock.clock());
  post(ts.port(), "r1", "ann", 400);

  SECTION("each window counts its own part and starts at local midnight") {
    auto day = get(ts.port(), "/api/v1/quota?userId=ann&window=day");
    CHECK(day["usage"]["tokens"].GetInt() == 400);
    CHECK(str(day["window"]) == "day");
    CHECK(str(day["period"]["start"]) == "2026-03-28T00:00:00+01:00");
    clock.set(at("2026-03-28T23:30:00Z"));  // Sunday 00:30 CET: a new day, the same ISO week
    day = get(ts.port(), "/api/v1/quota?userId=ann&window=day");
    CHECK(day["usage"]["tokens"].GetInt() == 0);
    CHECK(str(day["period"]["start"]) == "2026-03-29T00:00:00+01:00");
    CHECK(str(day["period"]["end"]) == "2026-03-30T00:00:00+02:00");  // 23 hours later
    post(ts.port(), "r2", "ann", 800);
    auto week = get(ts.port(), "/api/v1/quota?userId=ann&window=week");
    CHECK(week["usage"]["tokens"].GetInt() == 1200);
    CHECK(str(week["period"]["start"]) == "2026-03-23T00:00:00+01:00");
    CHECK(str(week["period"]["end"]) == "2026-03-30T00:00:00+02:00");
    auto month = get(ts.port(), "/api/v1/quota?userId=ann");
    CHECK(str(month["window"]) == "month");
    CHECK(month["usage"]["tokens"].GetInt() == 1200);
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_used{scope=\"user\",subject=\"ann\",window=\"day\","
                   "resource=\"tokens\"} 800"));
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_window_end_timestamp_seconds{window=\"day\"} 1774821600"));

    clock.set(at("2026-03-29T22:30:00Z"));  // Monday 00:30 CEST: a new day and a new week
    CHECK(get(ts.port(), "/api/v1/quota?userId=ann&window=day")["usage"]["tokens"].GetInt() == 0);
    CHECK(get(ts.port(), "/api/v1/quota?userId=ann&window=week")["usage"]["tokens"].GetInt() == 0);
    CHECK(get(ts.port(), "/api/v1/quota?userId=ann")["usage"]["tokens"].GetInt() == 1200);
  }

  SECTION("after a restart the windows are rebuilt from the store") {
    clock.set(at("2026-03-28T23:30:00Z"));
    post(ts.port(), "r2", "ann", 100);
    ts.stop();
    TestServer again(config_in(dir), clock.clock());
    CHECK(get(again.port(), "/api/v1/quota?userId=ann&window=day")["usage"]["tokens"].GetInt() ==
          100);
    CHECK(get(again.port(), "/api/v1/quota?userId=ann&window=week")["usage"]["tokens"].GetInt() ==
          500);
  }

  SECTION("a window no quota uses is answered from the store") {
    post(ts.port(), "r2", "bob", 70, "web");
    auto q = get(ts.port(), "/api/v1/quota?projectId=web&window=week");
    CHECK(q["usage"]["tokens"].GetInt() == 70);
    CHECK(q["limits"]["tokens"].IsNull());
    const HttpResponse bad = http_get(ts.port(), "/api/v1/quota?userId=ann&window=year");
    CHECK(bad.status == 400);
    CHECK(bad.body.find(R"(query parameter \"window\")") != std::string::npos);
  }
}

TEST_CASE("quota windows - thresholds and the window an alert names") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-03-28T23:30:00Z"));
  TestServer ts(config_in(dir), clock.clock());
  struct Case {
    int tokens;
    const char* level;  // of the day window (1000 tokens; thresholds 0.5, 0.8, 1.0)
    double threshold;
  };
  const std::vector<Case> cases = {
      {499, nullptr, 0},     {500, "warning", 0.5}, {799, "warning", 0.5},
      {800, "warning", 0.8}, {999, "warning", 0.8}, {1000, "critical", 1.0},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string user = "u" + std::to_string(n++);
    CAPTURE(c.tokens);
    post(ts.port(), user, user, c.tokens);
    auto a = get(ts.port(), "/api/v1/alerts?userId=" + user);
    CHECK(a["shouldAlert"].GetBool() == (c.level != nullptr));
    if (c.level == nullptr) {
      CHECK(a["threshold"].IsNull());
      continue;
    }
    CHECK(str(a["level"]) == c.level);
    CHECK(a["threshold"].GetDouble() == c.threshold);
    CHECK(str(a["window"]) == "day");  // the week (3000) is below its 0.9
  }
  // The list names each subject once, in its highest window.
  auto all = get(ts.port(), "/api/v1/alerts");
  REQUIRE(all["alerts"].Size() == 5);
  for (const auto& a : all["alerts"].GetArray()) CHECK(str(a["window"]) == "day");
  CHECK(get(ts.port(), "/api/v1/alerts?window=week")["alerts"].Size() == 0);
  CHECK(has_line(ts.port(),
                 "ai_usage_quota_alert_ratio{scope=\"user\",subject=\"u4\",window=\"day\","
                 "resource=\"tokens\",threshold=\"0.8\",level=\"warning\"} 0.999"));
  CHECK(has_line(ts.port(),
                 "ai_usage_quota_alert_ratio{scope=\"user\",subject=\"u5\",window=\"day\","
                 "resource=\"tokens\",threshold=\"1\",level=\"critical\"} 1"));
}

TEST_CASE("quota windows - forecast from the window's rate so far") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-03-31T22:30:00Z"));  // 1 April 00:30 CEST; April has 720 hours
  TestServer ts(config_in(dir), clock.clock());
  post(ts.port(), "r1", "ann", 1000);

  SECTION("none before the window's first hour") {
    CHECK(get(ts.port(), "/api/v1/quota?userId=ann")["projected"].IsNull());
  }
  SECTION("then used x window / elapsed, and when the limit is reached") {
    clock.set(at("2026-04-01T00:00:00Z"));  // 02:00 local: 2 hours in, 1000 tokens
    auto q = get(ts.port(), "/api/v1/quota?userId=ann");
    REQUIRE(q["projected"].IsObject());
    CHECK(q["projected"]["tokens"].GetInt64() == 360000);  // 1000 x 720 / 2
    // 99,000 tokens to go at 500 an hour: 198 hours after 1 April 02:00.
    CHECK(str(q["projected"]["exhaustedAt"]) == "2026-04-09T08:00:00+02:00");
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_projected_usage_ratio{scope=\"user\",subject=\"ann\","
                   "window=\"month\",resource=\"tokens\"} 3.6"));
  }
}

TEST_CASE("quota windows - quiet subjects of \"*\" rules are summed into __other__") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-03-28T23:30:00Z"));
  Config config = config_in(dir);
  TestServer ts(config, clock.clock());
  post(ts.port(), "r1", "bob", 100);
  post(ts.port(), "r2", "cat", 399);
  post(ts.port(), "r3", "dan", 600);  // 0.6 of its day: shown on its own

  SECTION("exact sums, and the configured subject shown even when idle") {
    const std::string other =
        "{scope=\"user\",subject=\"__other__\",window=\"day\",resource=\"tokens\"}";
    CHECK(has_line(ts.port(), "ai_usage_quota_used" + other + " 499"));
    CHECK(has_line(ts.port(), "ai_usage_quota_limit" + other + " 2000"));
    CHECK(has_line(ts.port(), "ai_usage_quota_usage_ratio" + other + " 0.2495"));
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_used{scope=\"user\",subject=\"dan\",window=\"day\","
                   "resource=\"tokens\"} 600"));
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_used{scope=\"user\",subject=\"ann\",window=\"month\","
                   "resource=\"tokens\"} 0"));
    // bob and cat in the day, all three in the week (each below 0.5 of 3000).
    CHECK(has_line(ts.port(),
                   "ai_usage_metrics_folded_series{family=\"ai_usage_quota_usage_ratio\"} 5"));
  }
  SECTION("quota_min_ratio = 0 shows every subject") {
    config.quota_min_ratio_ppm = 0;
    ts.service->reload(config);
    CHECK(has_line(ts.port(),
                   "ai_usage_quota_used{scope=\"user\",subject=\"bob\",window=\"day\","
                   "resource=\"tokens\"} 100"));
    CHECK(has_line(ts.port(),
                   "ai_usage_metrics_folded_series{family=\"ai_usage_quota_usage_ratio\"} 0"));
  }
}
