// Over HTTP: records under other tools' provider names and model forms are priced by the table's
// entry and say which; [billing] unknown_models = "reject" refuses a record no price applies to.
#include <catch2/catch.hpp>
#include <string>

#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/otlp_export.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr std::int64_t kNowMs = 1'794'736'800'000;  // 2026-11-15T10:00:00Z

const char* const kGoogle = R"TOML(
[[pricing]]
provider = "google"
model = "gemini-2.5-pro"
input = 1.25
output = 10.0
)TOML";

std::string record(const std::string& id, const std::string& provider, const std::string& model) {
  return R"({"id":")" + id + R"(","userId":"u","provider":")" + provider + R"(","model":")" +
         model + R"(","usage":{"promptTokens":1000,"completionTokens":100}})";
}

std::int64_t stored_records(int port) {
  const rapidjson::Document d = parse(http_get(port, "/api/v1/statistics").body);
  return d["totalCalls"].GetInt64();
}

}  // namespace

TEST_CASE("http pricing - other tools' names priced by the table's entry") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  TestServer ts(test_config(dir.file("usage.db"), kGoogle), clock.clock());
  struct Case {
    const char* provider;
    const char* model;
    const char* entry;  // the answer's pricing.entry, nullptr = unpriced
    std::int64_t cost;  // nanos
  };
  const Case cases[] = {
      // 1000 × 1.25 + 100 × 10 = 2250 per 1M
      {"gemini", "models/gemini-2.5-pro", "google/gemini-2.5-pro", 2'250'000},
      {"vertex_ai", "gemini-2.5-pro-001", "google/gemini-2.5-pro", 2'250'000},
      // 1000 × 3 + 100 × 15 = 4500 per 1M
      {"bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic/claude-3-5-sonnet",
       4'500'000},
      {"openai", "openai/gpt-4o", "openai/gpt-4o", 3'500'000},
      {"openai", "openai/gpt-4o-realtime-preview", nullptr, 0},
  };
  int n = 0;
  for (const Case& c : cases) {
    CAPTURE(c.provider, c.model);
    auto r = http_post_json(ts.port(), "/api/v1/usage",
                            record("f" + std::to_string(n++), c.provider, c.model));
    INFO(r.body);
    REQUIRE(r.status == 200);
    const rapidjson::Document d = parse(r.body);
    const auto& rec = d["records"][0];
    CHECK(rec["costNanos"].GetInt64() == c.cost);
    CHECK(rec["priced"].GetBool() == (c.entry != nullptr));
    CHECK(rec.HasMember("pricing") == (c.entry != nullptr));
    if (c.entry != nullptr) CHECK(std::string(rec["pricing"]["entry"].GetString()) == c.entry);
  }
}

TEST_CASE("http pricing - unknown_models = \"reject\" refuses unpriced records") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  Config config = test_config(dir.file("usage.db"));
  config.reject_unknown_models = true;  // [billing] unknown_models = "reject": pricing_config_test
  TestServer ts(config, clock.clock());
  const int port = ts.port();

  SECTION("a batch with one unpriced record: 400 naming it, nothing stored") {
    auto r = http_post_json(
        port, "/api/v1/usage",
        "[" + record("a", "openai", "gpt-4o") + "," + record("b", "openai", "gpt-5.4-pro") + "]");
    CHECK(r.status == 400);
    CHECK(r.body ==
          R"({"error":"1 of 2 records are invalid; nothing was stored","details":[{"index":1,)"
          R"("field":"model","message":"no price for openai/gpt-5.4-pro and [billing] )"
          R"(unknown_models is \"reject\""}]})");
    CHECK(stored_records(port) == 0);
  }

  SECTION("priced records are stored as before") {
    auto r = http_post_json(port, "/api/v1/usage", record("a", "openai", "gpt-4o"));
    CHECK(r.status == 200);
    CHECK(stored_records(port) == 1);
  }

  SECTION("OTLP: the unpriced span is rejected in partial_success, the other stored") {
    const std::uint64_t end_ns = std::uint64_t{kNowMs - 60'000} * 1'000'000;
    auto span = [&](std::uint64_t n, const char* model) {
      return OtlpSpan{trace_hex(7),
                      span_hex(n),
                      end_ns,
                      {{"gen_ai.provider.name", "openai"},
                       {"gen_ai.request.model", model},
                       {"gen_ai.usage.input_tokens", std::int64_t{10}},
                       {"gen_ai.usage.output_tokens", std::int64_t{5}}}};
    };
    const OtlpExport x{{{"service.name", "chat"}}, {span(1, "gpt-4o"), span(2, "no-such-model")}};
    auto r = http_request(port, "POST", "/v1/traces", to_json(x),
                          {{"Content-Type", "application/json"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const rapidjson::Document d = parse(r.body);
    CHECK(std::string(d["partialSuccess"]["rejectedSpans"].GetString()) == "1");
    CHECK(std::string(d["partialSuccess"]["errorMessage"].GetString())
              .find("no price for openai/no-such-model") != std::string::npos);
    CHECK(stored_records(port) == 1);
  }
}
