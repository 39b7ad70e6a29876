// [[catalog]] in the configuration: where the file is found, what overrides its entries, its
// errors, a reload that reads it again, and the whole shared LiteLLM catalog.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "aiusage/calendar.hpp"
#include "aiusage/catalog.hpp"
#include "aiusage/config.hpp"
#include "support/http_client.hpp"
#include "support/live_server.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;
constexpr std::int64_t kSometime = 1'705'312'800'000;  // 2024-01-15T10:00:00Z
const std::string kFixture = AIUSAGE_SOURCE_DIR "/tests/fixtures/catalog/litellm.json";
const std::string kCatalog = "[[catalog]]\nformat = \"litellm\"\npath = \"prices/litellm.json\"\n";

// The configuration `text` as /cfg/test.toml, its files read from `files`.
Result<Config> parse(const std::string& text, const std::map<std::string, std::string>& files) {
  return parse_config(text, "test.toml", "/cfg", [&files](const std::string& path) {
    auto it = files.find(path);
    if (it == files.end()) throw std::runtime_error("no such file");
    return it->second;
  });
}

}  // namespace

TEST_CASE("catalog - [[catalog]] in the configuration") {
  const std::map<std::string, std::string> files = {
      {"/cfg/prices/litellm.json", read_text_file(kFixture)},
      {"/cfg/bad.json", "{\"gpt\": {\"mode\": \"chat\"}"},
      {"/data/second.json",
       R"({"gpt-test": {"litellm_provider": "openai", "mode": "chat",
           "input_cost_per_token": 7e-06, "output_cost_per_token": 8e-06}})"},
      {"/cfg/extra.toml",
       "[[pricing]]\nprovider = \"xai\"\nmodel = \"grok-test\"\ninput = 4\noutput = 5\n"},
  };

  SECTION("catalog entries are priced; [[pricing]] entries of the files replace theirs") {
    auto r = parse("include = [\"extra.toml\"]\n" + kCatalog +
                       "[[pricing]]\nprovider = \"openai\"\nmodel = \"gpt-test\"\ninput = 1\n"
                       "output = 2\n",
                   files);
    REQUIRE(r.ok());
    const Price* own = r->prices.find("openai", "gpt-test", kSometime);
    REQUIRE(own != nullptr);
    CHECK(own->input == 1 * kUnit);
    CHECK(own->source == "test.toml:5:1");
    CHECK(own->tiers.empty());
    // Only the entry of the same service tier is replaced.
    const Price* batch = r->prices.find("openai", "gpt-test", kSometime, ServiceTier::batch);
    REQUIRE(batch != nullptr);
    CHECK(batch->input == 1'250'000'000);
    CHECK(batch->source == "/cfg/prices/litellm.json:gpt-test");
    const Price* included = r->prices.find("xai", "grok-test", kSometime);
    CHECK(included->input == 4 * kUnit);
    CHECK(included->source == "/cfg/extra.toml:1:1");
    const Price* claude = r->prices.find("anthropic", "claude-test", kSometime);
    REQUIRE(claude != nullptr);
    CHECK(claude->source == "/cfg/prices/litellm.json:anthropic/claude-test");
    // 300k prompt tokens (above 200k) and 2k output: 300000 × 6 + 2000 × 22.5, per 1M tokens.
    CHECK(r->prices.quote("anthropic", "claude-test", kSometime, {300'000, 0, 0, 2000}).cost ==
          1'845'000'000);
    // The catalog's names match as configured ones do: a version suffix.
    CHECK(r->prices.find("anthropic", "claude-test-20250929", kSometime) == claude);
  }
  SECTION("a file's entry by any rule beats a catalog's, even its exact name") {
    const std::map<std::string, std::string> dated = {
        {"/cfg/prices/litellm.json",
         R"({"claude-x-20250101": {"litellm_provider": "anthropic", "mode": "chat",
             "input_cost_per_token": 7e-06, "output_cost_per_token": 8e-06},
             "claude-y-20250101": {"litellm_provider": "anthropic", "mode": "chat",
             "input_cost_per_token": 7e-06, "output_cost_per_token": 8e-06}})"}};
    auto r = parse(kCatalog +
                       "[[pricing]]\nprovider = \"anthropic\"\nmodel = \"claude-x\"\ninput = 1\n"
                       "output = 2\n[[pricing]]\nprovider = \"anthropic\"\nmodel = \"other\"\n"
                       "match = \"claude-y-[0-9]+\"\ninput = 3\noutput = 4\n",
                   dated);
    REQUIRE(r.ok());
    struct Case {
      const char* model;
      Nanos input;
    };
    const Case cases[] = {
        {"claude-x-20250101", 1 * kUnit},  // the file's claude-x + version suffix
        {"claude-x", 1 * kUnit},
        {"claude-y-20250101", 3 * kUnit},     // the file's pattern
        {"claude-y-20250101-v1", 7 * kUnit},  // the catalog's, by suffix: the pattern is anchored
    };
    for (const Case& c : cases) {
      CAPTURE(c.model);
      const Price* p = r->prices.find("anthropic", c.model, kSometime);
      CHECK((p == nullptr ? 0 : p->input) == c.input);
    }
    auto catalog_only = parse(kCatalog, dated);
    REQUIRE(catalog_only.ok());
    const Price* p = catalog_only->prices.find("anthropic", "claude-x-20250101", kSometime);
    REQUIRE(p != nullptr);
    CHECK(p->input == 7 * kUnit);
    CHECK(p->from_catalog);
  }

  SECTION("an alias of a file's entry claims a catalog entry's name") {
    auto r = parse(kCatalog +
                       "[[pricing]]\nprovider = \"openai\"\nmodel = \"o-mine\"\ninput = 1\n"
                       "output = 2\naliases = [\"o-test-pro\"]\n",
                   files);
    REQUIRE(r.ok());
    CHECK(r->prices.find("openai", "o-test-pro", kSometime)->model == "o-mine");
    CHECK(r->prices.find("openai", "gpt-test", kSometime)->input == 2'500'000'000);
  }
  SECTION("an entry of another date keeps the catalog's before it") {
    auto r = parse(kCatalog +
                       "[[pricing]]\nprovider = \"openai\"\nmodel = \"gpt-test\"\ninput = 1\n"
                       "output = 2\neffective_from = \"2025-01-01\"\n",
                   files);
    REQUIRE(r.ok());
    CHECK(r->prices.find("openai", "gpt-test", kSometime)->input == 2'500'000'000);
    CHECK(r->prices.find("openai", "gpt-test", kSometime + 366LL * 86'400'000)->input == kUnit);
  }
  SECTION("a later catalog replaces an earlier one's entries; an absolute path is kept") {
    auto r = parse(kCatalog + "[[catalog]]\nformat = \"litellm\"\npath = \"/data/second.json\"\n",
                   files);
    REQUIRE(r.ok());
    const Price* p = r->prices.find("openai", "gpt-test", kSometime);
    CHECK(p->input == 7 * kUnit);
    CHECK(p->source == "/data/second.json:gpt-test");
    CHECK(r->prices.find("openai", "gpt-test", kSometime, ServiceTier::priority)->input ==
          5 * kUnit);
  }
  SECTION("errors name the key or the catalog file") {
    const std::pair<std::string, std::string> cases[] = {
        {"[[catalog]]\nformat = \"csv\"\npath = \"x.json\"\n",
         "test.toml:2:10: catalog[0].format: \"csv\" is not a catalog format (\"litellm\")"},
        {"[[catalog]]\npath = \"x.json\"\n", "test.toml:1:1: catalog[0].format: missing"},
        {"[[catalog]]\nformat = \"litellm\"\n", "test.toml:1:1: catalog[0].path: missing"},
        {"[[catalog]]\nformat = \"litellm\"\npath = \"\"\n",
         "test.toml:3:8: catalog[0].path: must not be empty"},
        {"[[catalog]]\nformat = \"litellm\"\npath = 1\n",
         "test.toml:3:8: catalog[0].path: expected a string"},
        {kCatalog + "url = \"https://example.com\"\n",
         "test.toml:4:7: unknown key \"catalog[0].url\""},
        {"[catalog]\nformat = \"litellm\"\n",
         "test.toml:1:1: catalog: expected [[catalog]] tables"},
        {"[[catalog]]\nformat = \"litellm\"\npath = \"missing.json\"\n",
         "test.toml:3:8: catalog[0].path: \"/cfg/missing.json\": no such file"},
        {"[[catalog]]\nformat = \"litellm\"\npath = \"bad.json\"\n",
         "/cfg/bad.json:1:25: Missing a comma or '}' after an object member."},
        {"[billing]\ncurrency = \"EUR\"\n" + kCatalog,
         "/cfg/prices/litellm.json:gpt-test: pricing.currency: no exchange rate for USD in "
         "billing.rates (billing currency is EUR)"},
    };
    for (const auto& [text, message] : cases) {
      INFO(text);
      auto r = parse(text, files);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == message);
    }
    // Catalogs belong to the main file.
    auto in_include = parse("include = [\"extra.toml\"]\n",
                            {{"/cfg/extra.toml", kCatalog}, {"/cfg/prices/litellm.json", "{}"}});
    REQUIRE_FALSE(in_include.ok());
    CHECK(in_include.error().message == "/cfg/extra.toml:1:1: unknown key \"catalog\"");
  }
  SECTION("with billing.rates for USD, catalog prices convert like any other") {
    auto r = parse("[billing]\ncurrency = \"EUR\"\nrates = { USD = 0.9 }\n" + kCatalog, files);
    REQUIRE(r.ok());
    // 100k input tokens of gpt-test and its request fee: 0.25 + 0.005 USD = 0.2295 EUR.
    CHECK(r->prices.quote("openai", "gpt-test", kSometime, {100'000, 0, 0, 0}).cost == 229'500'000);
  }
}

TEST_CASE("catalog - a reload reads the catalog again; a bad one keeps the old prices") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  auto write = [&](const std::string& text) {
    std::ofstream(dir.file("litellm.json"), std::ios::binary | std::ios::trunc) << text;
  };
  auto catalog = [](const char* input) {
    return std::string(R"({"gpt-cat": {"litellm_provider": "openai", "mode": "chat", )") +
           R"("input_cost_per_token": )" + input + R"(, "output_cost_per_token": 2e-06}})";
  };
  write(catalog("1e-06"));
  std::mutex mutex;
  auto load = [&]() -> Result<Config> {
    std::lock_guard lock(mutex);
    auto r = parse_config(
        std::string(kTestConfig) + "\n[[catalog]]\nformat = \"litellm\"\npath = \"litellm.json\"\n",
        dir.file("reload.toml"), dir.path());
    if (!r) return r;
    r->storage_path = dir.file("usage.db");
    r->listen = "127.0.0.1:0";
    r->http_threads = 8;
    return r;
  };
  auto initial = load();
  REQUIRE(initial.ok());
  LiveServer ts(*initial, clock.clock(), load);
  int n = 0;
  auto cost = [&] {
    const std::string body = R"({"id":"r)" + std::to_string(++n) +
                             R"(","userId":"u","provider":"openai","model":"gpt-cat",)"
                             R"("usage":{"promptTokens":1000,"completionTokens":500}})";
    rapidjson::Document d;
    d.Parse(http_post_json(ts.port(), "/api/v1/usage", body).body.c_str());
    REQUIRE(d.IsObject());
    REQUIRE(d.HasMember("records"));
    const auto& rec = d["records"][0];
    CHECK(std::string(rec["pricing"]["source"].GetString()) ==
          dir.file("litellm.json") + ":gpt-cat");
    return rec["costNanos"].GetInt64();
  };
  CHECK(cost() == 2'000'000);  // 1000 × 1 + 500 × 2 per 1M tokens
  write(catalog("2e-06"));
  REQUIRE(http_request(ts.port(), "POST", "/-/reload").status == 200);
  CHECK(cost() == 3'000'000);  // 1000 × 2 + 500 × 2
  write("{\"gpt-cat\": ");
  auto bad = http_request(ts.port(), "POST", "/-/reload");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("configuration reload failed: " + dir.file("litellm.json") + ":1:13: ") !=
        std::string::npos);
  CHECK(cost() == 3'000'000);
  write(catalog("2.00000000000000001e-06"));  // finer than a nano: not imported, not rounded
  REQUIRE(http_request(ts.port(), "POST", "/-/reload").status == 200);
  const std::string body =
      http_post_json(ts.port(), "/api/v1/usage",
                     R"({"id":"x","userId":"u","provider":"openai","model":"gpt-cat",)"
                     R"("usage":{"promptTokens":1000,"completionTokens":500}})")
          .body;
  CHECK(body.find(R"("priced":false)") != std::string::npos);
}
