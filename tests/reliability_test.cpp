// Exactly-once under retries, the timestamp window, graceful drain and config reload, over the
// real HTTP server and SQLite file. The crash and disk-full proofs are in tests/reliability/.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiusage/calendar.hpp"
#include "support/http_client.hpp"
#include "support/live_server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr const char* kNow = "2026-11-15T12:00:00Z";

std::string record(const std::string& id, const std::string& extra = "") {
  return R"({"id":")" + id +
         R"(","userId":"u","provider":"anthropic","model":"claude-3-5-sonnet","usage":{"promptTokens":1000,"completionTokens":500})" +
         extra + "}";
}

std::string batch(int first, int count) {
  std::string out = "[";
  for (int i = first; i < first + count; ++i)
    out += (i > first ? "," : "") + record("r" + std::to_string(i));
  return out + "]";
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE(d.IsObject());
  return d;
}

std::string request(const std::string& body) {
  return "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The accepted-records sample of /metrics.
std::string accepted_line(int port) {
  std::string m = http_get(port, "/metrics").body;
  std::size_t at = m.find("ai_usage_ingest_records_total{result=\"accepted\"} ");
  REQUIRE(at != std::string::npos);
  return m.substr(at, m.find('\n', at) - at);
}

}  // namespace

TEST_CASE("reliability - timestamp window") {
  TempDir dir;
  FakeClock clock;
  const std::int64_t now = *parse_rfc3339(kNow);
  clock.set(now);
  const std::int64_t minute = 60'000, day = 86'400'000;
  struct Case {
    std::string extra_toml;
    std::int64_t timestamp;
    std::string message;  // empty: accepted
  };
  const std::string received = " (received at 2026-11-15T12:00:00.000Z)";
  const Case cases[] = {
      {"", now + 5 * minute, ""},
      {"", now + 5 * minute + 1, "must not be more than 5m in the future" + received},
      {"", now - 35 * day, ""},
      {"", now - 35 * day - 1, "must not be older than 35d" + received},
      {"", 0, "must not be older than 35d" + received},
      {"", 253'402'300'800'000, "must be at most 253402300799999 (year 9999)"},
      {"\n[ingest]\nmax_future = \"1h\"\nmax_age = \"none\"\n", 0, ""},
      {"\n[ingest]\nmax_future = \"1h\"\nmax_age = \"none\"\n", now + 61 * minute,
       "must not be more than 1h in the future" + received},
      {"\n[ingest]\nmax_future = \"none\"\nmax_age = \"2d\"\n", 253'402'300'799'999, ""},
      {"\n[ingest]\nmax_future = \"none\"\nmax_age = \"2d\"\n", now - 3 * day,
       "must not be older than 2d" + received},
  };
  int n = 0;
  for (const Case& c : cases) {
    CAPTURE(c.extra_toml, c.timestamp);
    TempDir one;
    LiveServer ts(live_config(one.file("usage.db"), c.extra_toml), clock.clock());
    auto r = http_post_json(
        ts.port(), "/api/v1/usage",
        record("t" + std::to_string(n++), R"(,"timestamp":)" + std::to_string(c.timestamp)));
    if (c.message.empty()) {
      CHECK(r.status == 200);
    } else {
      CHECK(r.status == 400);
      CHECK(
          r.body ==
          R"({"error":"1 of 1 records are invalid; nothing was stored","details":[{"index":0,"field":"timestamp","message":")" +
              c.message + R"("}]})");
    }
  }
  SECTION("a record without a timestamp is always inside the window") {
    LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
    CHECK(http_post_json(ts.port(), "/api/v1/usage", record("no-ts")).status == 200);
  }
  SECTION("configuration errors") {
    auto r = parse_config("[ingest]\nmax_age = \"35 days\"\n", "w.toml", ".");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "w.toml:2:11: ingest.max_age: expected a duration such as \"30s\", \"5m\" or \"35d\" "
          "(units ms, s, m, h, d)");
  }
}

TEST_CASE("reliability - a batch resent after a lost response is counted once") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());

  SECTION("the client hangs up before the response, then resends") {
    {
      RawSocket s(ts.port());
      s.send(request(batch(0, 20)));
    }  // closed without reading: the response is lost
    auto again = parse(http_post_json(ts.port(), "/api/v1/usage", batch(0, 20)).body);
    CHECK(again["accepted"].GetInt() + again["duplicates"].GetInt() == 20);
    // A retry that overlaps: only the new records count.
    auto overlap = parse(http_post_json(ts.port(), "/api/v1/usage", batch(10, 20)).body);
    CHECK(overlap["accepted"].GetInt() == 10);
    CHECK(overlap["duplicates"].GetInt() == 10);
    CHECK(ts.service->store().record_count() == 30);
    CHECK(accepted_line(ts.port()) == "ai_usage_ingest_records_total{result=\"accepted\"} 30");
  }
  SECTION("eight clients send the same batches at once: each record is accepted exactly once") {
    constexpr int kClients = 8, kBatches = 10, kSize = 25;
    std::vector<std::future<std::vector<int>>> clients;
    for (int c = 0; c < kClients; ++c)
      clients.push_back(std::async(std::launch::async, [&] {
        std::vector<int> accepted;
        for (int b = 0; b < kBatches; ++b) {
          auto r = http_post_json(ts.port(), "/api/v1/usage", batch(b * kSize, kSize));
          accepted.push_back(r.status == 200 ? parse(r.body)["accepted"].GetInt() : -1);
        }
        return accepted;
      }));
    std::vector<int> per_batch(kBatches, 0);
    for (auto& f : clients) {
      auto accepted = f.get();
      for (int b = 0; b < kBatches; ++b) {
        REQUIRE(accepted[b] >= 0);
        per_batch[b] += accepted[b];
      }
    }
    for (int b = 0; b < kBatches; ++b) CHECK(per_batch[b] == kSize);
    CHECK(ts.service->store().record_count() == kBatches * kSize);
    auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
    CHECK(s["totalCalls"].GetInt() == kBatches * kSize);
    CHECK(s["totalCostNanos"].GetInt64() == std::int64_t{kBatches} * kSize * 10'500'000);
  }
}

TEST_CASE("reliability - drain finishes in-flight requests and refuses new ones") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
  const std::string body = batch(0, 5);
  RawSocket in_flight(ts.port());
  in_flight.send(request(body).substr(0, request(body).size() - 10));  // all but the last 10 bytes
  // The request is in flight once the server counts it (its handler then waits for the body).
  REQUIRE(eventually([&] { return ts.server->in_flight() != 0; }));
  REQUIRE(ts.server->in_flight() == 1);
  // A generous drain timeout: drain() returns as soon as the request ends, which the test causes.
  auto drained = std::async(std::launch::async, [&] { return ts.server->drain(60'000); });
  // drain() starts on another thread: probe until it refuses.
  HttpResponse refused;
  CHECK(eventually([&] { return (refused = http_get(ts.port(), "/-/ready")).status != 200; }));
  CHECK(refused.status == 503);
  CHECK(refused.body == R"({"error":"shutting down"})");
  CHECK(refused.headers["retry-after"] == "1");
  CHECK(drained.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  in_flight.send(request(body).substr(request(body).size() - 10));
  RawResponse r = parse_response(in_flight.read_all());
  CHECK(r.status == 200);
  CHECK(drained.get());
  CHECK(ts.service->store().record_count() == 5);
}

TEST_CASE("reliability - reload swaps prices, quotas and tokens, a bad config keeps serving") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  std::mutex mutex;
  std::string extra;  // appended to the test config on each reload
  Config initial = live_config(dir.file("usage.db"));
  auto load = [&]() -> Result<Config> {
    std::lock_guard lock(mutex);
    auto r = parse_config(std::string(kTestConfig) + extra, "reload.toml", ".");
    if (!r) return r;
    r->storage_path = initial.storage_path;
    r->listen = initial.listen;
    r->http_threads = initial.http_threads;
    return r;
  };
  LiveServer ts(initial, clock.clock(), load);
  auto set_extra = [&](const std::string& e) {
    std::lock_guard lock(mutex);
    extra = e;
  };
  auto reload = [&] { return http_request(ts.port(), "POST", "/-/reload"); };
  auto gauge = [&](const char* name) {
    std::string m = http_get(ts.port(), "/metrics").body;
    std::size_t at = m.find(std::string("\n") + name + " ");
    REQUIRE(at != std::string::npos);
    return m.substr(at + 1, m.find('\n', at + 1) - at - 1);
  };
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", record("before")).status == 200);
  CHECK(gauge("ai_usage_config_last_reload_successful") ==
        "ai_usage_config_last_reload_successful 1");

  SECTION("a new price applies to records received after the reload only") {
    set_extra(
        "\n[[pricing]]\nprovider = \"anthropic\"\nmodel = \"claude-3-5-sonnet\"\ninput = "
        "6.00\noutput = 30.00\n");
    // The test config already prices this model: a second entry for the same date is a duplicate.
    auto bad = reload();
    CHECK(bad.status == 400);
    CHECK(bad.body.find("duplicate price for anthropic/claude-3-5-sonnet") != std::string::npos);
    CHECK(gauge("ai_usage_config_last_reload_successful") ==
          "ai_usage_config_last_reload_successful 0");
    set_extra(
        "\n[[pricing]]\nprovider = \"anthropic\"\nmodel = \"claude-3-5-sonnet\"\ninput = "
        "6.00\noutput = 30.00\n"
        "effective_from = \"2026-11-01\"\n");
    clock.set(*parse_rfc3339(kNow) + 5000);
    auto ok = reload();
    CHECK(ok.status == 200);
    CHECK(gauge("ai_usage_config_last_reload_successful") ==
          "ai_usage_config_last_reload_successful 1");
    CHECK(gauge("ai_usage_config_last_reload_success_timestamp_seconds") ==
          "ai_usage_config_last_reload_success_timestamp_seconds 1794744005");
    auto after = parse(http_post_json(ts.port(), "/api/v1/usage", record("after")).body);
    CHECK(after["records"][0]["costNanos"].GetInt64() == 21'000'000);  // 1000 × 6 + 500 × 30
    auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
    CHECK(s["totalCostNanos"].GetInt64() == 10'500'000 + 21'000'000);
  }
  SECTION("quotas and tokens change with the reload") {
    set_extra("\n[[quota]]\nscope = \"user\"\nsubject = \"u\"\ntokens = 1000\n");
    REQUIRE(reload().status == 200);
    auto q = parse(http_get(ts.port(), "/api/v1/quota?userId=u").body);
    CHECK(q["limits"]["tokens"].GetInt() == 1000);
    CHECK(q["exceeded"].GetBool());
    set_extra("\n[[auth.tokens]]\nname = \"ops\"\nsha256 = \"" + to_hex(sha256("ops-token")) +
              "\"\nscopes = [\"admin\", \"read\"]\n");
    REQUIRE(reload().status == 200);
    CHECK(http_get(ts.port(), "/api/v1/statistics").status == 401);
    CHECK(reload().status == 401);
    CHECK(http_request(ts.port(), "POST", "/-/reload", "", {{"Authorization", "Bearer ops-token"}})
              .status == 200);
  }
  SECTION("a change that needs a restart is refused, naming every such setting") {
    set_extra("\n[metrics]\nlabels = [\"provider\"]\n");
    auto r = reload();
    CHECK(r.status == 400);
    CHECK(r.body ==
          R"({"error":"configuration reload failed: metrics.labels changed: it only takes effect )"
          R"(after a restart; nothing was reloaded"})");
    CHECK(gauge("ai_usage_config_last_reload_successful") ==
          "ai_usage_config_last_reload_successful 0");
    CHECK(http_post_json(ts.port(), "/api/v1/usage", record("still")).status == 200);
    // With a reloadable change beside them: nothing applies, not even the quota.
    set_extra(
        "\n[[quota]]\nscope = \"user\"\nsubject = \"u\"\ntokens = 1000\n"
        "[storage]\ngroup_commit = false\n[metrics]\nmax_series = 10\n");
    r = reload();
    CHECK(r.body ==
          R"({"error":"configuration reload failed: storage.group_commit, metrics.max_series )"
          R"(changed: they only take effect after a restart; nothing was reloaded"})");
    auto q = parse(http_get(ts.port(), "/api/v1/quota?userId=u").body);
    CHECK(q["limits"]["tokens"].GetInt() == 10000);  // the "*" rule's, as before
  }
  SECTION("a file that does not parse is refused with its position") {
    set_extra("\n[billing\n");
    auto r = reload();
    CHECK(r.status == 400);
    CHECK(r.body.find(R"({"error":"configuration reload failed: reload.toml:)") == 0);
    CHECK(parse(http_post_json(ts.port(), "/api/v1/usage", record("still"))
                    .body)["records"][0]["costNanos"]
              .GetInt64() == 10'500'000);
  }
}
