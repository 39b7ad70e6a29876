// Provider usage objects in POST /api/v1/usage: each format's mapping to our token classes, the
// inference of a format, and the errors naming the provider's fields.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "aiusage/ingest.hpp"
#include "support/printers.hpp"

using namespace aiusage;

namespace {

constexpr std::int64_t kNow = 1'717'200'000'000;  // 2024-06-01T00:00:00Z

std::string record(const std::string& provider, const std::string& usage,
                   const std::string& extra = "") {
  return R"({"userId":"u","provider":")" + provider + R"(","model":"m","usage":)" + usage + extra +
         "}";
}

// The body read by simdjson and by RapidJSON alone, which must agree.
Result<std::vector<UsageRecord>, IngestError> parse_both(const std::string& body) {
  IngestPolicy fast{kNow, TimeWindow{std::nullopt, std::nullopt}, std::nullopt};
  IngestPolicy rapid = fast;
  rapid.fast_parse_max_bytes = 0;
  auto a = parse_usage_body(body, BodyFormat::json, fast);
  auto b = parse_usage_body(body, BodyFormat::json, rapid);
  REQUIRE(a.ok() == b.ok());
  if (a.ok())
    CHECK(*a == *b);
  else
    CHECK(a.error().details == b.error().details);
  return a;
}

struct Classes {
  std::int64_t prompt, completion, cache_read, cache_write;
  TokenDetails details{};  // cache_write_1h, audio_input, image_input, reasoning, audio/image out
};

}  // namespace

TEST_CASE("usage formats - each maps to our classes") {
  struct Case {
    const char* name;
    std::string body;
    Classes expected;
  };
  const Case cases[] = {
      {"openai: prompt_tokens includes the cached tokens",
       record("openai",
              R"({"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,
                 "prompt_tokens_details":{"cached_tokens":600,"audio_tokens":0},
                 "completion_tokens_details":{"reasoning_tokens":50,"audio_tokens":0}})"),
       {1000, 200, 600, 0, {0, 0, 0, 50, 0, 0}}},
      {"openai: audio input and output are their own classes",
       record("openai",
              R"({"prompt_tokens":1000,"completion_tokens":200,
                 "prompt_tokens_details":{"cached_tokens":100,"audio_tokens":700},
                 "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":150}})"),
       {1000, 200, 100, 0, {0, 700, 0, 0, 150, 0}}},
      {"openai-responses: input_tokens includes the cached tokens",
       record("openai",
              R"({"input_tokens":900,"output_tokens":300,"total_tokens":1200,
                 "input_tokens_details":{"cached_tokens":100},
                 "output_tokens_details":{"reasoning_tokens":120}})"),
       {900, 300, 100, 0, {0, 0, 0, 120, 0, 0}}},
      {"anthropic: input_tokens excludes cache reads and writes",
       record("anthropic", R"({"input_tokens":50,"cache_read_input_tokens":4000,
                 "cache_creation_input_tokens":1000,"output_tokens":700})"),
       {5050, 700, 4000, 1000}},
      {"anthropic: the 5-minute and 1-hour split adds up to the writes",
       record("anthropic", R"({"input_tokens":10,"cache_creation_input_tokens":300,
                 "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},
                 "output_tokens":5,"server_tool_use":{"web_search_requests":2},
                 "service_tier":"standard"})"),
       {310, 5, 0, 100, {200, 0, 0, 0, 0, 0}}},
      {"anthropic: the split alone gives the writes",
       record("anthropic", R"({"input_tokens":10,"output_tokens":5,
                 "cache_creation":{"ephemeral_1h_input_tokens":40}})"),
       {50, 5, 0, 0, {40, 0, 0, 0, 0, 0}}},
      {"gemini: promptTokenCount includes the cached content; thoughts are output",
       record("google", R"({"promptTokenCount":2000,"cachedContentTokenCount":1500,
                 "candidatesTokenCount":300,"thoughtsTokenCount":700,
                 "toolUsePromptTokenCount":25,"totalTokenCount":3025})"),
       {2025, 1000, 1500, 0, {0, 0, 0, 700, 0, 0}}},
      {"gemini: zero counts may be left out",
       record("gemini", R"({"promptTokenCount":7})"),
       {7, 0, 0, 0}},
      {"bedrock: inputTokens excludes cache reads and writes",
       record("bedrock", R"({"inputTokens":20,"outputTokens":30,"cacheReadInputTokens":400,
                 "cacheWriteInputTokens":100,"totalTokens":550})"),
       {520, 30, 400, 100}},
      {"an explicit usageFormat wins over the provider",
       record("acme", R"({"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":1})",
              R"(,"usageFormat":"anthropic")"),
       {6, 6, 1, 0}},
      {"an explicit usageFormat: openai for another provider",
       record("azure", R"({"prompt_tokens":8,"completion_tokens":2})",
              R"(,"usageFormat":"openai")"),
       {8, 2, 0, 0}},
      {"our own keys stay ours, whatever the provider",
       record("anthropic", R"({"promptTokens":100,"completionTokens":10,"cacheReadTokens":40})"),
       {100, 10, 40, 0}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto r = parse_both(c.body);
    if (!r.ok()) CHECK(r.error().details == std::vector<FieldError>{});
    REQUIRE(r.ok());
    const UsageRecord& u = r->front();
    CHECK(u.prompt_tokens == c.expected.prompt);
    CHECK(u.completion_tokens == c.expected.completion);
    CHECK(u.cache_read_tokens == c.expected.cache_read);
    CHECK(u.cache_write_tokens == c.expected.cache_write);
    CHECK(u.details == c.expected.details);
  }
}

TEST_CASE("usage formats - the same call in any format is the same record") {
  // An Anthropic call of 50 + 4000 read + 1000 written input tokens and 700 output, in ours and in
  // Anthropic's own object: the same content, so the same fingerprint (a re-send is a duplicate).
  auto ours = parse_both(record("anthropic", R"({"promptTokens":5050,"completionTokens":700,
                 "cacheReadTokens":4000,"cacheWriteTokens":1000})"));
  auto native = parse_both(record("anthropic", R"({"input_tokens":50,"cache_read_input_tokens":4000,
                 "cache_creation_input_tokens":1000,"output_tokens":700})"));
  REQUIRE(ours.ok());
  REQUIRE(native.ok());
  CHECK(ours->front().fingerprint == native->front().fingerprint);
}

TEST_CASE("usage formats - errors name the provider's field") {
  struct Case {
    const char* name;
    std::string body;
    std::vector<FieldError> expected;
  };
  const std::string reserved_sum = "must be at most " + std::to_string(kMaxTokens);
  const Case cases[] = {
      {"unknown usageFormat",
       record("openai", R"({"prompt_tokens":1,"completion_tokens":1})",
              R"(,"usageFormat":"cohere")"),
       {{0, "usageFormat",
         R"(must be "openai", "openai-responses", "anthropic", "gemini" or "bedrock")"}}},
      {"a provider object of a provider with no inferred format",
       record("acme", R"({"prompt_tokens":1,"completion_tokens":1})"),
       {{0, "usageFormat",
         R"(is required for a provider usage object of provider "acme": give "openai", "openai-responses", "anthropic", "gemini" or "bedrock")"}}},
      {"openai: a required count missing",
       record("openai", R"({"prompt_tokens":1})"),
       {{0, "usage.completion_tokens", "is required"}}},
      {"openai: cached above the prompt",
       record("openai", R"({"prompt_tokens":10,"completion_tokens":1,
                 "prompt_tokens_details":{"cached_tokens":11}})"),
       {{0, "usage.prompt_tokens_details.cached_tokens", "must not exceed prompt_tokens"}}},
      {"openai: reasoning above the completion",
       record("openai", R"({"prompt_tokens":10,"completion_tokens":1,
                 "completion_tokens_details":{"reasoning_tokens":2}})"),
       {{0, "usage.completion_tokens_details.reasoning_tokens",
         "must not exceed completion_tokens"}}},
      {"openai: cached and audio input together above the prompt",
       record("openai", R"({"prompt_tokens":10,"completion_tokens":4,
                 "prompt_tokens_details":{"cached_tokens":6,"audio_tokens":5},
                 "completion_tokens_details":{"reasoning_tokens":3,"audio_tokens":2}})"),
       {{0, "usage.prompt_tokens_details",
         "cached_tokens + audio_tokens must not exceed prompt_tokens"},
        {0, "usage.completion_tokens_details",
         "reasoning_tokens + audio_tokens must not exceed completion_tokens"}}},
      {"openai: a wrong total",
       record("openai", R"({"prompt_tokens":10,"completion_tokens":1,
                 "total_tokens":12})"),
       {{0, "usage.total_tokens", "must equal prompt_tokens + completion_tokens (11)"}}},
      {"openai: details that are not an object",
       record("openai", R"({"prompt_tokens":10,"completion_tokens":1,
                 "prompt_tokens_details":5})"),
       {{0, "usage.prompt_tokens_details", "must be an object"}}},
      {"openai-responses: a negative count",
       record("openai", R"({"input_tokens":-1,"output_tokens":1})"),
       {{0, "usage.input_tokens", "must be a non-negative integer"}}},
      {"anthropic: a split that does not add up",
       record("anthropic", R"({"input_tokens":1,"output_tokens":1,
                 "cache_creation_input_tokens":10,
                 "cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":3}})"),
       {{0, "usage.cache_creation",
         "ephemeral_5m_input_tokens + ephemeral_1h_input_tokens must equal "
         "cache_creation_input_tokens (10)"}}},
      {"anthropic: input and cache over the bound",
       record("anthropic", R"({"input_tokens":100000000,"output_tokens":1,
                 "cache_read_input_tokens":1})"),
       {{0, "usage.input_tokens",
         "input_tokens + cache_read_input_tokens + cache_creation_input_tokens " + reserved_sum}}},
      {"anthropic: a service tier that is not a string",
       record("anthropic", R"({"input_tokens":1,"output_tokens":1,"service_tier":3})"),
       {{0, "usage.service_tier", "must be a string"}}},
      {"gemini: cached above the prompt",
       record("google", R"({"promptTokenCount":5,"cachedContentTokenCount":6})"),
       {{0, "usage.cachedContentTokenCount", "must not exceed promptTokenCount"}}},
      {"gemini: the prompt count is required",
       record("gemini", R"({"candidatesTokenCount":5})"),
       {{0, "usage.promptTokenCount", "is required"}}},
      {"bedrock: output over the bound",
       record("bedrock", R"({"inputTokens":1,"outputTokens":100000001})"),
       {{0, "usage.outputTokens", "must be at most 100000000"}}},
      {"an explicit format with our keys: that format's fields are required",
       record("anthropic", R"({"promptTokens":1,"completionTokens":1})",
              R"(,"usageFormat":"gemini")"),
       {{0, "usage.promptTokenCount", "is required"}}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto r = parse_both(c.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().details == c.expected);
  }
}

TEST_CASE("usage formats - anthropic's server tool use and service tier") {
  auto r = parse_both(record("anthropic", R"({"input_tokens":10,"output_tokens":5,
                 "server_tool_use":{"web_search_requests":2},"service_tier":"priority"})"));
  REQUIRE(r.ok());
  CHECK(r->front().tool_calls == ToolCalls{{"web_search", 2, false}});
  CHECK(r->front().service_tier == ServiceTier::priority);

  SECTION("the record's own serviceTier and toolCalls win") {
    auto own = parse_both(record("anthropic", R"({"input_tokens":10,"output_tokens":5,
                 "server_tool_use":{"web_search_requests":2},"service_tier":"priority"})",
                                 R"(,"serviceTier":"batch","toolCalls":{"web_fetch":1})"));
    REQUIRE(own.ok());
    CHECK(own->front().tool_calls == ToolCalls{{"web_fetch", 1, false}});
    CHECK(own->front().service_tier == ServiceTier::batch);
  }
  SECTION("an unknown tier is refused") {
    auto bad = parse_both(
        record("anthropic", R"({"input_tokens":1,"output_tokens":1,"service_tier":"turbo"})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().details ==
          std::vector<FieldError>{
              {0, "usage.service_tier", R"(must be "standard", "batch", "flex" or "priority")"}});
  }
}
