// LiteLLM's price catalog read into price entries: the decimal text of each price, the mapping of
// its keys (tests/fixtures/catalog/litellm.json), what is skipped, and the errors.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "aiusage/catalog.hpp"
#include "aiusage/provider.hpp"
#include "support/text_file.hpp"

using namespace aiusage;
using aiusage::testing::read_text_file;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;
const std::string kFixture = AIUSAGE_SOURCE_DIR "/tests/fixtures/catalog/litellm.json";

const Price* entry(const CatalogPrices& c, const std::string& provider, const std::string& model,
                   ServiceTier tier = ServiceTier::standard) {
  for (const Price& p : c.prices)
    if (p.provider == provider && p.model == model && p.service_tier == tier) return &p;
  return nullptr;
}

// input, output, cache_read, cache_write, then the detail classes in kTokenDetailInfo order.
std::vector<Nanos> classes(const ClassPrices& c) {
  std::vector<Nanos> out = {c.input, c.output, c.cache_read, c.cache_write};
  out.insert(out.end(), c.details.begin(), c.details.end());
  return out;
}

}  // namespace

TEST_CASE("catalog - a price's decimal text, shifted exactly") {
  struct Case {
    const char* text;
    int shift;
    Nanos nanos;  // -1: refused
    const char* message;
  };
  const Case cases[] = {
      {"3e-06", 6, 3 * kUnit, ""},
      {"1.5e-07", 6, 150'000'000, ""},
      {"1.5E-5", 6, 15 * kUnit, ""},
      {"0.00000025", 6, 250'000'000, ""},
      {"30e-7", 6, 3 * kUnit, ""},
      {"2.5e+0", 0, 2'500'000'000, ""},
      {"1e-15", 6, 1, ""},  // one nano per 1M tokens: the finest price
      {"0", 6, 0, ""},
      {"0.0", 6, 0, ""},
      {"-0.0", 6, 0, ""},
      {"0e-99999", 6, 0, ""},
      {"0.0275", 3, 27'500'000'000, ""},
      {"0.005", 0, 5'000'000, ""},
      {"1e-2", 6, kMaxPriceNanos, ""},
      {"1e-16", 6, -1, "\"1e-16\" x 1e6 is finer than one nano (not rounded)"},
      {"2.9999900000000002e-06", 6, -1,
       "\"2.9999900000000002e-06\" x 1e6 is finer than one nano (not rounded)"},
      {"1e-400", 6, -1, "\"1e-400\" x 1e6 is finer than one nano (not rounded)"},
      {"-1e-06", 6, -1, "\"-1e-06\" x 1e6 is negative"},
      {"1.0000000001e-2", 6, -1, "\"1.0000000001e-2\" x 1e6 is above 10000"},
      {"1e400", 6, -1, "\"1e400\" x 1e6 is above 10000"},
      {"10001", 0, -1, "\"10001\" is above 10000"},
      {"abc", 6, -1, "\"abc\" x 1e6 is not a number"},
      {"1.", 6, -1, "\"1.\" x 1e6 is not a number"},
      {".5", 6, -1, "\".5\" x 1e6 is not a number"},
      {"1e", 6, -1, "\"1e\" x 1e6 is not a number"},
      {"", 6, -1, "\"\" x 1e6 is not a number"},
  };
  for (const Case& c : cases) {
    INFO(c.text << " x 1e" << c.shift);
    Result<Nanos> r = scaled_decimal_nanos(c.text, c.shift);
    if (c.nanos < 0) {
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    } else {
      REQUIRE(r.ok());
      CHECK(*r == c.nanos);
    }
  }
}

TEST_CASE("catalog - LiteLLM's provider names") {
  const std::pair<const char*, const char*> cases[] = {
      {"openai", "openai"},
      {"gemini", "google"},
      {"vertex_ai-language-models", "google"},
      {"vertex_ai-anthropic_models", "google"},
      {"bedrock", "bedrock"},
      {"bedrock_converse", "bedrock"},
      {"text-completion-openai", "openai"},
      {"dashscope", "qwen"},
      {"xai", "xai"},
      {"openrouter", "openrouter"},
  };
  for (const auto& [litellm, ours] : cases) {
    INFO(litellm);
    CHECK(normalize_provider(litellm) == ours);
  }
}

TEST_CASE("catalog - the LiteLLM mapping") {
  auto r = read_litellm_catalog(read_text_file(kFixture), "litellm.json");
  REQUIRE(r.ok());
  const CatalogPrices& c = *r;

  SECTION("every token class, read exactly; the omitted ones as the TOML reader defaults them") {
    const Price* p = entry(c, "openai", "gpt-test");
    REQUIRE(p != nullptr);
    CHECK(p->currency == "USD");
    CHECK(p->source == "litellm.json:gpt-test");
    CHECK(p->effective_from_ms == INT64_MIN);
    // input 2.5, output 15, cache_read 0.25, cache_write = input; cache_write_1h = cache_write,
    // audio_input 40, image_input 5, reasoning 20, audio_output 80, image_output 40.
    CHECK(classes(*p) == std::vector<Nanos>{2'500'000'000, 15 * kUnit, 250'000'000, 2'500'000'000,
                                            2'500'000'000, 40 * kUnit, 5 * kUnit, 20 * kUnit,
                                            80 * kUnit, 40 * kUnit});
    const Price* a = entry(c, "anthropic", "claude-test");
    REQUIRE(a != nullptr);
    CHECK(classes(*a) == std::vector<Nanos>{3 * kUnit, 15 * kUnit, 300'000'000, 3'750'000'000,
                                            6 * kUnit, 3 * kUnit, 3 * kUnit, 15 * kUnit, 15 * kUnit,
                                            15 * kUnit});
    const Price* free = entry(c, "ollama", "free-test");
    REQUIRE(free != nullptr);
    CHECK(classes(*free) == std::vector<Nanos>(10, 0));
  }

  SECTION("a key's provider prefix is dropped only when it names the entry's provider") {
    CHECK(entry(c, "anthropic", "claude-test") != nullptr);
    CHECK(entry(c, "xai", "grok-test") != nullptr);
    CHECK(entry(c, "google", "gemini-test") != nullptr);  // gemini -> google
    CHECK(entry(c, "openrouter", "openai/gpt-test") != nullptr);
    // Bedrock and Vertex keys keep their own provider's prices.
    const Price* v = entry(c, "google", "claude-test@20250101");
    REQUIRE(v != nullptr);
    CHECK(v->input == 3'300'000'000);
    const Price* b = entry(c, "bedrock", "us.anthropic.claude-test-v1:0");
    REQUIRE(b != nullptr);
    CHECK(b->input == 3'300'000'000);  // the first key; "bedrock/us.anthropic..." is a duplicate
    CHECK(b->source == "litellm.json:us.anthropic.claude-test-v1:0");
    CHECK(entry(c, "openai", "gpt-completion-test") != nullptr);  // text-completion-openai
    CHECK(entry(c, "openai", "o-test-pro")->output == 600 * kUnit);
  }

  SECTION("long-context tiers, ascending, a tier's omitted classes from its own prices") {
    const Price* a = entry(c, "anthropic", "claude-test");
    REQUIRE(a->tiers.size() == 1);
    CHECK(a->tiers[0].above_prompt_tokens == 200'000);
    CHECK(classes(a->tiers[0]) ==
          std::vector<Nanos>{6 * kUnit, 22'500'000'000, 600'000'000, 7'500'000'000, 12 * kUnit,
                             6 * kUnit, 6 * kUnit, 22'500'000'000, 22'500'000'000, 22'500'000'000});
    const Price* x = entry(c, "xai", "grok-test");
    REQUIRE(x->tiers.size() == 1);
    CHECK(x->tiers[0].above_prompt_tokens == 128'000);
    CHECK(x->tiers[0].cache_read == 6 * kUnit);  // the tier's input, as in [[pricing.tiers]]
    const Price* g = entry(c, "google", "gemini-test");
    REQUIRE(g->tiers.size() == 2);
    CHECK(g->tiers[0].above_prompt_tokens == 128'000);
    CHECK(g->tiers[0].input == 2 * kUnit);
    CHECK(g->tiers[1].above_prompt_tokens == 200'000);
    CHECK(g->tiers[1].output == 15 * kUnit);
    const Price* p = entry(c, "openai", "gpt-test");
    REQUIRE(p->tiers.size() == 1);
    CHECK(p->tiers[0].above_prompt_tokens == 272'000);
    CHECK(classes(p->tiers[0]) ==
          std::vector<Nanos>{5 * kUnit, 22'500'000'000, 500'000'000, 5 * kUnit, 5 * kUnit,
                             5 * kUnit, 5 * kUnit, 22'500'000'000, 22'500'000'000, 22'500'000'000});
  }

  SECTION("batch, flex and priority prices are entries of their service tier") {
    const Price* batch = entry(c, "openai", "gpt-test", ServiceTier::batch);
    REQUIRE(batch != nullptr);
    CHECK(batch->source == "litellm.json:gpt-test");
    // The classes the tier omits: the standard prices scaled as the tier scales input (the
    // prompt's classes) or output (the completion's), here 0.5; cache_write (not named by the
    // standard entry either) defaults to the tier's input, cache_write_1h to that.
    CHECK(classes(*batch) == std::vector<Nanos>{1'250'000'000, 7'500'000'000, 125'000'000,
                                                1'250'000'000, 1'250'000'000, 20 * kUnit,
                                                2'500'000'000, 10 * kUnit, 40 * kUnit, 20 * kUnit});
    CHECK(batch->tiers.empty());
    const Price* flex = entry(c, "openai", "gpt-test", ServiceTier::flex);
    REQUIRE(flex != nullptr);
    CHECK(flex->cache_read == 125'000'000);
    const Price* priority = entry(c, "openai", "gpt-test", ServiceTier::priority);
    REQUIRE(priority != nullptr);
    CHECK(priority->input == 5 * kUnit);
    CHECK(priority->output == 30 * kUnit);
    CHECK(priority->cache_read == 500'000'000);
    REQUIRE(priority->tiers.size() == 1);
    CHECK(priority->tiers[0].above_prompt_tokens == 272'000);
    CHECK(priority->tiers[0].input == 10 * kUnit);
    CHECK(priority->tiers[0].output == 45 * kUnit);
    CHECK(priority->tiers[0].cache_read == 10 * kUnit);
    // A key's entries follow each other, the standard one first.
    std::vector<ServiceTier> order;
    for (const Price& e : c.prices)
      if (e.model == "gpt-test" && e.provider == "openai") order.push_back(e.service_tier);
    CHECK(order == std::vector<ServiceTier>{ServiceTier::standard, ServiceTier::batch,
                                            ServiceTier::flex, ServiceTier::priority});
    CHECK(entry(c, "anthropic", "claude-test", ServiceTier::batch) == nullptr);
  }

  SECTION("web search per 1,000 calls (the medium context size) and the per-request fee") {
    for (ServiceTier t : {ServiceTier::standard, ServiceTier::batch, ServiceTier::priority}) {
      const Price* p = entry(c, "openai", "gpt-test", t);
      REQUIRE(p != nullptr);
      CHECK(p->tool_prices == std::map<std::string, Nanos, std::less<>>{
                                  {"web_search", 27'500'000'000}});  // 0.0275 per query
      CHECK(p->per_request == 5'000'000);                            // 0.005
    }
    CHECK(entry(c, "anthropic", "claude-test")->tool_prices.empty());
    CHECK(entry(c, "anthropic", "claude-test")->per_request == 0);
  }

  SECTION("skipped keys are counted by reason, and the bad values named") {
    CHECK(c.keys == 20);
    CHECK(c.imported == 10);
    CHECK(c.prices.size() == 13);
    CHECK(c.skipped.mode == 4);  // sample_spec, embedding, image_generation, no mode
    CHECK(c.skipped.no_price == 1);
    CHECK(c.skipped.bad_value == 4);
    CHECK(c.skipped.duplicate == 1);
    CHECK(c.keys == c.imported + c.skipped.mode + c.skipped.no_price + c.skipped.bad_value +
                        c.skipped.duplicate);
    CHECK(c.refused == std::vector<std::string>{
                           "gpt-string-price: input_cost_per_token: expected a number",
                           "gpt-too-precise: input_cost_per_token: \"2.9999900000000002e-06\" x "
                           "1e6 is finer than one nano (not rounded)",
                           "gpt-negative: output_cost_per_token: \"-1e-06\" x 1e6 is negative",
                           "not-an-object: expected an object",
                       });
    CHECK(entry(c, "openai", "text-embedding-test") == nullptr);
    CHECK(entry(c, "databricks", "gpt-too-precise") == nullptr);
  }
}

TEST_CASE("catalog - a file that is not one JSON object is an error naming file:line:col") {
  const std::pair<std::string, std::string> cases[] = {
      {"{\n  \"a\": {\"mode\": \"chat\",}\n}", "c.json:2:24: Missing a name for object member."},
      {"[1, 2]", "c.json:1:1: expected a JSON object of model keys"},
      {"\"text\"", "c.json:1:1: expected a JSON object of model keys"},
      {"", "c.json:1:1: The document is empty."},
      {"{} {}", "c.json:1:4: The document root must not be followed by other values."},
      {"{\"a\": \"\xff\"}", "c.json:1:8: Invalid encoding in string."},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    auto r = read_litellm_catalog(text, "c.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == message);
  }
  auto empty = read_litellm_catalog("{}", "c.json");
  REQUIRE(empty.ok());
  CHECK(empty->keys == 0);
}
