// A call recorded with the provider's own usage object and the same call in our format cost the
// same nano and give the same metrics, for every format (over HTTP, each on its own store).
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

const char* const kMorePrices = R"TOML(
[[pricing]]
provider = "google"
model = "gemini-2.5-pro"
input = 1.25
output = 10.0
cache_read = 0.125

[[pricing]]
provider = "bedrock"
model = "anthropic.claude-sonnet-4"
input = 3.00
output = 15.00
cache_read = 0.30
cache_write = 3.75
)TOML";

struct Stored {
  std::int64_t cost_nanos = 0;
  std::string metrics;  // the usage families of /metrics
};

Stored post_one(const std::string& body) {
  TempDir dir;
  FakeClock clock;
  clock.set(1'794'736'800'000);  // 2026-11-15T10:00:00Z
  TestServer ts(test_config(dir.file("usage.db"), kMorePrices), clock.clock());
  auto r = http_post_json(ts.port(), "/api/v1/usage", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE(d["accepted"].GetInt() == 1);
  return {d["records"][0]["costNanos"].GetInt64(),
          usage_part(http_get(ts.port(), "/metrics").body)};
}

std::string record(const char* provider, const char* model, const std::string& usage) {
  return std::string(R"({"id":"r1","userId":"u","projectId":"p","provider":")") + provider +
         R"(","model":")" + model + R"(","usage":)" + usage + "}";
}

}  // namespace

TEST_CASE("http usage formats - a provider object costs what the same record in ours costs") {
  struct Case {
    const char* format;
    std::string native;
    std::string ours;
    std::int64_t cost_nanos;  // worked out by hand
  };
  const Case cases[] = {
      // input 400 × 2.50 + cache_read 600 × 1.25 + output 200 × 10.00 = 3750 per 1M
      {"openai", record("openai", "gpt-4o", R"({"prompt_tokens":1000,"completion_tokens":200,
          "prompt_tokens_details":{"cached_tokens":600},
          "completion_tokens_details":{"reasoning_tokens":50}})"),
       record("openai", "gpt-4o",
              R"({"promptTokens":1000,"completionTokens":200,"cacheReadTokens":600,
                  "reasoningTokens":50})"),
       3'750'000},  // gpt-4o has no reasoning price: output's
      // input 800 × 2.50 + cache_read 100 × 1.25 + output 300 × 10.00 = 5125 per 1M
      {"openai-responses", record("openai", "gpt-4o", R"({"input_tokens":900,"output_tokens":300,
          "input_tokens_details":{"cached_tokens":100}})"),
       record("openai", "gpt-4o",
              R"({"promptTokens":900,"completionTokens":300,"cacheReadTokens":100})"),
       5'125'000},
      // input 50 × 3 + read 4000 × 0.30 + write 1000 × 3.75 + output 700 × 15 = 15600 per 1M
      {"anthropic", record("anthropic", "claude-3-5-sonnet", R"({"input_tokens":50,
          "cache_read_input_tokens":4000,"cache_creation_input_tokens":1000,"output_tokens":700})"),
       record("anthropic", "claude-3-5-sonnet", R"({"promptTokens":5050,"completionTokens":700,
          "cacheReadTokens":4000,"cacheWriteTokens":1000})"),
       15'600'000},
      // input 10 × 3 + 5-minute writes 100 × 3.75 + 1-hour writes 200 × 6.00 + output 5 × 15
      // = 1680 per 1M (claude-3-5-sonnet's 1-hour price: 2× input)
      {"anthropic, 1-hour writes", record("anthropic", "claude-3-5-sonnet", R"({"input_tokens":10,
          "cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":100,
          "ephemeral_1h_input_tokens":200},"output_tokens":5})"),
       record("anthropic", "claude-3-5-sonnet", R"({"promptTokens":310,"completionTokens":5,
          "cacheWriteTokens":100,"cacheWrite1hTokens":200})"),
       1'680'000},
      // input (2000 - 1500 + 25) × 1.25 + read 1500 × 0.125 + output (300 + 700) × 10 = 10843.75
      {"gemini", record("google", "gemini-2.5-pro", R"({"promptTokenCount":2000,
          "cachedContentTokenCount":1500,"candidatesTokenCount":300,"thoughtsTokenCount":700,
          "toolUsePromptTokenCount":25})"),
       record("google", "gemini-2.5-pro",
              R"({"promptTokens":2025,"completionTokens":1000,"cacheReadTokens":1500,
                  "reasoningTokens":700})"),
       10'843'750},
      // input 20 × 3 + read 400 × 0.30 + write 100 × 3.75 + output 30 × 15 = 1005 per 1M
      {"bedrock", record("bedrock", "anthropic.claude-sonnet-4", R"({"inputTokens":20,
          "outputTokens":30,"cacheReadInputTokens":400,"cacheWriteInputTokens":100})"),
       record("bedrock", "anthropic.claude-sonnet-4", R"({"promptTokens":520,"completionTokens":30,
          "cacheReadTokens":400,"cacheWriteTokens":100})"),
       1'005'000},
  };
  for (const Case& c : cases) {
    CAPTURE(c.format);
    const Stored native = post_one(c.native);
    const Stored ours = post_one(c.ours);
    CHECK(native.cost_nanos == c.cost_nanos);
    CHECK(ours.cost_nanos == c.cost_nanos);
    CHECK(native.metrics == ours.metrics);
    CHECK(native.metrics.find("ai_usage_cost_total{") != std::string::npos);
  }
}
