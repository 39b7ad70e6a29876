// Over HTTP: each price class of a record costs its own price, sums into the statistics and shows
// on /metrics as its token_type.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/http_client.hpp"
#include "support/metrics_page.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// Made-up prices per 1M tokens, each class its own, so that a class priced as another shows.
const char* const kClassPrices = R"TOML(
[[pricing]]
provider = "acme"
model = "omni"
input = 1
output = 2
cache_read = 3
cache_write = 4
cache_write_1h = 5
audio_input = 6
image_input = 7
reasoning = 8
audio_output = 9
image_output = 10

[[pricing]]
provider = "acme"
model = "plain"
input = 1
output = 2
)TOML";

std::string record(const std::string& id, const std::string& model, const std::string& usage) {
  return R"({"id":")" + id + R"(","userId":"u","provider":"acme","model":")" + model +
         R"(","usage":)" + usage + "}";
}

}  // namespace

TEST_CASE("http pricing - every token class at its price, in statistics and on /metrics") {
  TempDir dir;
  FakeClock clock;
  clock.set(1'794'736'800'000);  // 2026-11-15T10:00:00Z
  TestServer ts(test_config(dir.file("usage.db"), kClassPrices), clock.clock());
  // prompt 1000 = 100 read + 200 write + 300 1h + 40 audio + 50 image + 310 text input;
  // completion 500 = 60 reasoning + 70 audio + 80 image + 290 text output
  const std::string usage =
      R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":100,"cacheWriteTokens":200,
          "cacheWrite1hTokens":300,"audioInputTokens":40,"imageInputTokens":50,
          "reasoningTokens":60,"audioOutputTokens":70,"imageOutputTokens":80})";
  struct Case {
    const char* model;
    std::int64_t cost_nanos;
  };
  const Case cases[] = {
      // 310×1 + 100×3 + 200×4 + 300×5 + 40×6 + 50×7 + 290×2 + 60×8 + 70×9 + 80×10 = 5990 per 1M
      {"omni", 5'990'000},
      // without detail prices: 1h writes at cache_write (= input 1), audio and image input at
      // input, the completion's parts at output: 1000×1 + 500×2 = 2000 per 1M
      {"plain", 2'000'000},
  };
  for (const Case& c : cases) {
    CAPTURE(c.model);
    auto r = http_post_json(ts.port(), "/api/v1/usage", record(c.model, c.model, usage));
    INFO(r.body);
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    CHECK(d["records"][0]["costNanos"].GetInt64() == c.cost_nanos);
  }

  SECTION("statistics sum each class") {
    auto r = http_get(ts.port(), "/api/v1/statistics?model=omni");
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    const std::pair<const char*, std::int64_t> sums[] = {
        {"promptTokens", 1000},    {"completionTokens", 500},    {"cacheReadTokens", 100},
        {"cacheWriteTokens", 200}, {"cacheWrite1hTokens", 300},  {"audioInputTokens", 40},
        {"imageInputTokens", 50},  {"reasoningTokens", 60},      {"audioOutputTokens", 70},
        {"imageOutputTokens", 80}, {"totalCostNanos", 5'990'000}};
    for (const auto& [key, value] : sums) {
      CAPTURE(key);
      REQUIRE(d.HasMember(key));
      CHECK(d[key].GetInt64() == value);
    }
  }

  SECTION("/metrics shows each class once it has tokens; the classes add up to the tokens") {
    const std::string page = http_get(ts.port(), "/metrics").body;
    const std::pair<const char*, const char*> lines[] = {
        {"input", "310"},      {"cache_read", "100"},     {"cache_write", "200"},
        {"output", "290"},     {"cache_write_1h", "300"}, {"audio_input", "40"},
        {"image_input", "50"}, {"reasoning", "60"},       {"audio_output", "70"},
        {"image_output", "80"}};
    for (const auto& [type, value] : lines) {
      CAPTURE(type);
      const std::string line =
          std::string("ai_usage_tokens_total{provider=\"acme\",model=\"omni\",") +
          "project=\"\",user=\"u\",token_type=\"" + type + "\"} " + value + "\n";
      CHECK(page.find(line) != std::string::npos);
    }
    // a series without detail tokens shows the four basic classes only
    REQUIRE(http_post_json(ts.port(), "/api/v1/usage",
                           R"({"id":"bare","userId":"v","provider":"acme","model":"plain",
                               "usage":{"promptTokens":10,"completionTokens":5}})")
                .status == 200);
    const std::string after = http_get(ts.port(), "/metrics").body;
    CHECK(after.find(R"(model="plain",project="",user="v",token_type="output"} 5)") !=
          std::string::npos);
    CHECK(after.find(R"(model="plain",project="",user="v",token_type="reasoning")") ==
          std::string::npos);
  }
}

namespace {

const char* const kTierPrices = R"TOML(
[[pricing]]
provider = "openai"
model = "gpt-5.4"
input = 2.5
output = 15
per_request = 0.01
tool_calls = { web_search = 10 }

[[pricing]]
provider = "openai"
model = "gpt-5.4"
service_tier = "priority"
input = 5
output = 30
)TOML";

std::string call(const std::string& id, const std::string& extra) {
  return R"({"id":")" + id + R"(","userId":"u","provider":"openai","model":"gpt-5.4-2026-03-05",
      "usage":{"promptTokens":1000,"completionTokens":100})" +
         extra + "}";
}

}  // namespace

TEST_CASE("http pricing - service tiers, tool fees and the pricing note of each record") {
  TempDir dir;
  FakeClock clock;
  clock.set(1'794'736'800'000);  // 2026-11-15T10:00:00Z
  struct Case {
    const char* id;
    std::string extra;
    std::int64_t cost_nanos;
    const char* tier;
    const char* requested;  // nullptr: the same
  };
  const Case cases[] = {
      // 1000 × 2.50 + 100 × 15 = 4000 per 1M → 4,000,000 + 0.01 per request
      {"std", "", 14'000'000, "standard", nullptr},
      // 1000 × 5 + 100 × 30 = 8000 per 1M; the priority entry has no request fee
      {"prio", R"(,"serviceTier":"priority")", 8'000'000, "priority", nullptr},
      {"flex", R"(,"serviceTier":"flex")", 14'000'000, "standard", "flex"},
      // + 3 searches × 10.00 / 1000 = 0.03; code_interpreter has no price: free, counted
      {"tools", R"(,"toolCalls":{"web_search":3,"code_interpreter":2})", 44'000'000, "standard",
       nullptr},
      {"cached", R"(,"cached":true,"toolCalls":{"web_search":5})", 0, "standard", nullptr},
  };
  {
    TestServer ts(test_config(dir.file("usage.db"), kTierPrices), clock.clock());
    for (const Case& c : cases) {
      CAPTURE(c.id);
      auto r = http_post_json(ts.port(), "/api/v1/usage", call(c.id, c.extra));
      INFO(r.body);
      REQUIRE(r.status == 200);
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      const auto& rec = d["records"][0];
      CHECK(rec["costNanos"].GetInt64() == c.cost_nanos);
      REQUIRE(rec.HasMember("pricing"));
      const auto& p = rec["pricing"];
      CHECK(std::string(p["entry"].GetString()) == "openai/gpt-5.4");
      CHECK(p["tier"].IsNull());
      CHECK(std::string(p["serviceTier"].GetString()) == c.tier);
      CHECK(p.HasMember("requestedServiceTier") == (c.requested != nullptr));
      if (c.requested) CHECK(std::string(p["requestedServiceTier"].GetString()) == c.requested);
      CHECK_THAT(p["source"].GetString(), Catch::Matches(".*:[0-9]+:[0-9]+"));
    }
    CHECK(http_get(ts.port(), "/metrics")
              .body.find("ai_usage_tool_calls_total{provider=\"openai\",model=\"gpt-5.4-2026-03-"
                         "05\",tool=\"web_search\"} 3\n") != std::string::npos);
    SECTION("a re-sent record is a duplicate without a note; a changed tier or tool is a 409") {
      auto dup = http_post_json(ts.port(), "/api/v1/usage", call("tools", cases[3].extra));
      CHECK(dup.status == 200);
      CHECK(dup.body.find("\"pricing\"") == std::string::npos);
      CHECK(http_post_json(ts.port(), "/api/v1/usage",
                           call("tools", R"(,"toolCalls":{"web_search":4,"code_interpreter":2})"))
                .status == 409);
      CHECK(http_post_json(ts.port(), "/api/v1/usage", call("prio", R"(,"serviceTier":"batch")"))
                .status == 409);
    }
  }
  // The counters come back from the store after a restart; the cached record's calls are not
  // counted (no provider call was made).
  TestServer again(test_config(dir.file("usage.db"), kTierPrices), clock.clock());
  const std::string page = http_get(again.port(), "/metrics").body;
  CHECK(page.find("ai_usage_tool_calls_total{provider=\"openai\",model=\"gpt-5.4-2026-03-05\","
                  "tool=\"code_interpreter\"} 2\n") != std::string::npos);
  CHECK(page.find("ai_usage_tool_calls_total{provider=\"openai\",model=\"gpt-5.4-2026-03-05\","
                  "tool=\"web_search\"} 3\n") != std::string::npos);
  CHECK(page.find("ai_usage_unpriced_tool_calls_total{provider=\"openai\",model=\"gpt-5.4-2026-03-"
                  "05\",tool=\"code_interpreter\"} 2\n") != std::string::npos);
  CHECK(page.find("ai_usage_unpriced_tool_calls_total{provider=\"openai\",model=\"gpt-5.4-2026-03-"
                  "05\",tool=\"web_search\"}") == std::string::npos);
}
