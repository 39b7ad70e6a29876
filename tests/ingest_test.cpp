// POST /api/v1/usage bodies: parsing, validation with every problem reported, fingerprints, ids.
#include <catch2/catch.hpp>

#include <cstdint>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aiusage/digest.hpp"
#include "aiusage/ingest.hpp"
#include "support/printers.hpp"

using namespace aiusage;

namespace {

constexpr std::int64_t kNow = 1'717'200'000'000;    // 2024-06-01T00:00:00Z
constexpr std::int64_t kJan15 = 1'705'312'800'000;  // 2024-01-15T10:00:00Z

// A valid record; `fields` are appended, `usage` replaces the usage object.
std::string record(const std::string& fields = "",
                   const std::string& usage = R"({"promptTokens":1000,"completionTokens":500})") {
  std::string out =
      R"({"userId":"u1","provider":"anthropic","model":"claude-3-5-sonnet","usage":)" + usage;
  if (!fields.empty()) out += "," + fields;
  return out + "}";
}

std::string describe(const std::vector<FieldError>& errors) {
  std::ostringstream os;
  for (const auto& e : errors) os << "\n  [" << e.index << "] " << e.field << ": " << e.message;
  return os.str();
}

}  // namespace

TEST_CASE("ingest - valid records") {
  SECTION("every field") {
    const std::string body = R"({"id":"req-42","userId":"user-123","projectId":"project-456",
      "provider":"anthropic","model":"claude-3-5-sonnet-20241022",
      "usage":{"promptTokens":1000,"completionTokens":500,"totalTokens":1500,
               "cacheReadTokens":200,"cacheWriteTokens":100},
      "cached":false,"timestamp":"2024-01-15T10:00:00Z"})";
    auto r = parse_usage_body(body, BodyFormat::json, kNow);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    const UsageRecord& u = r->front();
    CHECK(u.id == "req-42");
    CHECK(u.user == "user-123");
    CHECK(u.project == "project-456");
    CHECK(u.provider == "anthropic");
    CHECK(u.model == "claude-3-5-sonnet-20241022");
    CHECK(u.prompt_tokens == 1000);
    CHECK(u.completion_tokens == 500);
    CHECK(u.cache_read_tokens == 200);
    CHECK(u.cache_write_tokens == 100);
    CHECK_FALSE(u.cached);
    CHECK(u.timestamp_ms == kJan15);
    CHECK(u.received_ms == kNow);
    CHECK(u.cost == 0);  // parsing does not price
    CHECK_FALSE(u.priced);
    CHECK(u.fingerprint.size() == 32);
  }

  SECTION("detail token classes") {
    auto r = parse_usage_body(
        record("", R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":100,
          "cacheWriteTokens":50,"cacheWrite1hTokens":40,"audioInputTokens":30,
          "imageInputTokens":20,"reasoningTokens":300,"audioOutputTokens":100,
          "imageOutputTokens":100})"),
        BodyFormat::json, kNow);
    REQUIRE(r.ok());
    const UsageRecord& u = r->front();
    CHECK(u.details == TokenDetails{40, 30, 20, 300, 100, 100});
    const TokenCounts t = u.billed();
    CHECK(t.input == 760);  // 1000 - 100 - 50 - 40 - 30 - 20
    CHECK(t.output == 0);   // 500 - 300 - 100 - 100: the sums may use the whole count
  }

  SECTION("serviceTier and toolCalls (kept in name order, calls of 0 left out)") {
    auto r = parse_usage_body(
        record(R"("serviceTier":"priority","toolCalls":{"web_search":3,"code":0,"a.b-c":1})"),
        BodyFormat::json, kNow);
    REQUIRE(r.ok());
    const UsageRecord& u = r->front();
    CHECK(u.service_tier == ServiceTier::priority);
    CHECK(u.tool_calls == ToolCalls{{"a.b-c", 1, false}, {"web_search", 3, false}});
  }

  SECTION("defaults of optional fields") {
    auto r = parse_usage_body(record(), BodyFormat::json, kNow);
    REQUIRE(r.ok());
    const UsageRecord& u = r->front();
    CHECK(u.id.empty());       // the service generates one
    CHECK(u.project.empty());  // no project
    CHECK(u.cache_read_tokens == 0);
    CHECK(u.cache_write_tokens == 0);
    CHECK_FALSE(u.cached);
    CHECK(u.timestamp_ms == kNow);  // time received
    CHECK(u.received_ms == kNow);
  }

  SECTION("edge values that are accepted") {
    struct Case {
      std::string body;
      const char* why;
    };
    const Case cases[] = {
        {record(R"("id":null,"projectId":null,"cached":null,"timestamp":null)"), "null = absent"},
        {record(R"("id":")" + std::string(128, 'i') + "\""), "id of 128 characters"},
        {R"({"userId":")" + std::string(256, 'u') +
             R"(","provider":"p","model":"m","usage":{"promptTokens":0,"completionTokens":0}})",
         "userId of 256 characters, zero tokens"},
        // 256 × "é" is 512 bytes: the limit counts characters, not bytes.
        {R"({"userId":")" +
             [] {
               std::string s;
               for (int i = 0; i < 256; ++i) s += "\xC3\xA9";
               return s;
             }() +
             R"(","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
         "256 two-byte characters"},
        {record("", R"({"promptTokens":100000000,"completionTokens":100000000})"),
         "kMaxTokens in each field"},
        {record("", R"({"promptTokens":100000000,"completionTokens":0,"totalTokens":100000000})"),
         "kMaxTokens as the total"},
        {record("",
                R"({"promptTokens":100000000,"completionTokens":0,"cacheReadTokens":100000000})"),
         "kMaxTokens read from the cache"},
        {record("", R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":1000})"),
         "the whole prompt read from the cache"},
        {record(
             "",
             R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":600,"cacheWriteTokens":400})"),
         "cache read + write = prompt"},
        {record(R"("timestamp":0)"), "epoch 0"},
        {record(R"("cached":true)"), "cached"},
        {record(R"("extra":"ignored","metadata":{"a":[1,2]})"), "unknown members are ignored"},
    };
    for (const auto& c : cases) {
      INFO(c.why << "\n" << c.body);
      auto r = parse_usage_body(c.body, BodyFormat::json, kNow);
      if (!r.ok()) UNSCOPED_INFO(r.error().message << describe(r.error().details));
      REQUIRE(r.ok());
      CHECK(r->size() == 1);
    }
  }

  SECTION("time stamps") {
    struct Case {
      std::string timestamp;  // raw JSON
      std::int64_t expected;
    };
    const Case cases[] = {
        {R"("2024-01-15T10:00:00Z")", kJan15},
        {R"("2024-01-15T18:00:00.250+08:00")", kJan15 + 250},
        {R"("2016-12-31T23:59:60Z")", 1'483'228'800'000 - 1},  // leap second: :59.999
        {R"("2017-01-01T00:59:60.5+01:00")", 1'483'228'800'000 - 1},
        {"1705312800000", kJan15},  // epoch milliseconds
        {"0", 0},
        {"null", kNow},
    };
    for (const auto& c : cases) {
      CAPTURE(c.timestamp);
      auto r = parse_usage_body(record(R"("timestamp":)" + c.timestamp), BodyFormat::json, kNow);
      REQUIRE(r.ok());
      CHECK(r->front().timestamp_ms == c.expected);
    }
  }
}

TEST_CASE("ingest - invalid records") {
  // One record per body; every expected detail has index 0.
  struct Case {
    std::string body;
    std::vector<FieldError> expected;
  };
  const std::string long_user(257, 'u');
  const std::string long_id(129, 'i');
  const Case cases[] = {
      // identity strings
      {R"({"provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "is required"}}},
      {R"({"userId":"","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "must not be empty"}}},
      {R"({"userId":42,"provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "must be a string"}}},
      {R"({"userId":null,"provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "must be a string"}}},  // required: null is not a value
      {R"({"userId":")" + long_user +
           R"(","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "must be at most 256 characters"}}},
      {record(R"("id":")" + long_id + "\""), {{0, "id", "must be at most 128 characters"}}},
      {record(R"("id":"")"), {{0, "id", "must not be empty"}}},
      {record(R"("id":7)"), {{0, "id", "must be a string"}}},
      {record(R"("projectId":"")"), {{0, "projectId", "must not be empty"}}},
      // the label value that stands for folded values is not a value anyone may send
      {R"({"userId":"__other__","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId",
         R"("__other__" is reserved: it names the sum of the values not shown apart)"}}},
      {record(R"("projectId":"__other__")"),
       {{0, "projectId",
         R"("__other__" is reserved: it names the sum of the values not shown apart)"}}},
      {R"({"userId":"u","provider":"__other__","model":"__other__","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "provider",
         R"("__other__" is reserved: it names the sum of the values not shown apart)"},
        {0, "model",
         R"("__other__" is reserved: it names the sum of the values not shown apart)"}}},
      {record(R"("projectId":{"name":"p"})"), {{0, "projectId", "must be a string"}}},
      {R"({"userId":"u","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "provider", "is required"}}},
      {R"({"userId":"u","provider":"p","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "model", "is required"}}},
      {R"({"userId":"u","provider":"p","model":[],"usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "model", "must be a string"}}},
      // a lone surrogate escape, which RapidJSON decodes to ED B0 80 (not UTF-8), in any string
      {R"({"userId":"x\udc00","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "userId", "must be valid UTF-8 (\\udc00 is a lone surrogate)"}}},
      {record(R"("projectId":"\udfff")"),
       {{0, "projectId", "must be valid UTF-8 (\\udfff is a lone surrogate)"}}},
      {R"({"userId":"u","provider":"\udc80p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "provider", "must be valid UTF-8 (\\udc80 is a lone surrogate)"}}},
      {R"({"userId":"u","provider":"p","model":"m-\udcff","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "model", "must be valid UTF-8 (\\udcff is a lone surrogate)"}}},
      {record(R"("id":"req-\ud83d\ude00\udc00")"),  // a valid pair, then a lone low half
       {{0, "id", "must be valid UTF-8 (\\udc00 is a lone surrogate)"}}},
      {record(R"("timestamp":"2024-01-15T10:00:00Z\udc00")"),
       {{0, "timestamp", "must be valid UTF-8 (\\udc00 is a lone surrogate)"}}},
      {R"({"id":"\udc00","userId":"\udc00","projectId":"\udc00","provider":"\udc00","model":"\udc00","usage":{"promptTokens":1,"completionTokens":1}})",
       {{0, "id", "must be valid UTF-8 (\\udc00 is a lone surrogate)"},
        {0, "userId", "must be valid UTF-8 (\\udc00 is a lone surrogate)"},
        {0, "projectId", "must be valid UTF-8 (\\udc00 is a lone surrogate)"},
        {0, "provider", "must be valid UTF-8 (\\udc00 is a lone surrogate)"},
        {0, "model", "must be valid UTF-8 (\\udc00 is a lone surrogate)"}}},

      // usage
      {R"({"userId":"u","provider":"p","model":"m"})", {{0, "usage", "is required"}}},
      {record("", R"("1000")"), {{0, "usage", "must be an object"}}},
      {record("", "null"), {{0, "usage", "must be an object"}}},
      {record("", "[1000,500]"), {{0, "usage", "must be an object"}}},
      {record("", R"({"completionTokens":500})"), {{0, "usage.promptTokens", "is required"}}},
      {record("", R"({"promptTokens":1000})"), {{0, "usage.completionTokens", "is required"}}},
      {record("", "{}"),
       {{0, "usage.promptTokens", "is required"}, {0, "usage.completionTokens", "is required"}}},
      {record("", R"({"promptTokens":-1,"completionTokens":500})"),
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1.5,"completionTokens":500})"),
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000.0,"completionTokens":500})"),  // a JSON fraction, even .0
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1e3,"completionTokens":500})"),
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":"1000","completionTokens":500})"),
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":true})"),
       {{0, "usage.completionTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":null})"),
       {{0, "usage.completionTokens", "must be a non-negative integer"}}},
      // kMaxTokens + 1 (10× the largest context window), in every token field
      {record("", R"({"promptTokens":100000001,"completionTokens":500})"),
       {{0, "usage.promptTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":100000001})"),
       {{0, "usage.completionTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":0,"totalTokens":200000001})"),
       {{0, "usage.totalTokens", "must be at most 200000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":0,"cacheReadTokens":100000001})"),
       {{0, "usage.cacheReadTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":0,"cacheWriteTokens":100000001})"),
       {{0, "usage.cacheWriteTokens", "must be at most 100000000"}}},
      // the issue's 1e10 tokens, accepted before
      {record("", R"({"promptTokens":10000000000,"completionTokens":10000000000})"),
       {{0, "usage.promptTokens", "must be at most 100000000"},
        {0, "usage.completionTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":9223372036854775807})"),  // INT64_MAX
       {{0, "usage.completionTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":18446744073709551615,"completionTokens":500})"),  // UINT64_MAX
       {{0, "usage.promptTokens", "must be at most 100000000"}}},
      {record(
           "",
           R"({"promptTokens":-9223372036854775809,"completionTokens":500})"),  // below INT64_MIN
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1e30,"completionTokens":500})"),
       {{0, "usage.promptTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"totalTokens":1499})"),
       {{0, "usage.totalTokens", "must equal promptTokens + completionTokens (1500)"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"totalTokens":-1})"),
       {{0, "usage.totalTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":1001})"),
       {{0, "usage", "cacheReadTokens + cacheWriteTokens must not exceed promptTokens"}}},
      // 800 + 300 = 1100 > 1000
      {record(
           "",
           R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":800,"cacheWriteTokens":300})"),
       {{0, "usage", "cacheReadTokens + cacheWriteTokens must not exceed promptTokens"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"cacheWriteTokens":-5})"),
       {{0, "usage.cacheWriteTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":0.5})"),
       {{0, "usage.cacheReadTokens", "must be a non-negative integer"}}},

      // detail classes: parts of the prompt (with the cache classes) or of the completion
      {record("", R"({"promptTokens":1000,"completionTokens":500,"cacheWrite1hTokens":-1})"),
       {{0, "usage.cacheWrite1hTokens", "must be a non-negative integer"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"reasoningTokens":100000001})"),
       {{0, "usage.reasoningTokens", "must be at most 100000000"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":500,"imageOutputTokens":"1"})"),
       {{0, "usage.imageOutputTokens", "must be a non-negative integer"}}},
      // 400 + 300 + 200 + 100 + 1 = 1001 > 1000
      {record(
           "",
           R"({"promptTokens":1000,"completionTokens":0,"cacheReadTokens":400,"cacheWriteTokens":300,"cacheWrite1hTokens":200,"audioInputTokens":100,"imageInputTokens":1})"),
       {{0, "usage",
         "cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens + audioInputTokens + "
         "imageInputTokens must not exceed promptTokens"}}},
      {record("", R"({"promptTokens":1000,"completionTokens":0,"audioInputTokens":1001})"),
       {{0, "usage",
         "cacheReadTokens + cacheWriteTokens + audioInputTokens must not exceed "
         "promptTokens"}}},
      // 300 + 150 + 51 = 501 > 500
      {record(
           "",
           R"({"promptTokens":0,"completionTokens":500,"reasoningTokens":300,"audioOutputTokens":150,"imageOutputTokens":51})"),
       {{0, "usage",
         "reasoningTokens + audioOutputTokens + imageOutputTokens must not exceed "
         "completionTokens"}}},
      {record("", R"({"promptTokens":0,"completionTokens":500,"reasoningTokens":501})"),
       {{0, "usage", "reasoningTokens must not exceed completionTokens"}}},

      // serviceTier and toolCalls
      {record(R"("serviceTier":"turbo")"),
       {{0, "serviceTier", R"(must be "standard", "batch", "flex" or "priority")"}}},
      {record(R"("serviceTier":1)"),
       {{0, "serviceTier", R"(must be "standard", "batch", "flex" or "priority")"}}},
      {record(R"("toolCalls":[1])"),
       {{0, "toolCalls", "must be an object of tool names and counts"}}},
      {record(R"("toolCalls":{"web_search":-1})"),
       {{0, "toolCalls.web_search", "must be a non-negative integer"}}},
      {record(R"("toolCalls":{"web_search":1.5})"),
       {{0, "toolCalls.web_search", "must be a non-negative integer"}}},
      {record(R"("toolCalls":{"web_search":1000001})"),
       {{0, "toolCalls.web_search", "must be at most 1000000"}}},
      {record(R"("toolCalls":{"web_search":1,"web_search":2})"),
       {{0, "toolCalls.web_search", "is given twice"}}},
      {record(R"("toolCalls":{"web search":1})"),
       {{0, "toolCalls", R"("web search" is not a tool name (1 to 64 of A-Z a-z 0-9 _ . -))"}}},
      {record(R"("toolCalls":{"":1})"),
       {{0, "toolCalls", R"("" is not a tool name (1 to 64 of A-Z a-z 0-9 _ . -))"}}},
      {record(
           R"("toolCalls":{"t0":1,"t1":1,"t2":1,"t3":1,"t4":1,"t5":1,"t6":1,"t7":1,"t8":1,"t9":1,"ta":1,"tb":1,"tc":1,"td":1,"te":1,"tf":1,"tg":1})"),
       {{0, "toolCalls", "must name at most 16 tools"}}},

      // cached
      {record(R"("cached":"yes")"), {{0, "cached", "must be a boolean"}}},
      {record(R"("cached":1)"), {{0, "cached", "must be a boolean"}}},

      // timestamp
      {record(R"("timestamp":"2024-01-15T10:00:00")"),
       {{0, "timestamp",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got "
         "\"2024-01-15T10:00:00\""}}},
      {record(R"("timestamp":"2024-02-30T00:00:00Z")"),
       {{0, "timestamp",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got "
         "\"2024-02-30T00:00:00Z\""}}},
      {record(R"("timestamp":"")"),
       {{0, "timestamp",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"\""}}},
      {record(R"("timestamp":-1)"),
       {{0, "timestamp", "must be an RFC 3339 string or epoch milliseconds"}}},
      {record(R"("timestamp":1705312800000.5)"),
       {{0, "timestamp", "must be an RFC 3339 string or epoch milliseconds"}}},
      {record(R"("timestamp":18446744073709551615)"),
       {{0, "timestamp", "must be an RFC 3339 string or epoch milliseconds"}}},
      {record(R"("timestamp":true)"),
       {{0, "timestamp", "must be an RFC 3339 string or epoch milliseconds"}}},

      // not an object
      {"42", {{0, "", "must be a JSON object"}}},
      {R"("record")", {{0, "", "must be a JSON object"}}},
      {"null", {{0, "", "must be a JSON object"}}},
      {"true", {{0, "", "must be a JSON object"}}},
      {"[[]]", {{0, "", "must be a JSON object"}}},  // an array inside the batch array

      // several problems in one record, in field order
      {R"({"userId":"","model":"m","usage":{"promptTokens":-1,"completionTokens":500,"totalTokens":3},"cached":"no","timestamp":"x"})",
       {{0, "userId", "must not be empty"},
        {0, "provider", "is required"},
        {0, "usage.promptTokens", "must be a non-negative integer"},
        {0, "cached", "must be a boolean"},
        {0, "timestamp",
         "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"x\""}}},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_usage_body(c.body, BodyFormat::json, kNow);
    REQUIRE_FALSE(r.ok());
    const IngestError& e = r.error();
    INFO("got: " << e.message << describe(e.details));
    CHECK(e.kind == IngestErrorKind::invalid);
    CHECK(e.message == "1 of 1 records are invalid; nothing was stored");
    CHECK(e.details == c.expected);
    CHECK_FALSE(e.offset.has_value());
    CHECK(e.records == 1);
  }
}

TEST_CASE("ingest - a correct totalTokens above kMaxTokens") {
  // promptTokens and completionTokens may each be kMaxTokens (1e8), so their sum, which
  // totalTokens must equal, may be up to 2e8: a correct total is accepted at that size too.
  const std::string without =
      record("", R"({"promptTokens":100000000,"completionTokens":100000000})");
  REQUIRE(parse_usage_body(without, BodyFormat::json, kNow).ok());
  const std::string with_total = record(
      "", R"({"promptTokens":100000000,"completionTokens":100000000,"totalTokens":200000000})");
  auto r = parse_usage_body(with_total, BodyFormat::json, kNow);
  if (!r.ok()) UNSCOPED_INFO(r.error().message << describe(r.error().details));
  CHECK(r.ok());
}

TEST_CASE("ingest - epoch-millisecond time stamps beyond year 9999") {
  // RFC 3339 text stops at 9999-12-31T23:59:59.999Z (253402300799999 ms); epoch milliseconds
  // beyond it would land in months the calendar cannot represent, so they are refused too.
  const std::int64_t last_rfc3339 = 253'402'300'799'999;
  auto ok = parse_usage_body(record(R"("timestamp":253402300799999)"), BodyFormat::json, kNow);
  REQUIRE(ok.ok());
  CHECK(ok->front().timestamp_ms == last_rfc3339);

  for (const char* ts : {"253402300800000", "1000000000000000", "9223372036854775807"}) {
    CAPTURE(ts);
    auto r = parse_usage_body(record(std::string(R"("timestamp":)") + ts), BodyFormat::json, kNow);
    CHECK_FALSE(r.ok());
    if (!r.ok()) {
      REQUIRE(r.error().details.size() == 1);
      CHECK(r.error().details[0].field == "timestamp");
    }
  }
}

TEST_CASE("ingest - batches") {
  const std::string good = record();
  const std::string bad_a =
      R"({"userId":"u","provider":"p","model":"m","usage":{"promptTokens":-1,"completionTokens":1},"cached":1})";
  const std::string bad_b =
      record("", R"({"promptTokens":10,"completionTokens":5,"totalTokens":16})");
  const std::vector<FieldError> expected = {
      {1, "usage.promptTokens", "must be a non-negative integer"},
      {1, "cached", "must be a boolean"},
      {3, "usage.totalTokens", "must equal promptTokens + completionTokens (15)"},
      {4, "", "must be a JSON object"},
  };

  SECTION("every invalid record of an array is reported") {
    const std::string body = "[" + good + "," + bad_a + "," + good + "," + bad_b + ",42]";
    auto r = parse_usage_body(body, BodyFormat::json, kNow);
    REQUIRE_FALSE(r.ok());
    INFO(describe(r.error().details));
    CHECK(r.error().message == "3 of 5 records are invalid; nothing was stored");
    CHECK(r.error().details == expected);
    CHECK(r.error().records == 5);  // the whole batch is refused
  }

  SECTION("NDJSON: the same, one record per line; blank lines are not records") {
    const std::string body = good + "\n" + bad_a + "\r\n\n" + good + "\n   \n" + bad_b + "\n42\n";
    auto r = parse_usage_body(body, BodyFormat::ndjson, kNow);
    REQUIRE_FALSE(r.ok());
    INFO(describe(r.error().details));
    CHECK(r.error().message == "3 of 5 records are invalid; nothing was stored");
    CHECK(r.error().details == expected);
    CHECK(r.error().records == 5);
  }

  SECTION("valid forms") {
    struct Case {
      std::string body;
      BodyFormat format;
      std::size_t count;
      const char* why;
    };
    const Case cases[] = {
        {good, BodyFormat::json, 1, "one object"},
        {"  \n" + good + "\n  ", BodyFormat::json, 1, "surrounding white space"},
        {"[" + good + "]", BodyFormat::json, 1, "array of one"},
        {"[" + good + "," + good + "," + good + "]", BodyFormat::json, 3, "array of three"},
        {good, BodyFormat::ndjson, 1, "one line, no final newline"},
        {good + "\n", BodyFormat::ndjson, 1, "one line"},
        {good + "\r\n" + good + "\r\n", BodyFormat::ndjson, 2, "CRLF line ends"},
        {"\n\n" + good + "\n\n\n" + good, BodyFormat::ndjson, 2, "blank lines"},
    };
    for (const auto& c : cases) {
      INFO(c.why);
      auto r = parse_usage_body(c.body, c.format, kNow);
      if (!r.ok()) UNSCOPED_INFO(r.error().message << describe(r.error().details));
      REQUIRE(r.ok());
      CHECK(r->size() == c.count);
      for (const auto& u : *r) CHECK(u.fingerprint == r->front().fingerprint);
    }
  }

  SECTION("records keep their order") {
    const std::string body = "[" + record(R"("id":"a")") + "," + record(R"("id":"b")") + "," +
                             record(R"("id":"c")") + "]";
    auto r = parse_usage_body(body, BodyFormat::json, kNow);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].id == "a");
    CHECK((*r)[1].id == "b");
    CHECK((*r)[2].id == "c");
  }
}

TEST_CASE("ingest - bodies that are not records") {
  struct Case {
    std::string body;
    BodyFormat format;
    std::string message;
    std::optional<std::size_t> offset;
  };
  const std::string good = record();
  const Case cases[] = {
      // {"userId": }  — '}' at byte 11 is not a value
      {R"({"userId": })", BodyFormat::json, "malformed JSON at byte 11: Invalid value.", 11},
      {"", BodyFormat::json, "malformed JSON at byte 0: The document is empty.", 0},
      {"   ", BodyFormat::json, "malformed JSON at byte 3: The document is empty.", 3},
      // [1,]  — ']' at byte 3
      {"[1,]", BodyFormat::json, "malformed JSON at byte 3: Invalid value.", 3},
      // {"a" 1}  — the colon is missing at byte 5
      {R"({"a" 1})", BodyFormat::json,
       "malformed JSON at byte 5: Missing a colon after a name of object member.", 5},
      // {} {}  — the second value starts at byte 3
      {"{} {}", BodyFormat::json,
       "malformed JSON at byte 3: The document root must not be followed by other values.", 3},
      // an object per line is NDJSON, not JSON: the second line starts at byte size + 1
      {good + "\n" + good, BodyFormat::json,
       "malformed JSON at byte " + std::to_string(good.size() + 1) +
           ": The document root must not be followed by other values.",
       good.size() + 1},
      {"{\"userId\":\"\xFF\"}", BodyFormat::json,
       "malformed JSON at byte 11: Invalid encoding in string.", 11},
      // the body ends at byte 1
      {"[", BodyFormat::json, "malformed JSON at byte 1: Invalid value.", 1},
      {R"({"userId":"u)", BodyFormat::json,
       "malformed JSON at byte 12: Missing a closing quotation mark in string.", 12},
      // NDJSON: the offset counts from the start of the body, not of the line.
      // line 2 is {"a" 1}; it starts at good.size() + 1, the error is 5 bytes into it.
      {good + "\n" + R"({"a" 1})" + "\n" + good, BodyFormat::ndjson,
       "malformed JSON at byte " + std::to_string(good.size() + 1 + 5) +
           ": Missing a colon after a name of object member.",
       good.size() + 1 + 5},
      {good + "\n\n" + "[1,]", BodyFormat::ndjson,
       "malformed JSON at byte " + std::to_string(good.size() + 2 + 3) + ": Invalid value.",
       good.size() + 2 + 3},
      // a NUL byte ends RapidJSON's input: whatever follows it would go unread
      {good + std::string("\0junk", 5), BodyFormat::json,
       "malformed JSON at byte " + std::to_string(good.size()) +
           ": The document root must not be followed by a NUL byte.",
       good.size()},
      {good + std::string(1, '\0'), BodyFormat::json,
       "malformed JSON at byte " + std::to_string(good.size()) +
           ": The document root must not be followed by a NUL byte.",
       good.size()},
      {"[" + good + "] \n" + std::string(1, '\0') + " [" + good + "]", BodyFormat::json,
       "malformed JSON at byte " + std::to_string(good.size() + 4) +
           ": The document root must not be followed by a NUL byte.",
       good.size() + 4},
      // NDJSON: on the second line, good.size() bytes into it
      {good + "\n" + good + std::string("\0", 1) + good + "\n" + good, BodyFormat::ndjson,
       "malformed JSON at byte " + std::to_string(2 * good.size() + 1) +
           ": The document root must not be followed by a NUL byte.",
       2 * good.size() + 1},
      {good + std::string(" \0", 2) + "\n", BodyFormat::ndjson,
       "malformed JSON at byte " + std::to_string(good.size() + 1) +
           ": The document root must not be followed by a NUL byte.",
       good.size() + 1},
      {"[]", BodyFormat::json, "the body contains no records", std::nullopt},
      {" [ ] ", BodyFormat::json, "the body contains no records", std::nullopt},
      {"", BodyFormat::ndjson, "the body contains no records", std::nullopt},
      {"\n \n\r\n\t\n", BodyFormat::ndjson, "the body contains no records", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_usage_body(c.body, c.format, kNow);
    REQUIRE_FALSE(r.ok());
    const IngestError& e = r.error();
    CHECK(e.kind == IngestErrorKind::invalid);
    CHECK(e.message == c.message);
    CHECK(e.offset == c.offset);
    CHECK(e.details.empty());
    CHECK(e.records == 1);
  }
}

TEST_CASE("ingest - simdjson and RapidJSON read every body alike") {
  // Each body is read with simdjson (then RapidJSON where simdjson refuses it) and with RapidJSON
  // alone: the records, or the error with its details and offset, must be the same.
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');
  struct Case {
    std::string body;
    BodyFormat format;
    bool ok;
  };
  const Case cases[] = {
      {record(), BodyFormat::json, true},
      {"[" + record(R"("id":"a")") + "," + record(R"("id":"b","cached":true)") + "]",
       BodyFormat::json, true},
      {record(R"("timestamp":"2024-01-15T10:00:00Z","projectId":"p")") + "\n" +
           record(R"("timestamp":1705312800000)"),
       BodyFormat::ndjson, true},
      // nesting deeper than simdjson's 1024 levels, in a field nobody reads: RapidJSON reads it
      {record(R"("extra":)" + deep), BodyFormat::json, true},
      {record(R"("id":"a\u0000b","userId":"\u00e9t\u00e9")"), BodyFormat::json, true},
      {"\xEF\xBB\xBF" + record(), BodyFormat::json, true},               // a byte-order mark
      {record(R"("userId":"x","userId":"y")"), BodyFormat::json, true},  // the first one counts
      {record("", R"({"promptTokens":-0,"completionTokens":0})"), BodyFormat::json, true},
      {record("", R"({"promptTokens":1.0,"completionTokens":500})"), BodyFormat::json, false},
      {record("", R"({"promptTokens":9223372036854775808,"completionTokens":1})"), BodyFormat::json,
       false},
      {record("", R"({"promptTokens":18446744073709551616,"completionTokens":1})"),
       BodyFormat::json, false},
      {record("", R"({"promptTokens":-9223372036854775809,"completionTokens":1})"),
       BodyFormat::json, false},
      {record("", R"({"promptTokens":1e400,"completionTokens":1})"), BodyFormat::json, false},
      {record(R"("timestamp":-1)"), BodyFormat::json, false},
      {record(R"("cached":"yes")"), BodyFormat::json, false},
      {record(R"("userId":"\udc00")"), BodyFormat::json, true},  // a second userId: never read
      {record(R"("userId":"\ud800")"), BodyFormat::json, false},
      {record(R"("userId":"\xED\xA0\x80")"), BodyFormat::json, false},
      {R"({"userId":"x\udc00","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})",
       BodyFormat::json, false},
      {record(R"("id":"\udc00")") + "\n" + record(R"("projectId":"\udfff")"), BodyFormat::ndjson,
       false},
      {record(R"("id":"\ud83d\ude00")"), BodyFormat::json, true},  // a valid pair: U+1F600
      {record() + std::string("\0x", 2), BodyFormat::json, false},
      {record() + "\n" + record() + std::string("\0", 1), BodyFormat::ndjson, false},
      {"[" + record() + ",5,[]," + record(R"("usage":7)") + "]", BodyFormat::json, false},
      {"[" + record() + "]\n" + record(), BodyFormat::ndjson, false},  // an array on a line
      {record() + "\n{\"a\" 1}", BodyFormat::ndjson, false},
      // RapidJSON keeps of a record only what is read: the first of each known name, and the
      // type of every other array or object
      {record(R"("extra":{"userId":"z","usage":{"promptTokens":1}},"list":[{"model":1}])",
              R"({"promptTokens":7,"promptTokens":8,"completionTokens":1,"x":{"y":[1]}})"),
       BodyFormat::json, true},
      {record(R"("usage":{"promptTokens":1,"completionTokens":1},"cached":[true])"),
       BodyFormat::json, false},
      {record("", R"({"promptTokens":{"a":1},"completionTokens":[1]})"), BodyFormat::json, false},
      {record(R"("userId":{"a":"b"},"model":["m"],"timestamp":{})"), BodyFormat::json, false},
      {"[[" + record() + R"(],{"usage":[{"promptTokens":1}]},"s",null])", BodyFormat::json, false},
      {"[1] x", BodyFormat::json, false},
      {deep, BodyFormat::json, false},
  };
  for (const auto& c : cases) {
    INFO(c.body.substr(0, 200));
    IngestPolicy fast{kNow, TimeWindow{std::nullopt, std::nullopt}, std::nullopt};
    IngestPolicy rapid = fast;
    rapid.fast_parse_max_bytes = 0;
    auto a = parse_usage_body(c.body, c.format, fast);
    auto b = parse_usage_body(c.body, c.format, rapid);
    REQUIRE(a.ok() == c.ok);
    REQUIRE(b.ok() == c.ok);
    if (c.ok) {
      CHECK(*a == *b);
    } else {
      CHECK(a.error().kind == b.error().kind);
      CHECK(a.error().message == b.error().message);
      CHECK(a.error().details == b.error().details);
      CHECK(a.error().offset == b.error().offset);
      CHECK(a.error().records == b.error().records);
    }
  }
  // The one difference: RapidJSON alone refuses a zero with a large exponent, which is valid JSON.
  const std::string zero = record(R"("extra":0e400)");
  IngestPolicy rapid{kNow, TimeWindow{std::nullopt, std::nullopt}, std::nullopt};
  rapid.fast_parse_max_bytes = 0;
  CHECK(parse_usage_body(zero, BodyFormat::json, kNow).ok());
  auto refused = parse_usage_body(zero, BodyFormat::json, rapid);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "malformed JSON at byte " + std::to_string(zero.find("0e400")) +
                                       ": Number too big to be stored in double.");
}

TEST_CASE("ingest - fingerprints") {
  auto fingerprint = [](const std::string& body, std::int64_t now = kNow) {
    auto r = parse_usage_body(body, BodyFormat::json, now);
    REQUIRE(r.ok());
    return r->front().fingerprint;
  };
  const std::string base = fingerprint(record(R"("timestamp":"2024-01-15T10:00:00Z")"));

  SECTION("stable digest: stored fingerprints must survive upgrades") {
    // SHA-256 of the length-prefixed fields, first 16 bytes in hex:
    //   "2:u1" "0:" "9:anthropic" "17:claude-3-5-sonnet" "4:1000" "3:500" "1:0" "1:0" "1:0"
    //   "13:1705312800000"  (computed with Python's hashlib)
    CHECK(base == "452cdbed1d5fd5eb80bb29d7bc0d7a28");
    // The same with the time stamp defaulted ("1:-").
    CHECK(fingerprint(record()) == "e90ae75fed704b4cf1a278ba03dd6843");
    CHECK(std::regex_match(base, std::regex("[0-9a-f]{32}")));
  }

  SECTION("the same content gives the same digest") {
    struct Case {
      std::string body;
      std::int64_t now;
      const char* why;
    };
    const Case cases[] = {
        {record(R"("timestamp":"2024-01-15T10:00:00Z")"), kNow + 12345, "received later"},
        {record(R"("id":"req-1","timestamp":"2024-01-15T10:00:00Z")"), kNow,
         "the id is not content"},
        {record(R"("id":"req-2","timestamp":"2024-01-15T10:00:00Z")"), kNow, "another id"},
        {record(R"("timestamp":1705312800000)"), kNow, "the same instant as epoch ms"},
        {record(R"("timestamp":"2024-01-15T18:00:00+08:00")"), kNow,
         "the same instant with an offset"},
        {record(R"("timestamp":"2024-01-15T10:00:00Z","cached":false)"), kNow, "explicit default"},
        {record(R"("timestamp":"2024-01-15T10:00:00Z","projectId":null)"), kNow, "null project"},
        {record(
             R"("timestamp":"2024-01-15T10:00:00Z")",
             R"({"promptTokens":1000,"completionTokens":500,"totalTokens":1500,"cacheReadTokens":0})"),
         kNow, "optional usage fields at their defaults"},
        {record(
             R"("timestamp":"2024-01-15T10:00:00Z")",
             R"({"promptTokens":1000,"completionTokens":500,"reasoningTokens":0,"cacheWrite1hTokens":0})"),
         kNow, "detail classes at 0: the digest of records from before they existed"},
        {record(
             R"("timestamp":"2024-01-15T10:00:00Z","serviceTier":"standard","toolCalls":{"web_search":0})"),
         kNow, "the standard tier and a tool called 0 times"},
        {R"({"timestamp":"2024-01-15T10:00:00Z","usage":{"completionTokens":500,"promptTokens":1000},
            "model":"claude-3-5-sonnet","provider":"anthropic","userId":"u1"})",
         kNow, "member order and white space"},
    };
    for (const auto& c : cases) {
      INFO(c.why);
      CHECK(fingerprint(c.body, c.now) == base);
    }
  }

  SECTION("a defaulted time stamp is not part of the content") {
    const std::string defaulted = fingerprint(record(), kJan15);
    CHECK(fingerprint(record(), kNow) == defaulted);  // retried later: same digest
    CHECK(defaulted != base);  // given vs defaulted, even at the same instant
  }

  SECTION("different content gives a different digest") {
    struct Case {
      std::string body;
      const char* why;
    };
    const std::string ts = R"("timestamp":"2024-01-15T10:00:00Z")";
    const Case cases[] = {
        {record(ts, R"({"promptTokens":1001,"completionTokens":500})"), "prompt tokens"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":501})"), "completion tokens"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"cacheReadTokens":1})"),
         "cache read"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"cacheWriteTokens":1})"),
         "cache write"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"cacheWrite1hTokens":1})"),
         "1-hour cache write"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"audioInputTokens":1})"),
         "audio input"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"imageInputTokens":1})"),
         "image input"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"reasoningTokens":1})"),
         "reasoning"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"audioOutputTokens":1})"),
         "audio output"},
        {record(ts, R"({"promptTokens":1000,"completionTokens":500,"imageOutputTokens":1})"),
         "image output"},
        {record(ts + R"(,"serviceTier":"batch")"), "service tier"},
        {record(ts + R"(,"toolCalls":{"web_search":1})"), "tool calls"},
        {record(R"("timestamp":"2024-01-15T10:00:00.001Z")"), "time stamp"},
        {record(ts + R"(,"cached":true)"), "cached"},
        {record(ts + R"(,"projectId":"p")"), "project"},
        {R"({"userId":"u2","provider":"anthropic","model":"claude-3-5-sonnet","usage":{"promptTokens":1000,"completionTokens":500},)" +
             ts + "}",
         "user"},
        {R"({"userId":"u1","provider":"openai","model":"claude-3-5-sonnet","usage":{"promptTokens":1000,"completionTokens":500},)" +
             ts + "}",
         "provider"},
        {R"({"userId":"u1","provider":"anthropic","model":"claude-3-5-sonnet-20241022","usage":{"promptTokens":1000,"completionTokens":500},)" +
             ts + "}",
         "model"},
    };
    std::set<std::string> seen = {base};
    for (const auto& c : cases) {
      INFO(c.why);
      const std::string f = fingerprint(c.body);
      CHECK(f != base);
      CHECK(seen.insert(f).second);  // all distinct from each other too
    }
  }

  SECTION("fields cannot bleed into each other") {
    UsageRecord a, b;
    a.user = "ab";
    a.project = "c";
    b.user = "a";
    b.project = "bc";
    CHECK(content_fingerprint(a, false) != content_fingerprint(b, false));
    a = b;
    b.model = "1";  // "" + "1" vs "1" + ""
    a.provider = "1";
    CHECK(content_fingerprint(a, false) != content_fingerprint(b, false));
    CHECK(content_fingerprint(a, true) != content_fingerprint(a, false));
  }
}

TEST_CASE("ingest - make_uuid") {
  // RFC 4122 version 4: 8-4-4-4-12 lower-case hex, version nibble 4, variant bits 10xx.
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = make_uuid();
    CAPTURE(id);
    REQUIRE(id.size() == 36);
    CHECK(std::regex_match(id, v4));
    CHECK(seen.insert(id).second);
    CHECK(id.size() <= kMaxIdLength);  // a generated id is itself a valid id
  }
}

TEST_CASE("ingest - RapidJSON reads a large body of tiny values record by record") {
  // 200k values that are no records: every one is counted, none is kept, whatever the parser.
  std::string body = "[0";
  for (int i = 1; i < 200'000; ++i) body += ",0";
  body += "]";
  IngestPolicy rapid{kNow, TimeWindow{std::nullopt, std::nullopt}, std::nullopt};
  rapid.fast_parse_max_bytes = 0;
  auto r = parse_usage_body(body, BodyFormat::json, rapid);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "200000 of 200000 records are invalid; nothing was stored");
  CHECK(r.error().details.size() == kMaxErrorDetails);
  CHECK(r.error().records == 200'000);
}
