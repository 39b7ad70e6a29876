// The [[pricing]] keys that choose an entry (aliases, match) and price long prompts (tiers).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "aiusage/config.hpp"
#include "support/test_server.hpp"

using namespace aiusage;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;
constexpr std::int64_t kSometime = 1'705'312'800'000;  // 2024-01-15T10:00:00Z

Result<Config> parse(const std::string& text) { return testing::parse_test_toml(text); }

}  // namespace

TEST_CASE("pricing config - aliases and match patterns") {
  auto r = parse(R"([[pricing]]
provider = "moonshot"
model = "kimi-k2"
aliases = ["kimi-k2-instruct", "moonshot/kimi-k2"]
input = 1
output = 2

[[pricing]]
provider = "groq"
model = "llama-4-scout"
match = "(meta-llama/)?llama-4-scout-17b-16e(-instruct)?"
input = 3
output = 4
)");
  REQUIRE(r.ok());
  struct Case {
    const char* provider;
    const char* model;
    Nanos input;  // 0 = unpriced
  };
  const Case cases[] = {
      {"moonshot", "kimi-k2", 1 * kUnit},
      {"moonshot", "kimi-k2-instruct", 1 * kUnit},
      {"moonshot", "moonshot/kimi-k2", 1 * kUnit},
      {"moonshot", "kimi-k2-thinking", 0},
      {"groq", "llama-4-scout", 3 * kUnit},
      {"groq", "meta-llama/llama-4-scout-17b-16e-instruct", 3 * kUnit},
      {"groq", "llama-4-scout-17b-16e", 3 * kUnit},
      {"groq", "llama-4-scout-17b-16e-instruct-fast", 0},  // anchored at the end too
      {"groq", "llama-4-maverick", 0},
  };
  for (const Case& c : cases) {
    INFO(c.provider << "/" << c.model);
    const Price* p = r->prices.find(c.provider, c.model, kSometime);
    if (c.input == 0) {
      CHECK(p == nullptr);
    } else {
      REQUIRE(p != nullptr);
      CHECK(p->input == c.input);
    }
  }
}

TEST_CASE("pricing config - provider names are normalized as records' are") {
  auto r = parse(R"([[pricing]]
provider = "Gemini"
model = "gemini-2.5-pro"
input = 1
output = 2
)");
  REQUIRE(r.ok());
  REQUIRE(r->prices.prices().size() == 1);
  CHECK(r->prices.prices()[0].provider == "google");
  for (const char* provider : {"google", "gemini", "vertex_ai", "GCP.Vertex_AI"}) {
    CAPTURE(provider);
    const Price* p = r->prices.find(provider, "gemini-2.5-pro", kSometime);
    REQUIRE(p != nullptr);
    CHECK(p->input == kUnit);
  }
}

TEST_CASE("pricing config - errors name the entry") {
  const std::string P = "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n";
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {P + "match = \"gpt-(\"",
       "test.toml:6:9: pricing[0].match: \"gpt-(\" of p/m is not a valid regular expression"},
      {P + "match = \"\"", "test.toml:6:9: pricing[0].match: must not be empty"},
      {P + "match = 1", "test.toml:6:9: pricing[0].match: expected a string"},
      {P + "aliases = \"m2\"", "test.toml:6:11: pricing[0].aliases: expected an array"},
      {P + "aliases = [1]", "test.toml:6:12: pricing[0].aliases: expected a string"},
      {P + "aliases = [\"\"]", "test.toml:6:12: pricing[0].aliases: must not be empty"},
      {P + "aliases = [\"a\", \"a\"]", "test.toml:6:17: pricing[0].aliases: \"a\" is listed twice"},
      {P + "aliases = [\"m\"]",
       "test.toml:1:1: pricing.aliases: \"m\" of p/m already names p/m (test.toml:1:1)"},
      {P + "\n[[pricing]]\nprovider = \"p\"\nmodel = \"n\"\ninput = 1\noutput = 1\naliases = "
           "[\"m\"]",
       "test.toml:7:1: pricing.aliases: \"m\" of p/n already names p/m (test.toml:1:1)"},
      {P + "aliases = [\"x\"]\n[[pricing]]\nprovider = \"p\"\nmodel = \"n\"\ninput = 1\noutput = "
           "1\naliases = [\"x\"]",
       "test.toml:7:1: pricing.aliases: \"x\" of p/n already names p/m (test.toml:1:1)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parse(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.substr(0, c.message.size()) == c.message);
  }

  SECTION("the same alias on another provider or date is fine") {
    auto r = parse(P +
                   "aliases = [\"x\"]\n[[pricing]]\nprovider = \"q\"\nmodel = \"n\"\ninput = "
                   "1\noutput = 1\naliases = [\"x\"]\n[[pricing]]\nprovider = \"p\"\nmodel = "
                   "\"m\"\ninput = 2\noutput = 2\neffective_from = \"2025-01-01\"\naliases = "
                   "[\"x\"]\n");
    REQUIRE(r.ok());
    CHECK(r->prices.find("p", "x", kSometime)->input == 1 * kUnit);
    CHECK(r->prices.find("q", "x", kSometime)->model == "n");
  }
}

TEST_CASE("pricing config - long-context tiers") {
  auto r = parse(R"([[pricing]]
provider = "google"
model = "gemini-2.5-pro"
input = "1.25"
output = 10
cache_read = 0.125
[[pricing.tiers]]
above_prompt_tokens = 200000
input = 2.5
output = 15
cache_read = "0.25"
[[pricing.tiers]]
above_prompt_tokens = 1000000
input = 5
output = 30
)");
  REQUIRE(r.ok());
  const Price* p = r->prices.find("google", "gemini-2.5-pro", kSometime);
  REQUIRE(p != nullptr);
  REQUIRE(p->tiers.size() == 2);

  SECTION("a tier's omitted classes default to the tier's input") {
    CHECK(p->cache_write == 1'250'000'000);  // the entry's input
    CHECK(p->tiers[0].above_prompt_tokens == 200'000);
    CHECK(p->tiers[0].cache_read == 250'000'000);
    CHECK(p->tiers[0].cache_write == 2'500'000'000);
    CHECK(p->tiers[1].cache_read == 5 * kUnit);
    CHECK(p->tiers[1].cache_write == 5 * kUnit);
  }

  SECTION("exactly at and one above each threshold") {
    struct Case {
      TokenCounts tokens;
      Nanos expected;
    };
    const Case cases[] = {
        {{200'000, 0, 0, 1000}, 260'000'000},   // 200000 × 1.25 + 1000 × 10
        {{200'001, 0, 0, 1000}, 515'002'500},   // 200001 × 2.50 + 1000 × 15
        {{0, 200'001, 0, 0}, 50'000'250},       // 200001 × 0.25
        {{0, 0, 200'001, 0}, 500'002'500},      // 200001 × 2.50 (cache_write = input)
        {{1'000'000, 0, 0, 0}, 2'500'000'000},  // 1000000 × 2.50
        {{1'000'001, 0, 0, 0}, 5'000'005'000},  // 1000001 × 5.00
        {{0, 1'000'001, 0, 0}, 5'000'005'000},  // cache_read = the tier's input
    };
    for (const Case& c : cases) {
      CAPTURE(c.tokens.input, c.tokens.cache_read, c.tokens.cache_write);
      CHECK(r->prices.quote("google", "gemini-2.5-pro", kSometime, c.tokens).cost == c.expected);
    }
  }
}

TEST_CASE("pricing config - detail token classes") {
  auto r = parse(R"([[pricing]]
provider = "openai"
model = "gpt-4o-audio-preview"
input = 2.5
output = 10
cache_write = 3.125
audio_input = 40
audio_output = "80"
reasoning = 0.000000001
[[pricing.tiers]]
above_prompt_tokens = 100000
input = 5
output = 20
cache_write_1h = 7
)");
  REQUIRE(r.ok());
  const Price* p = r->prices.find("openai", "gpt-4o-audio-preview", kSometime);
  REQUIRE(p != nullptr);
  struct Case {
    TokenDetail d;
    Nanos entry, tier;
  };
  const Case cases[] = {
      {kCacheWrite1h, 3'125'000'000, 7 * kUnit},  // the entry's cache_write; the tier's own
      {kAudioInput, 40 * kUnit, 5 * kUnit},       // given; the tier's input
      {kImageInput, 2'500'000'000, 5 * kUnit},    // input
      {kReasoning, 1, 20 * kUnit},                // given (one nano); the tier's output
      {kAudioOutput, 80 * kUnit, 20 * kUnit},
      {kImageOutput, 10 * kUnit, 20 * kUnit},
  };
  for (const Case& c : cases) {
    INFO(kTokenDetailInfo[c.d].name);
    CHECK(p->details[c.d] == c.entry);
    CHECK(p->tiers[0].details[c.d] == c.tier);
  }

  SECTION("a price is read as the decimal written, never rounded through a double") {
    auto bad = parse(
        "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n"
        "reasoning = 0.0000000001\n");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("pricing[0].reasoning") &&
                                        Catch::Contains("more than 9 decimal places"));
    auto exact =
        parse("[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 0.1\noutput = 3e-06\n");
    REQUIRE(exact.ok());
    const Price* e = exact->prices.find("p", "m", kSometime);
    CHECK(e->input == 100'000'000);
    CHECK(e->output == 3'000);
  }
  SECTION("an unknown class is refused") {
    auto bad = parse(
        "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n"
        "video_input = 1\n");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("unknown key \"pricing[0].video_input\""));
  }
}

TEST_CASE("pricing config - service tiers, per-request and tool prices") {
  const std::string base = "[[pricing]]\nprovider = \"openai\"\nmodel = \"gpt-5.4\"\n";
  auto r = parse(base + "input = 2.5\noutput = 15\nper_request = \"0.001\"\n" +
                 "tool_calls = { web_search = 10, \"file_search\" = 2.5 }\n" + base +
                 "service_tier = \"priority\"\ninput = 5\noutput = 30\n");
  REQUIRE(r.ok());
  const Price* standard = r->prices.find("openai", "gpt-5.4", kSometime);
  const Price* priority = r->prices.find("openai", "gpt-5.4", kSometime, ServiceTier::priority);
  REQUIRE(standard != nullptr);
  REQUIRE(priority != nullptr);
  CHECK(standard->per_request == 1'000'000);
  CHECK(standard->tool_prices.at("web_search") == 10 * kUnit);
  CHECK(standard->tool_prices.at("file_search") == 2'500'000'000);
  CHECK(standard->source == "test.toml:1:1");
  CHECK(priority->service_tier == ServiceTier::priority);
  CHECK(priority->input == 5 * kUnit);

  struct Case {
    std::string toml;
    const char* message;
  };
  const Case errors[] = {
      {base + "input = 1\noutput = 1\nservice_tier = \"turbo\"\n",
       "pricing[0].service_tier: \"turbo\" is not one of"},
      {base + "input = 1\noutput = 1\ntool_calls = 3\n", "pricing[0].tool_calls: expected a table"},
      {base + "input = 1\noutput = 1\ntool_calls = { \"web search\" = 1 }\n",
       "\"web search\" is not a tool name"},
      {base + "input = 1\noutput = 1\ntool_calls = { web_search = -1 }\n",
       "pricing[0].tool_calls.web_search: must not be negative"},
      {base + "input = 1\noutput = 1\nper_request = 10001\n",
       "pricing[0].per_request: must be at most"},
      {base + "input = 1\noutput = 1\n" + base + "input = 2\noutput = 2\n",
       "duplicate price for openai/gpt-5.4"},
  };
  for (const Case& c : errors) {
    CAPTURE(c.toml);
    auto bad = parse(c.toml);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains(c.message));
  }
}

TEST_CASE("pricing config - tier errors name file:line") {
  const std::string P = "[[pricing]]\nprovider = \"p\"\nmodel = \"m\"\ninput = 1\noutput = 1\n";
  auto tier = [](const std::string& body) { return "[[pricing.tiers]]\n" + body; };
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {P + tier("input = 2\noutput = 2\n"),
       "test.toml:6:1: pricing[0].tiers[0].above_prompt_tokens: missing"},
      {P + tier("above_prompt_tokens = 0\ninput = 2\noutput = 2\n"),
       "test.toml:7:23: pricing[0].tiers[0].above_prompt_tokens: must be greater than 0"},
      {P + tier("above_prompt_tokens = 100000001\ninput = 2\noutput = 2\n"),
       "test.toml:7:23: pricing[0].tiers[0].above_prompt_tokens: must be at most 100000000"},
      {P + tier("above_prompt_tokens = \"1\"\ninput = 2\noutput = 2\n"),
       "test.toml:7:23: pricing[0].tiers[0].above_prompt_tokens: expected an integer"},
      {P + tier("above_prompt_tokens = 10\noutput = 2\n"),
       "test.toml:6:1: pricing[0].tiers[0].input: missing"},
      {P + tier("above_prompt_tokens = 10\ninput = 2\noutput = -1\n"),
       "test.toml:9:10: pricing[0].tiers[0].output: must not be negative"},
      {P + tier("above_prompt_tokens = 10\ninput = 2\noutput = 2\nmodel = \"x\"\n"),
       "test.toml:10:9: unknown key \"pricing[0].tiers[0].model\""},
      {P + tier("above_prompt_tokens = 10\ninput = 2\noutput = 2\n") +
           tier("above_prompt_tokens = 10\ninput = 3\noutput = 3\n"),
       "test.toml:11:23: pricing[0].tiers[1].above_prompt_tokens: must be greater than the "
       "previous tier's (10)"},
      {P + tier("above_prompt_tokens = 20\ninput = 2\noutput = 2\n") +
           tier("above_prompt_tokens = 10\ninput = 3\noutput = 3\n"),
       "test.toml:11:23: pricing[0].tiers[1].above_prompt_tokens: must be greater than the "
       "previous tier's (20)"},
      {P + "tiers = 1\n", "test.toml:6:9: pricing[0].tiers: expected [[pricing[0].tiers]] tables"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parse(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.substr(0, c.message.size()) == c.message);
  }
}

TEST_CASE("pricing config - the shipped long-context tiers") {
  auto r = load_config_file(AIUSAGE_SOURCE_DIR "/config/example.toml");
  if (!r.ok()) FAIL(r.error().message);
  struct Case {
    const char* provider;
    const char* model;
    std::int64_t threshold;
    Nanos at;     // threshold input tokens + 1000 output tokens, the entry's prices
    Nanos above;  // one more input token, the tier's prices
  };
  const Case cases[] = {
      // 200000 × 1.25 + 1000 × 10 | 200001 × 2.50 + 1000 × 15
      {"google", "gemini-2.5-pro", 200'000, 260'000'000, 515'002'500},
      // 200000 × 3 + 1000 × 15 | 200001 × 6 + 1000 × 22.50
      {"anthropic", "claude-sonnet-4", 200'000, 615'000'000, 1'222'506'000},
      {"anthropic", "claude-sonnet-4-20250514", 200'000, 615'000'000, 1'222'506'000},
      {"anthropic", "claude-sonnet-4-5-20250929", 200'000, 615'000'000, 1'222'506'000},
      // 272000 × 2.50 + 1000 × 15 | 272001 × 5 + 1000 × 22.50
      {"openai", "gpt-5.4", 272'000, 695'000'000, 1'382'505'000},
      // 272000 × 5 + 1000 × 30 | 272001 × 10 + 1000 × 45
      {"openai", "gpt-5.5", 272'000, 1'390'000'000, 2'765'010'000},
      // launch prices (kSometime is before every later cut): as gpt-5.4
      {"openai", "gpt-5.6-terra", 272'000, 695'000'000, 1'382'505'000},
  };
  for (const Case& c : cases) {
    CAPTURE(c.provider, c.model);
    const CostQuote at = r->prices.quote(c.provider, c.model, kSometime, {c.threshold, 0, 0, 1000});
    const CostQuote above =
        r->prices.quote(c.provider, c.model, kSometime, {c.threshold + 1, 0, 0, 1000});
    CHECK(at.cost == c.at);
    CHECK(at.tier == nullptr);
    CHECK(above.cost == c.above);
    REQUIRE(above.tier != nullptr);
    CHECK(above.tier->above_prompt_tokens == c.threshold);
  }
}

TEST_CASE("pricing config - the shipped Anthropic batch prices are half the standard ones") {
  auto r = load_config_file(AIUSAGE_SOURCE_DIR "/config/example.toml");
  if (!r.ok()) FAIL(r.error().message);
  std::size_t batches = 0;
  for (const Price& b : r->prices.prices()) {
    if (b.provider != "anthropic" || b.service_tier != ServiceTier::batch) continue;
    ++batches;
    CAPTURE(b.model);
    const Price* s = r->prices.find("anthropic", b.model, kSometime);
    REQUIRE(s != nullptr);
    REQUIRE(s->service_tier == ServiceTier::standard);
    CHECK(2 * b.input == s->input);
    CHECK(2 * b.output == s->output);
    CHECK(2 * b.cache_read == s->cache_read);
    CHECK(2 * b.cache_write == s->cache_write);
    for (std::size_t d = 0; d < kTokenDetails; ++d) CHECK(2 * b.details[d] == s->details[d]);
    REQUIRE(b.tiers.size() == s->tiers.size());
    for (std::size_t t = 0; t < b.tiers.size(); ++t) {
      CHECK(b.tiers[t].above_prompt_tokens == s->tiers[t].above_prompt_tokens);
      CHECK(2 * b.tiers[t].input == s->tiers[t].input);
      CHECK(2 * b.tiers[t].output == s->tiers[t].output);
    }
    CHECK(b.tool_prices == s->tool_prices);  // the web search fee is not discounted
  }
  CHECK(batches == 12);
  // A batch record finds its entry: 1000 × 1.50 + 100 × 7.50 = 2250 per 1M.
  BilledCall call{{1000, 0, 0, 100}};
  call.tier = ServiceTier::batch;
  CHECK(r->prices.quote_call("anthropic", "claude-sonnet-4-5-20250929", kSometime, call).cost ==
        2'250'000);
}
