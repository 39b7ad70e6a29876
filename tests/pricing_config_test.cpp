// The [[pricing]] keys that choose an entry (aliases, match) and price long prompts (tiers).
#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "aiusage/config.hpp"

using namespace aiusage;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;
constexpr std::int64_t kSometime = 1'705'312'800'000;  // 2024-01-15T10:00:00Z

Result<Config> parse(const std::string& text) {
  return parse_config(text, "test.toml", "/cfg", [](const std::string&) -> std::string {
    throw std::runtime_error("no such file");
  });
}

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
