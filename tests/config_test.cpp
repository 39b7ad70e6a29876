// Configuration: TOML keys, defaults, includes and file:line:col errors.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aiusage/config.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using aiusage::testing::TempDir;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;
constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kHour = 3'600'000;
// Days since 1970-01-01: 2024-01-01 = 19723, 2025-01-01 = 20089.
constexpr std::int64_t k2024_08_06 = (19723 + 213 + 5) * kDay;  // Jan..Jul 2024 = 213 days
constexpr std::int64_t k2025_01_15 = (20089 + 14) * kDay;
constexpr std::int64_t k2025_07_01 = (20089 + 181) * kDay;      // Jan..Jun 2025 = 181 days
constexpr std::int64_t k2025_12_02 = (20089 + 334 + 1) * kDay;  // Jan..Nov 2025 = 334 days

const std::string kFixtures = AIUSAGE_SOURCE_DIR "/tests/fixtures/config";

// Included files served from memory; anything else throws like a failing read.
using Files = std::map<std::string, std::string>;

Result<Config> parse(const std::string& text, const Files& files = {}) {
  return parse_config(text, "test.toml", "/cfg", [&files](const std::string& path) -> std::string {
    auto it = files.find(path);
    if (it == files.end()) throw std::runtime_error("no such file");
    return it->second;
  });
}

Nanos quote(const Config& c, const char* provider, const char* model, std::int64_t at_ms,
            TokenCounts tokens) {
  CostQuote q = c.prices.quote(provider, model, at_ms, tokens);
  REQUIRE(q.priced);
  return q.cost;
}

}  // namespace

TEST_CASE("config - defaults") {
  for (const char* text :
       {"", "# nothing but a comment\n", "[server]\n[storage]\n[billing]\n[metrics]\n"}) {
    CAPTURE(text);
    auto r = parse(text);
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.listen == "127.0.0.1:9477");
    CHECK(c.storage_path == "ai-usage.db");
    CHECK(c.synchronous_full);
    CHECK(c.group_commit);
    CHECK(c.max_body_bytes == 10 * 1024 * 1024);
    CHECK(c.http_threads == 2048);
    CHECK(c.currency == "USD");
    CHECK(c.timezone == "UTC");
    CHECK_FALSE(c.reject_unknown_models);
    CHECK(c.prices.prices().empty());
    CHECK(c.prices.billing_currency() == "USD");
    CHECK(c.quotas.empty());
    CHECK(c.labels.project);
    CHECK(c.labels.user);
    CHECK(c.labels.model);
  }
}

TEST_CASE("config - what a reload may change and what needs a restart") {
  const std::string base = "[server]\nlisten = \"127.0.0.1:9000\"\n";
  auto changed = [&](const std::string& extra) {
    auto running = parse(base), next = parse(base + extra);
    REQUIRE(running.ok());
    REQUIRE(next.ok());
    return restart_required(*running, *next);
  };
  struct Case {
    const char* name;
    std::string toml;  // appended to the running file
    std::vector<std::string> restart;
  };
  for (const Case& c : {
           Case{"prices, quotas, tokens, [ingest] and [otlp] reload",
                "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1.0\noutput = 1.0\n"
                "[[quota]]\nscope = \"global\"\ntokens = 5\n"
                "[ingest]\nmax_age = \"1h\"\n[otlp]\ndefault_user = \"x\"\n"
                "[metrics]\nquota_min_ratio = 0.25\n"
                "[[auth.tokens]]\nname = \"t\"\nsha256 = \"" +
                    std::string(64, 'a') + "\"\nscopes = [\"read\"]\n",
                {}},
           Case{"each [server] key needs a restart",
                "threads = 8\nmax_body_bytes = 4096\nbody_timeout = \"2s\"\n"
                "request_timeout = \"2s\"\nmax_header_bytes = 4096\ndrain_timeout = \"2s\"\n"
                "body_memory_budget = 1000000\n",
                {"server.threads", "server.max_body_bytes", "server.body_timeout",
                 "server.request_timeout", "server.max_header_bytes", "server.body_memory_budget",
                 "server.drain_timeout"}},
           Case{"[storage], the currency, the time zone and the series limits too",
                "[storage]\npath = \"other.db\"\nsynchronous = \"normal\"\ngroup_commit = false\n"
                "[billing]\ncurrency = \"EUR\"\ntimezone = \"Europe/Paris\"\n"
                "[metrics]\nlabels = [\"provider\"]\nmax_series = 10\ntop_k = { user = 3 }\n",
                {"storage.path", "storage.synchronous", "storage.group_commit", "billing.currency",
                 "billing.timezone", "metrics.labels", "metrics.max_series", "metrics.top_k"}},
       }) {
    SECTION(c.name) { CHECK(changed(c.toml) == c.restart); }
  }
  SECTION("any difference in a restart-only member is refused, named or not") {
    auto running = parse(base);
    REQUIRE(running.ok());
    StaticConfig next = *running;
    CHECK(restart_required(*running, next).empty());
    next.labels.model = false;
    CHECK(restart_required(*running, next) == std::vector<std::string>{"metrics.labels"});
    next = *running;
    next.tls_certificate = "cert.pem";
    CHECK(restart_required(*running, next) == std::vector<std::string>{"server.tls_certificate"});
  }
  SECTION("the listen address") {
    auto running = parse(base), next = parse("[server]\nlisten = \"127.0.0.1:9001\"\n");
    REQUIRE(next.ok());
    CHECK(restart_required(*running, *next) == std::vector<std::string>{"server.listen"});
  }
}

TEST_CASE("config - every key") {
  auto r = load_config_file(kFixtures + "/full.toml");
  if (!r.ok()) FAIL(r.error().message);
  const Config& c = *r;

  SECTION("server, storage, billing, metrics") {
    CHECK(c.listen == "0.0.0.0:9100");
    CHECK(c.http_threads == 4);
    CHECK(c.max_body_bytes == 1'048'576);
    CHECK(c.storage_path == "/var/lib/ai-usage/usage.db");
    CHECK_FALSE(c.synchronous_full);  // "normal"
    CHECK_FALSE(c.group_commit);
    CHECK(c.currency == "EUR");
    CHECK(c.prices.billing_currency() == "EUR");
    CHECK(c.timezone == "Europe/Berlin");
    CHECK(c.reject_unknown_models);
    CHECK(c.labels.project);
    CHECK(c.labels.model);
    CHECK_FALSE(c.labels.user);
  }

  SECTION("prices: included, overridden, added; converted to EUR") {
    // shared.toml: sonnet (overridden in place), qwen, mistral × 2; full.toml adds a dated sonnet.
    REQUIRE(c.prices.prices().size() == 5);
    const Price* sonnet = c.prices.find("anthropic", "claude-3-5-sonnet", k2025_01_15);
    REQUIRE(sonnet != nullptr);
    CHECK(sonnet->currency == "USD");
    CHECK(sonnet->input == 2'500'000'000);        // "2.50" from full.toml, not 3.0
    CHECK(sonnet->output == 12 * kUnit);          // integer 12
    CHECK(sonnet->cache_read == 250'000'000);     // float 0.25
    CHECK(sonnet->cache_write == 3'125'000'000);  // float 3.125
    CHECK(sonnet->effective_from_ms == INT64_MIN);

    struct Case {
      const char* provider;
      const char* model;
      std::int64_t at_ms;
      TokenCounts tokens;
      Nanos expected;
      const char* why;
    };
    // Berlin midnight: 2025-07-01 (CEST, +2) = 2025-06-30T22:00Z; 2025-12-02 (CET, +1) =
    // 2025-12-01T23:00Z.
    const std::int64_t sonnet_change = k2025_07_01 - 2 * kHour;
    const std::int64_t mistral_change = k2025_12_02 - 1 * kHour;
    const Case cases[] = {
        // 1000 × 2.50 + 500 × 12 = 8500 per 1M → 0.0085 USD × 0.92 = 0.00782 EUR
        {"anthropic",
         "claude-3-5-sonnet-20241022",
         k2025_01_15,
         {1000, 0, 0, 500},
         7'820'000,
         "override, USD→EUR"},
        // 2500 + 2000 × 0.25 + 400 × 3.125 + 6000 = 10250 → 0.01025 USD × 0.92 = 0.00943 EUR
        {"anthropic",
         "claude-3-5-sonnet",
         k2025_01_15,
         {1000, 2000, 400, 500},
         9'430'000,
         "cache classes"},
        {"anthropic",
         "claude-3-5-sonnet",
         sonnet_change - 1,
         {1000, 0, 0, 500},
         7'820'000,
         "before the Berlin date"},
        // 1000 × 2.00 + 500 × 10.00 = 7000 → 0.007 USD × 0.92 = 0.00644 EUR
        {"anthropic",
         "claude-3-5-sonnet",
         sonnet_change,
         {1000, 0, 0, 500},
         6'440'000,
         "from Berlin midnight"},
        // cache_read defaults to input (2.00): 2000 × 2.00 = 4000 → 0.004 × 0.92 = 0.00368
        {"anthropic",
         "claude-3-5-sonnet",
         sonnet_change,
         {0, 2000, 0, 0},
         3'680'000,
         "cache_read = input"},
        // 1000 × 2.4 + 500 × 9.6 = 7200 → 0.0072 CNY × 0.127 = 0.0009144 EUR
        {"qwen",
         "qwen-max",
         k2025_01_15,
         {1000, 0, 0, 500},
         914'400,
         "CNY→EUR, rate as a decimal string"},
        // EUR by default: 1000 × 2 + 500 × 6 = 5000 → 0.005 EUR
        {"mistral",
         "mistral-large-2411",
         mistral_change - 1,
         {1000, 0, 0, 500},
         5'000'000,
         "billing currency"},
        // 1000 × 0.5 + 500 × 1.5 = 1250 → 0.00125 EUR
        {"mistral",
         "mistral-large",
         mistral_change,
         {1000, 0, 0, 500},
         1'250'000,
         "included date in Berlin time"},
    };
    for (const auto& cs : cases) {
      INFO(cs.provider << "/" << cs.model << ": " << cs.why);
      CHECK(quote(c, cs.provider, cs.model, cs.at_ms, cs.tokens) == cs.expected);
    }
  }

  SECTION("quotas from both files") {
    REQUIRE(c.quotas.size() == 5);
    struct Case {
      Scope scope;
      const char* subject;
      std::optional<std::int64_t> tokens;
      std::optional<Nanos> cost;
    };
    const Case cases[] = {
        {Scope::user, "bob", 1'000'000, 100 * kUnit},
        {Scope::user, "alice", std::nullopt, 12'500'000'000},  // "12.5"
        {Scope::project, "p1", 5'000'000, std::nullopt},
        {Scope::project, "shared", 5, std::nullopt},  // from prices/shared.toml
        {Scope::project, "p2", std::nullopt, std::nullopt},
        {Scope::global, "", std::nullopt, 1000 * kUnit},  // integer cost
    };
    for (const auto& cs : cases) {
      INFO(to_string(cs.scope) << " " << cs.subject);
      QuotaLimits l = limits_for(c.quotas, cs.scope, cs.subject);
      CHECK(l.tokens == cs.tokens);
      CHECK(l.cost == cs.cost);
    }
  }
}

TEST_CASE("config - values") {
  SECTION("money as integer, float or exact decimal string") {
    struct Case {
      const char* value;
      Nanos expected;
    };
    const Case cases[] = {
        {"3", 3 * kUnit},
        {"3.0", 3 * kUnit},
        {"\"3.00\"", 3 * kUnit},
        {"0.075", 75'000'000},
        {"\"0.000000001\"", 1},
        {"1e-3", 1'000'000},
        {"0", 0},                   // a free model
        {"10000", 10'000 * kUnit},  // kMaxPriceNanos
        {"\"10000.000000000\"", 10'000 * kUnit},
    };
    for (const auto& cs : cases) {
      CAPTURE(cs.value);
      auto r = parse(std::string("[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = ") +
                     cs.value + "\noutput = 1\n");
      REQUIRE(r.ok());
      REQUIRE(r->prices.prices().size() == 1);
      const Price& p = r->prices.prices().front();
      CHECK(p.input == cs.expected);
      CHECK(p.cache_read == cs.expected);  // cache prices default to input
      CHECK(p.cache_write == cs.expected);
      CHECK(p.currency == "USD");  // default: billing currency
      CHECK(p.effective_from_ms == INT64_MIN);
    }
  }

  SECTION("effective_from in the billing time zone") {
    struct Case {
      const char* timezone;
      const char* value;
      std::int64_t expected;
    };
    const Case cases[] = {
        {"UTC", "\"2024-08-06\"", k2024_08_06},
        {"UTC", "2024-08-06", k2024_08_06},  // a TOML date
        {"Asia/Shanghai", "\"2024-08-06\"", k2024_08_06 - 8 * kHour},
        {"Asia/Shanghai", "2024-08-06", k2024_08_06 - 8 * kHour},
        {"America/New_York", "\"2024-08-06\"", k2024_08_06 + 4 * kHour},  // EDT
        {"Asia/Shanghai", "\"2024-08-06T00:00:00Z\"", k2024_08_06},  // a time stamp keeps its zone
        {"UTC", "\"2024-08-06T08:00:00+08:00\"", k2024_08_06},
    };
    for (const auto& cs : cases) {
      CAPTURE(cs.timezone, cs.value);
      const std::string text = std::string("[billing]\ntimezone = \"") + cs.timezone + "\"\n" +
                               "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\n" +
                               "input = 1\noutput = 1\neffective_from = " + cs.value + "\n";
      auto r = parse(text);
      if (!r.ok()) FAIL(r.error().message);
      CHECK(r->timezone == cs.timezone);
      CHECK(r->prices.prices().front().effective_from_ms == cs.expected);
    }
  }

  SECTION("prices in the billing currency need no rate") {
    auto r = parse(R"(
[billing]
currency = "CNY"

[[pricing]]
provider = "qwen"
model = "qwen-max"
input = 2.4
output = 9.6
)");
    REQUIRE(r.ok());
    CHECK(r->prices.prices().front().currency == "CNY");
    // 1000 × 2.4 + 500 × 9.6 = 7200 per 1M → 0.0072 CNY, no conversion
    CHECK(quote(*r, "qwen", "qwen-max", 0, {1000, 0, 0, 500}) == 7'200'000);
  }

  SECTION("metrics labels") {
    struct Case {
      const char* labels;
      bool project, user, model;
    };
    const Case cases[] = {
        {"[\"provider\", \"model\", \"project\", \"user\"]", true, true, true},
        {"[\"provider\"]", false, false, false},
        {"[]", false, false, false},
        {"[\"user\"]", false, true, false},
        {"[\"model\", \"project\"]", true, false, true},
    };
    for (const auto& cs : cases) {
      CAPTURE(cs.labels);
      auto r = parse(std::string("[metrics]\nlabels = ") + cs.labels + "\n");
      REQUIRE(r.ok());
      CHECK(r->labels.project == cs.project);
      CHECK(r->labels.user == cs.user);
      CHECK(r->labels.model == cs.model);
    }
  }

  SECTION("a global quota may say subject = \"*\"") {
    auto r = parse("[[quota]]\nscope = \"global\"\nsubject = \"*\"\ntokens = 10\n");
    REQUIRE(r.ok());
    REQUIRE(r->quotas.size() == 1);
    CHECK(r->quotas[0].scope == Scope::global);
    CHECK(r->quotas[0].tokens == 10);
    CHECK_FALSE(r->quotas[0].cost.has_value());
  }
}

TEST_CASE("config - includes") {
  const std::string price_a =
      "[[pricing]]\nprovider = \"p\"\nmodel = \"a\"\ninput = 1\noutput = 1\n";

  SECTION("paths are resolved against base_dir; absolute paths are kept") {
    std::vector<std::string> asked;
    auto r = parse_config("include = [\"inc/a.toml\", \"/abs/b.toml\"]\n", "test.toml", "/cfg",
                          [&](const std::string& path) {
                            asked.push_back(path);
                            return std::string();
                          });
    REQUIRE(r.ok());
    CHECK(asked == std::vector<std::string>{"/cfg/inc/a.toml", "/abs/b.toml"});
  }

  SECTION("later files override earlier ones for the same provider, model and date") {
    const Files files = {
        {"/cfg/one.toml",
         price_a + "[[pricing]]\nprovider = \"p\"\nmodel = \"b\"\ninput = 5\noutput = 5\n"},
        {"/cfg/two.toml", "[[pricing]]\nprovider = \"p\"\nmodel = \"a\"\ninput = 2\noutput = 2\n"},
    };
    auto r = parse(R"(
include = ["one.toml", "two.toml"]

[[pricing]]
provider = "p"
model = "b"
input = 7
output = 7

[[pricing]]
provider = "p"
model = "b"
input = 8
output = 8
effective_from = "2024-08-06"
)",
                   files);
    if (!r.ok()) FAIL(r.error().message);
    // a: 1 (one.toml) replaced by 2 (two.toml); b: 5 (one.toml) replaced by 7 (main);
    // b from 2024-08-06 is a different date: added.
    REQUIRE(r->prices.prices().size() == 3);
    CHECK(r->prices.find("p", "a", 0)->input == 2 * kUnit);
    CHECK(r->prices.find("p", "b", k2024_08_06 - 1)->input == 7 * kUnit);
    CHECK(r->prices.find("p", "b", k2024_08_06)->input == 8 * kUnit);
  }

  SECTION("an included file's currency defaults to the including file's billing currency") {
    const Files files = {{"/cfg/p.toml", price_a}};
    auto r = parse("include = [\"p.toml\"]\n[billing]\ncurrency = \"JPY\"\n", files);
    REQUIRE(r.ok());
    CHECK(r->prices.prices().front().currency == "JPY");
  }
}

TEST_CASE("config - errors name file:line:col") {
  const std::string P = "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\n";  // lines 1-3
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      // unknown keys: located at the value (or at the table header)
      {"listen = \"x\"", "test.toml:1:10: unknown key \"listen\""},
      {"[serverx]\na = 1", "test.toml:1:1: unknown key \"serverx\""},
      {"[server]\nport = 80", "test.toml:2:8: unknown key \"server.port\""},
      {"[billing]\nzone = \"UTC\"", "test.toml:2:8: unknown key \"billing.zone\""},
      {"[metrics]\ndrop = []", "test.toml:2:8: unknown key \"metrics.drop\""},
      {"[billing]\nunknown_models = \"free\"",
       "test.toml:2:18: billing.unknown_models: expected \"store\" or \"reject\", not \"free\""},
      {P + "input = 1\noutput = 1\nprice = 1", "test.toml:6:9: unknown key \"pricing[0].price\""},
      {"[[quota]]\nscope = \"user\"\nlimit = 1", "test.toml:3:9: unknown key \"quota[0].limit\""},

      // wrong types
      {"server = 5", "test.toml:1:10: server: expected a table"},
      {"[server]\nlisten = 9477", "test.toml:2:10: server.listen: expected a string"},
      {"[server]\nthreads = \"16\"", "test.toml:2:11: server.threads: expected an integer"},
      {"[server]\nthreads = 0", "test.toml:2:11: server.threads: must be greater than 0"},
      {"[server]\nmax_body_bytes = -1",
       "test.toml:2:18: server.max_body_bytes: must be greater than 0"},
      {"[server]\nbody_memory_budget = 1000000",
       "test.toml:2:22: server.body_memory_budget: must be at least 140525568 (what one body of "
       "server.max_body_bytes may need)"},
      {"[server]\nmax_body_bytes = 104857600",
       "test.toml:2:18: server.body_memory_budget: must be at least 1272987648 (what one body of "
       "server.max_body_bytes may need)"},
      {"[storage]\npath = 1", "test.toml:2:8: storage.path: expected a string"},
      {"[storage]\nsynchronous = \"off\"",
       "test.toml:2:15: storage.synchronous: expected \"full\" or \"normal\""},
      {"[storage]\ngroup_commit = \"yes\"",
       "test.toml:2:16: storage.group_commit: expected true or false"},
      {"[billing]\ncurrency = 840", "test.toml:2:12: billing.currency: expected a string"},

      // billing
      {"[billing]\ntimezone = \"Mars/Base\"",
       "test.toml:2:12: billing.timezone: unknown time zone \"Mars/Base\""},
      {"[billing]\ntimezone = \"\"", "test.toml:2:12: billing.timezone: unknown time zone \"\""},
      {"[billing]\nrates = 0.138",
       "test.toml:2:9: billing.rates: expected a table such as { CNY = 0.138 }"},
      {"[billing]\nrates = { CNY = 0 }",
       "test.toml:2:17: billing.rates.CNY: must be greater than 0"},
      {"[billing]\nrates = { CNY = -0.1 }",
       "test.toml:2:17: billing.rates.CNY: must not be negative"},
      {"[billing]\nrates = { CNY = 10001 }",
       "test.toml:2:17: billing.rates.CNY: must be at most 10000"},
      {"[billing]\nrates = { CNY = \"abc\" }",
       "test.toml:2:17: billing.rates.CNY: expected a decimal number, got \"abc\""},
      {"[billing]\nrates = { CNY = true }", "test.toml:2:17: billing.rates.CNY: expected a number"},

      // metrics
      {"[metrics]\nlabels = [\"provider\", \"team\"]",
       "test.toml:2:23: metrics.labels: unknown label \"team\" (expected provider, model, project, "
       "user)"},
      {"[metrics]\nlabels = \"user\"",
       "test.toml:2:10: metrics.labels: expected an array of label names"},
      {"[metrics]\nlabels = [1]", "test.toml:2:11: metrics.labels: expected a string"},

      // pricing: a missing key is located at the [[pricing]] header
      {P + "output = 1", "test.toml:1:1: pricing[0].input: missing"},
      {P + "input = 1", "test.toml:1:1: pricing[0].output: missing"},
      {"[[pricing]]\nmodel = \"m\"\ninput = 1\noutput = 1",
       "test.toml:1:1: pricing[0].provider: missing"},
      {"[[pricing]]\nprovider = \"p\"\ninput = 1\noutput = 1",
       "test.toml:1:1: pricing[0].model: missing"},
      {"[[pricing]]\nprovider = \"\"\nmodel = \"m\"\ninput = 1\noutput = 1",
       "test.toml:1:1: pricing[0].provider: must not be empty"},
      {"[[pricing]]\nprovider = \"p\"\nmodel = \"\"\ninput = 1\noutput = 1",
       "test.toml:1:1: pricing[0].model: must not be empty"},
      {"[[pricing]]\nprovider = \"p\"\nmodel = 4\ninput = 1\noutput = 1",
       "test.toml:3:9: pricing[0].model: expected a string"},
      {P + "input = -1.5\noutput = 1", "test.toml:4:9: pricing[0].input: must not be negative"},
      {P + "input = \"-0.000000001\"\noutput = 1",
       "test.toml:4:9: pricing[0].input: must not be negative"},
      {P + "input = 1\noutput = 10000.5",
       "test.toml:5:10: pricing[0].output: must be at most 10000"},
      {P + "input = \"10000.000000001\"\noutput = 1",
       "test.toml:4:9: pricing[0].input: must be at most 10000"},
      {P + "input = 99999999999\noutput = 1", "test.toml:4:9: pricing[0].input: number too large"},
      {P + "input = \"0.0000000001\"\noutput = 1",
       "test.toml:4:9: pricing[0].input: more than 9 decimal places in \"0.0000000001\""},
      {P + "input = \"3,00\"\noutput = 1",
       "test.toml:4:9: pricing[0].input: expected a decimal number, got \"3,00\""},
      {P + "input = true\noutput = 1", "test.toml:4:9: pricing[0].input: expected a number"},
      {P + "input = 1\noutput = 1\ncache_read = -1",
       "test.toml:6:14: pricing[0].cache_read: must not be negative"},
      {P + "input = 1\noutput = 1\ncache_write = 10001",
       "test.toml:6:15: pricing[0].cache_write: must be at most 10000"},
      {P + "input = 1\noutput = 1\ncurrency = 1",
       "test.toml:6:12: pricing[0].currency: expected a string"},
      {P + "input = 1\noutput = 1\neffective_from = \"2024-02-30\"",
       "test.toml:6:18: pricing[0].effective_from: "
       "expected YYYY-MM-DD or an RFC 3339 time stamp, got \"2024-02-30\""},
      {P + "input = 1\noutput = 1\neffective_from = \"2024-08-06T00:00:00\"",
       "test.toml:6:18: pricing[0].effective_from: "
       "expected an RFC 3339 time stamp such as 2024-01-15T10:00:00Z, got \"2024-08-06T00:00:00\""},
      {P + "input = 1\noutput = 1\neffective_from = 2024",
       "test.toml:6:18: pricing[0].effective_from: "
       "expected a date (YYYY-MM-DD) or an RFC 3339 time stamp"},
      // duplicate price: located at the second [[pricing]] header (line 7)
      {P + "input = 1\noutput = 1\n\n" + P + "input = 2\noutput = 2",
       "test.toml:7:1: pricing[1]: duplicate price for p/m"},
      // the same instant written two ways is the same date
      {P + "input = 1\noutput = 1\neffective_from = \"2024-08-06\"\n" + P +
           "input = 2\noutput = 2\neffective_from = \"2024-08-06T00:00:00Z\"",
       "test.toml:7:1: pricing[1]: duplicate price for p/m"},
      // a currency without an exchange rate: located at the price
      {P + "currency = \"CNY\"\ninput = 1\noutput = 1",
       "test.toml:1:1: pricing.currency: no exchange rate for CNY in billing.rates (billing "
       "currency is USD)"},
      {"[billing]\ncurrency = \"CNY\"\nrates = { EUR = 7.8 }\n" + P +
           "currency = \"USD\"\ninput = 1\noutput = 1",
       "test.toml:4:1: pricing.currency: no exchange rate for USD in billing.rates (billing "
       "currency is CNY)"},
      {"pricing = [ { provider = \"p\", model = \"m\", currency = \"CNY\", input = 1, output = 1 } "
       "]",
       "test.toml:1:13: pricing.currency: no exchange rate for CNY in billing.rates (billing "
       "currency is USD)"},
      {"pricing = 5", "test.toml:1:11: pricing: expected [[pricing]] tables"},
      {"pricing = [1]", "test.toml:1:12: pricing[0]: expected a table"},

      // quota
      {"[[quota]]\nscope = \"team\"\ntokens = 1",
       "test.toml:2:9: quota[0].scope: expected \"user\", \"project\", \"global\" or \"tag\""},
      {"[[quota]]\nscope = 1\ntokens = 1", "test.toml:2:9: quota[0].scope: expected a string"},
      {"[[quota]]\ntokens = 1", "test.toml:1:1: quota[0].scope: missing"},
      {"[[quota]]\nscope = \"global\"\nsubject = \"x\"\ncost = 1",
       "test.toml:1:1: quota[0].subject: a global quota has no subject"},
      {"[[quota]]\nscope = \"user\"\nsubject = \"alice\"",
       "test.toml:1:1: quota[0]: needs tokens, cost or both"},
      {"[[quota]]\nscope = \"global\"", "test.toml:1:1: quota[0]: needs tokens, cost or both"},
      {"[[quota]]\nscope = \"user\"\nsubject = \"\"\ntokens = 1",
       "test.toml:1:1: quota[0].subject: must not be empty"},
      {"[[quota]]\nscope = \"user\"\ntokens = 0",
       "test.toml:3:10: quota[0].tokens: must be greater than 0"},
      {"[[quota]]\nscope = \"user\"\ntokens = 1.5",
       "test.toml:3:10: quota[0].tokens: expected an integer"},
      {"[[quota]]\nscope = \"user\"\ncost = 0",
       "test.toml:3:8: quota[0].cost: must be greater than 0"},
      {"[[quota]]\nscope = \"user\"\ncost = -5",
       "test.toml:3:8: quota[0].cost: must not be negative"},
      {"[[quota]]\nscope = \"user\"\nsubject = \"alice\"\ntokens = 1\n[[quota]]\nscope = "
       "\"user\"\nsubject = \"alice\"\ncost = 1",
       "test.toml:5:1: quota[1]: duplicate quota for user alice (window month)"},
      {"[[quota]]\nscope = \"user\"\ntokens = 1\n[[quota]]\nscope = \"user\"\nsubject = "
       "\"*\"\ncost = 1",
       "test.toml:4:1: quota[1]: duplicate quota for user * (window month)"},
      {"quota = \"x\"", "test.toml:1:9: quota: expected [[quota]] tables"},

      // include
      {"include = \"a.toml\"", "test.toml:1:11: include: expected an array of file names"},
      {"include = [1]", "test.toml:1:12: include: expected a string"},

      // TOML syntax, as toml++ describes it
      {"[server\nlisten = 1",
       "test.toml:1:8: Error while parsing table header: expected ']', saw '\\n'"},
      {"x = \n", "test.toml:1:5: Error while parsing key-value pair: expected value, saw '\\n'"},
      {"a = 1\na = 2",
       "test.toml:2:5: Error while parsing key-value pair: cannot redefine existing integer 'a'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("config - strings that are not valid UTF-8 are refused with file:line:col") {
  // toml++ checks every byte of the file and every escape: names that reach the store or the
  // page (prices, quota subjects, token names, the currency) are valid UTF-8 or nothing loads.
  const std::string T = "[[auth.tokens]]\nsha256 = \"" + std::string(64, 'a') +
                        "\"\nscopes = [\"read\"]\nname = ";      // the name on line 4
  const std::string P = "[[pricing]]\ninput = 1\noutput = 1\n";  // lines 1-3
  const std::string Q = "[[quota]]\nscope = \"user\"\ntokens = 1\nsubject = ";  // line 4
  const std::string bad = "Encountered invalid utf-8 sequence";
  const std::string surrogate =
      "Error while parsing unicode scalar sequence: unicode surrogates (U+D800 - U+DFFF) are "
      "explicitly prohibited";
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {T + "\"ci\xED\xB0\x80\"", "test.toml:4:10: " + bad},  // \udc00 as RapidJSON decoded it
      {T + "\"ci\\udc00\"", "test.toml:4:17: " + surrogate},
      {P + "provider = \"p\xC0\x80\"\nmodel = \"m\"", "test.toml:4:13: " + bad},  // overlong
      {P + "provider = \"p\"\nmodel = 'm\xFF'", "test.toml:5:10: " + bad},
      {P + "provider = \"p\"\nmodel = \"\"\"m\\U00110000\"\"\"",
       "test.toml:5:23: Error while parsing unicode scalar sequence: values greater than U+10FFFF "
       "are invalid"},
      {Q + "\"a\xF4\x90\x80\x80\"", "test.toml:4:12: " + bad},
      {Q + "'''a\xED\xA0\x80'''", "test.toml:4:14: " + bad},
      {Q + "\"a\\uDFFF\"", "test.toml:4:19: " + surrogate},
      {"[billing]\ncurrency = \"US\xE2\x82\"", "test.toml:2:14: " + bad},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
  auto inc = parse("include = [\"inc/q.toml\"]", {{"/cfg/inc/q.toml", Q + "\"\\udc00\""}});
  REQUIRE_FALSE(inc.ok());
  CHECK(inc.error().message == "/cfg/inc/q.toml:4:18: " + surrogate);
}

TEST_CASE("config - errors in included files name that file") {
  const Files files = {
      {"/cfg/inc/server.toml", "[server]\nlisten = \"0.0.0.0:1\"\n"},
      {"/cfg/inc/nested.toml", "include = [\"other.toml\"]\n"},
      {"/cfg/inc/syntax.toml", "[[pricing]]\nprovider = \n"},
      {"/cfg/inc/cny.toml",
       "\n[[pricing]]\nprovider = \"q\"\nmodel = \"m\"\ncurrency = \"CNY\"\n"
       "input = 1\noutput = 1\n"},
      {"/cfg/inc/dup.toml",
       "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n"
       "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 2\noutput = 2\n"},
      {"/cfg/inc/quota.toml", "[[quota]]\nscope = \"user\"\ntokens = 5\n"},
      {"/cfg/inc/neg.toml",
       "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = -1\n"},
  };
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"include = [\"inc/missing.toml\"]",
       "test.toml:1:12: include \"/cfg/inc/missing.toml\": no such file"},
      {"include = [\"inc/server.toml\"]", "/cfg/inc/server.toml:1:1: unknown key \"server\""},
      {"include = [\"inc/nested.toml\"]", "/cfg/inc/nested.toml:1:11: unknown key \"include\""},
      {"include = [\"inc/syntax.toml\"]",
       "/cfg/inc/syntax.toml:2:12: Error while parsing key-value pair: expected value, saw '\\n'"},
      {"include = [\"inc/cny.toml\"]",
       "/cfg/inc/cny.toml:2:1: pricing.currency: no exchange rate for CNY in billing.rates "
       "(billing currency is USD)"},
      {"include = [\"inc/dup.toml\"]",
       "/cfg/inc/dup.toml:6:1: pricing[1]: duplicate price for p/m"},
      {"include = [\"inc/neg.toml\"]",
       "/cfg/inc/neg.toml:5:10: pricing[0].output: must not be negative"},
      // included quotas come first; the including file's duplicate is the error
      {"include = [\"inc/quota.toml\"]\n[[quota]]\nscope = \"user\"\nsubject = \"*\"\ncost = 1",
       "test.toml:2:1: quota[0]: duplicate quota for user * (window month)"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse(c.text, files);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("config - load_config_file") {
  SECTION("a missing file") {
    auto r = load_config_file("/nonexistent/ai-usage.toml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "/nonexistent/ai-usage.toml: cannot open file: No such file or directory");
  }

  SECTION("a missing include, relative to the including file") {
    auto r = load_config_file(kFixtures + "/include_missing.toml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          kFixtures + "/include_missing.toml:1:34: include \"" + kFixtures +
              "/no-such-file.toml\": cannot open file: No such file or directory");
  }

  SECTION("an included file may hold only [[pricing]] and [[quota]]") {
    auto r = load_config_file(kFixtures + "/include_bad.toml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == kFixtures + "/prices/bad.toml:7:1: unknown key \"server\"");
  }

  SECTION("config/example.toml as shipped") {
    auto r = load_config_file(AIUSAGE_SOURCE_DIR "/config/example.toml");
    if (!r.ok()) FAIL(r.error().message);
    CHECK(r->listen == "127.0.0.1:9477");
    CHECK(r->currency == "USD");
    CHECK(r->timezone == "UTC");
    CHECK(r->prices.prices().size() > 100);  // config/pricing.toml was included
    // 1000 × 3.00 + 500 × 15.00 = 10500 per 1M → 0.0105 USD (the README's example)
    CHECK(quote(*r, "anthropic", "claude-3-5-sonnet-20241022", k2025_01_15, {1000, 0, 0, 500}) ==
          10'500'000);
  }
}

TEST_CASE("config - the file and every include must be a regular file within the size bound") {
  TempDir dir;
  auto write = [](const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  write(dir.file("prices.toml"),
        "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 2\n");
  std::filesystem::create_symlink(dir.file("prices.toml"), dir.file("link.toml"));
  std::filesystem::create_directory(dir.file("sub"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);  // no writer: opening it could block
  // A comment: only the size is wrong. One byte more than the bound, and the bound exactly.
  write(dir.file("big.toml"), "#" + std::string(kMaxConfigFileBytes, 'x'));
  write(dir.file("bound.toml"), "#" + std::string(kMaxConfigFileBytes - 1, 'x'));
  struct Case {
    std::string name;   // in `dir` unless absolute
    std::string error;  // empty: accepted
  };
  const Case cases[] = {
      {"prices.toml", ""},
      {"link.toml", ""},  // a symlink to a regular file is fine
      {"bound.toml", ""},
      {"sub", "is a directory, not a regular file"},
      {"/dev/zero", "is a character device, not a regular file"},
      {"fifo", "is a FIFO, not a regular file"},
      {"big.toml", "larger than 16 MiB, the most a configuration file may hold"},
      {"missing.toml", "cannot open file: No such file or directory"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string path = c.name[0] == '/' ? c.name : dir.file(c.name);
    // As an include: refused at the entry's position in the including file.
    write(dir.file("main.toml"), "# prices come from elsewhere\ninclude = [\"" + c.name + "\"]\n");
    auto included = load_config_file(dir.file("main.toml"));
    // As the configuration file itself.
    auto direct = load_config_file(path);
    if (c.error.empty()) {
      REQUIRE(included.ok());
      CHECK(included->prices.prices().size() == (c.name == "bound.toml" ? 0u : 1u));
      CHECK(direct.ok());
    } else {
      REQUIRE_FALSE(included.ok());
      CHECK(included.error().message ==
            dir.file("main.toml") + ":2:12: include \"" + path + "\": " + c.error);
      REQUIRE_FALSE(direct.ok());
      CHECK(direct.error().message == path + ": " + c.error);
    }
  }
}

TEST_CASE("config - default_config") {
  const Config c = default_config();
  CHECK(c.listen == "127.0.0.1:9477");
  CHECK(c.storage_path == "ai-usage.db");
  CHECK(c.synchronous_full);
  CHECK(c.group_commit);
  CHECK(c.currency == "USD");
  CHECK(c.timezone == "UTC");
  CHECK(c.prices.billing_currency() == "USD");

  SECTION("the embedded files are config/example.toml and config/pricing.toml") {
    auto shipped = load_config_file(AIUSAGE_SOURCE_DIR "/config/example.toml");
    REQUIRE(shipped.ok());
    const auto& a = c.prices.prices();
    const auto& b = shipped->prices.prices();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i, a[i].provider, a[i].model);
      CHECK(a[i].provider == b[i].provider);
      CHECK(a[i].model == b[i].model);
      CHECK(a[i].currency == b[i].currency);
      CHECK(a[i].input == b[i].input);
      CHECK(a[i].output == b[i].output);
      CHECK(a[i].cache_read == b[i].cache_read);
      CHECK(a[i].cache_write == b[i].cache_write);
      CHECK(a[i].effective_from_ms == b[i].effective_from_ms);
    }
  }

  SECTION("prices, including the CNY rate") {
    struct Case {
      const char* provider;
      const char* model;
      std::int64_t at_ms;
      TokenCounts tokens;
      Nanos expected;
      const char* why;
    };
    const Case cases[] = {
        // 1000 × 3.00 + 500 × 15.00 = 10500 → 0.0105 USD
        {"anthropic",
         "claude-3-5-sonnet-20241022",
         k2025_01_15,
         {1000, 0, 0, 500},
         10'500'000,
         "dated snapshot"},
        // 1000 × 2.4 + 500 × 9.6 = 7200 → 0.0072 CNY × 0.138 = 0.0009936 USD
        {"qwen", "qwen-max", k2025_01_15, {1000, 0, 0, 500}, 993'600, "CNY converted at 0.138"},
        // gpt-4o: 5.00 / 15.00 until 2024-08-06, then 2.50 / 10.00
        {"openai",
         "gpt-4o",
         k2024_08_06 - 1,
         {1000, 0, 0, 500},
         12'500'000,
         "1000 × 5 + 500 × 15 = 12500"},
        {"openai",
         "gpt-4o",
         k2024_08_06,
         {1000, 0, 0, 500},
         7'500'000,
         "1000 × 2.5 + 500 × 10 = 7500"},
        {"openai",
         "gpt-4o-mini",
         k2025_01_15,
         {1'000'000, 0, 0, 0},
         150'000'000,
         "not gpt-4o: 0.15"},
        {"example",
         "example-model",
         k2025_01_15,
         {1'000'000, 0, 0, 1'000'000},
         3 * kUnit,
         "example.toml's own entry"},
        {"ollama", "llama3:8b", k2025_01_15, {1'000'000, 0, 0, 1'000'000}, 0, "free local models"},
    };
    for (const auto& cs : cases) {
      INFO(cs.provider << "/" << cs.model << ": " << cs.why);
      CHECK(quote(c, cs.provider, cs.model, cs.at_ms, cs.tokens) == cs.expected);
    }
  }

  SECTION("quotas") {
    REQUIRE(c.quotas.size() == 2);
    QuotaLimits user = limits_for(c.quotas, Scope::user, "anyone");
    CHECK(user.tokens == 1'000'000);
    CHECK(user.cost == 100 * kUnit);
    QuotaLimits global = limits_for(c.quotas, Scope::global, "");
    CHECK_FALSE(global.tokens.has_value());
    CHECK(global.cost == 1000 * kUnit);
    QuotaLimits project = limits_for(c.quotas, Scope::project, "p");
    CHECK_FALSE(project.tokens.has_value());
    CHECK_FALSE(project.cost.has_value());
  }
}

TEST_CASE("config - effective_from as a TOML date-time") {
  // A TOML offset date-time is RFC 3339, so it is accepted like the quoted string.
  auto r = parse(
      "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n"
      "effective_from = 2024-08-06T08:00:00+08:00\n");
  if (!r.ok()) FAIL(r.error().message);
  CHECK(r->prices.prices().front().effective_from_ms == k2024_08_06);
}
