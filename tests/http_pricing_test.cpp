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
