// Price lookup (model matching, effective dates) and the exact cost of one record.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/provider.hpp"
#include "aiusage/record.hpp"

using namespace aiusage;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;

// Prices are given per 1M tokens in nanos; `tag` (the input price) tells entries apart.
Price price(std::string provider, std::string model, Nanos input, Nanos output = 0,
            std::int64_t effective_from_ms = INT64_MIN, std::string currency = "USD") {
  Price p;
  p.provider = std::move(provider);
  p.model = std::move(model);
  p.currency = std::move(currency);
  p.input = input;
  p.output = output;
  p.cache_read = input;
  p.cache_write = input;
  p.effective_from_ms = effective_from_ms;
  return p;
}

// 2024-08-06T00:00:00Z: 19723 days to 2024-01-01, + 213 (Jan..Jul 2024) + 5 = 19941 days.
constexpr std::int64_t kAug6 = 19941LL * 86'400'000;
// 2025-01-01T00:00:00Z = 1735689600 s.
constexpr std::int64_t kJan2025 = 1'735'689'600'000;
constexpr std::int64_t kSometime = 1'705'312'800'000;  // 2024-01-15T10:00:00Z

}  // namespace

TEST_CASE("pricing - version suffixes") {
  struct Case {
    const char* tail;
    bool suffix;
  };
  const Case cases[] = {
      {"-20241022", true},
      {"-2024-08-06", true},
      {"-0613", true},
      {"-2508", true},
      {"-001", true},
      {"-latest", true},
      {"-v1", true},
      {"-v2:0", true},
      {"-v10:12", true},
      {"@20250929", true},
      {"@001", true},
      {"@latest", true},
      {"-preview-2024-10-01", true},
      {"-preview-05-06", true},
      {"-preview-09-2025", true},
      {"-preview-0827", true},
      {"-exp-1206", true},
      {"-exp-20250514", true},
      {"", false},
      {"@", false},
      {"-", false},
      {"-preview", false},
      {"-exp", false},
      {"-preview-001", false},
      {"-12", false},
      {"-12345", false},
      {"-2024-8-06", false},
      {"-2024-08-06-01", false},
      {"-0613-preview", false},
      {"-3-1-2508", false},
      {"-v", false},
      {"-v1:", false},
      {"-v:1", false},
      {"-vx", false},
      {"-pro", false},
      {"-mini", false},
      {"-deep-research", false},
      {"-flashx", false},
      {"-tts", false},
      {":latest", false},
      {"-Latest", false},
      {"_20241022", false},
      {".1", false},
      {"-realtime-preview-2024-10-01", false},
  };
  for (const Case& c : cases) {
    INFO("\"" << c.tail << "\"");
    CHECK(is_version_suffix(c.tail) == c.suffix);
  }
}

TEST_CASE("pricing - model matching") {
  // Each entry's input price is a distinct tag so the matched entry is unambiguous.
  Price kimi = price("moonshot", "kimi-k2", 20 * kUnit);
  kimi.aliases = {"kimi-k2-instruct", "moonshot-k2"};
  Price scout = price("groq", "llama-4-scout", 21 * kUnit);
  scout.match =
      std::make_shared<const std::regex>("(meta-llama/)?llama-4-scout-17b-16e(-instruct)?");
  Price maverick = price("groq", "llama-4-maverick", 22 * kUnit);
  maverick.match = std::make_shared<const std::regex>("llama-4-.*");  // also matches scout ids
  Price deep = price("openai", "o3-deep-research", 23 * kUnit);
  deep.aliases = {"o3-dr"};
  const PriceBook book(
      {
          price("anthropic", "claude-3-5-sonnet", 1 * kUnit),
          price("anthropic", "claude-3", 2 * kUnit),
          price("anthropic", "claude-sonnet-4-5", 3 * kUnit),
          price("openai", "gpt-4", 4 * kUnit),
          price("openai", "gpt-4o", 5 * kUnit),
          price("openai", "gpt-4-32k", 6 * kUnit),
          price("openai", "gpt-5.4", 7 * kUnit),
          price("openai", "o3", 8 * kUnit),
          price("openai", "gpt-4o-realtime-preview", 9 * kUnit),
          deep,
          price("zhipu", "glm-4", 10 * kUnit),
          price("mistral", "mistral-medium", 11 * kUnit),
          price("mistral", "mistral-medium-3", 12 * kUnit),
          price("google", "gemini-2.5-flash", 13 * kUnit),
          price("google", "gemini-1.5-pro", 14 * kUnit),
          price("google", "gemini-exp", 15 * kUnit),
          price("local", "model", 16 * kUnit),
          price("ollama", "*", 17 * kUnit),
          price("mixed", "*", 18 * kUnit),
          price("mixed", "foo", 19 * kUnit),
          price("mixed", "foo-2024", 24 * kUnit),
          kimi,
          scout,
          maverick,
      },
      "USD", {});

  struct Case {
    const char* provider;
    const char* model;
    const char* expected;  // matched entry's model, nullptr = no price
    const char* why;
  };
  const Case cases[] = {
      {"anthropic", "claude-3-5-sonnet", "claude-3-5-sonnet", "exact"},
      {"anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet", "-YYYYMMDD"},
      {"anthropic", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5", "@... (Vertex)"},
      {"anthropic", "claude-sonnet-4-5-v2:0", "claude-sonnet-4-5", "-vN:M"},
      {"anthropic", "claude-sonnet-4-5-v1", "claude-sonnet-4-5", "-vN"},
      {"anthropic", "claude-sonnet-4-5-latest", "claude-sonnet-4-5", "-latest"},
      {"anthropic", "claude-3-opus-20240229", nullptr, "claude-3 + -opus-...: no family prefix"},
      {"anthropic", "claude-3-5-sonnet-20241022-v2:0", nullptr, "two suffixes"},
      {"anthropic", "claude-3-5-sonnetx", nullptr, "no boundary"},
      {"anthropic", "claude", nullptr, "shorter than every entry"},
      {"anthropic", "gpt-4", nullptr, "other provider's entry is not used"},
      {"openai", "gpt-4", "gpt-4", "exact"},
      {"openai", "gpt-4o", "gpt-4o", "exact beats everything"},
      {"openai", "gpt-4o-2024-08-06", "gpt-4o", "-YYYY-MM-DD, and never gpt-4"},
      {"openai", "gpt-4-0613", "gpt-4", "four digits"},
      {"openai", "gpt-4-32k-0613", "gpt-4-32k", "snapshot of gpt-4-32k"},
      {"openai", "gpt-4-32", nullptr, "two digits are no revision"},
      {"openai", "gpt-4-1106-preview", nullptr, "-preview without a date after it"},
      {"openai", "gpt-4.1", nullptr, "'.1' is no suffix"},
      {"openai", "gpt-5.4-pro", nullptr, "-pro is another model"},
      {"openai", "gpt-5.4-mini", nullptr, "-mini is another model"},
      {"openai", "gpt-5.4-2026-03-05", "gpt-5.4", "dated gpt-5.4"},
      {"openai", "o3-deep-research", "o3-deep-research", "exact, not o3"},
      {"openai", "o3-deep-research-2025-06-26", "o3-deep-research", "dated, not o3"},
      {"openai", "o3-dr", "o3-deep-research", "alias"},
      {"openai", "o3-pro", nullptr, "not o3"},
      {"openai", "gpt-4o-realtime-preview", "gpt-4o-realtime-preview", "exact"},
      {"openai", "gpt-4o-realtime-preview-2024-10-01", "gpt-4o-realtime-preview", "dated"},
      {"openai", "gpt-4o-audio-preview", nullptr, "…-audio-… is not gpt-4o"},
      {"openai", "gpt-4o-search-preview", nullptr, "…-search-… is not gpt-4o"},
      {"openai", "gpt-4o-mini-tts", nullptr, "…-tts is not gpt-4o"},
      {"openai", "gpt-4o-image", nullptr, "…-image… is not gpt-4o"},
      {"openai", "GPT-4", nullptr, "model names are case-sensitive"},
      {"openai", "", nullptr, "empty model"},
      {"zhipu", "glm-4", "glm-4", "exact"},
      {"zhipu", "glm-4-flashx", nullptr, "not glm-4 (138x over)"},
      {"zhipu", "glm-4-0520", "glm-4", "four digits"},
      {"mistral", "mistral-medium-3-1-2508", nullptr, "not the 2023 mistral-medium"},
      {"mistral", "mistral-medium-3-2505", "mistral-medium-3", "mistral-medium-3 + -2505"},
      {"mistral", "mistral-medium-2312", "mistral-medium", "four digits"},
      {"mistral", "mistral-medium-latest", "mistral-medium", "-latest"},
      {"google", "gemini-1.5-pro-001", "gemini-1.5-pro", "three digits"},
      {"google", "gemini-2.5-flash-preview-05-20", "gemini-2.5-flash", "-preview-MM-DD"},
      {"google", "gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash", "-preview-MM-YYYY"},
      {"google", "gemini-2.5-flash-preview", nullptr, "-preview without a date"},
      {"google", "gemini-2.5-flash-exp", nullptr, "-exp without a date"},
      {"google", "gemini-2.5-flash-exp-0827", "gemini-2.5-flash", "-exp-MMDD"},
      {"google", "gemini-2.5-flash-image", nullptr, "…-image… is not gemini-2.5-flash"},
      {"google", "gemini-2.5-flash-lite", nullptr, "-lite is another model"},
      {"google", "gemini-exp-1206", "gemini-exp", "four digits"},
      {"local", "model@2024", "model", "'@' suffix"},
      {"local", "model:latest", nullptr, "':' tags are no version suffix"},
      {"local", "model-", nullptr, "a bare '-'"},
      {"local", "mode", nullptr, "prefix of the entry, not the other way round"},
      {"ollama", "llama3:8b", "*", "provider wildcard"},
      {"ollama", "anything at all", "*", "provider wildcard"},
      {"mixed", "foo", "foo", "exact beats '*'"},
      {"mixed", "foo-0613", "foo", "suffix beats '*'"},
      {"mixed", "foo-2024-0613", "foo-2024", "the longer name with a suffix"},
      {"mixed", "foo-bar", "*", "no suffix: falls to '*'"},
      {"moonshot", "kimi-k2-instruct", "kimi-k2", "alias"},
      {"moonshot", "moonshot-k2", "kimi-k2", "alias"},
      {"moonshot", "kimi-k2-0905", "kimi-k2", "name + suffix"},
      {"moonshot", "kimi-k2-instruct-0905", nullptr, "aliases match exactly"},
      {"moonshot", "kimi-k2-thinking", nullptr, "no rule"},
      {"groq", "llama-4-scout", "llama-4-scout", "exact beats any pattern"},
      {"groq", "meta-llama/llama-4-scout-17b-16e-instruct", "llama-4-scout", "its pattern"},
      {"groq", "llama-4-scout-17b-16e", "llama-4-scout", "first pattern in file order"},
      {"groq", "llama-4-maverick-17b-128e-instruct", "llama-4-maverick", "second pattern"},
      {"groq", "xllama-4-scout-17b-16e", nullptr, "patterns are anchored at the start"},
      {"groq", "meta-llama/llama-4-maverick", nullptr, "patterns are anchored at the start"},
      {"groq", "llama-3-70b", nullptr, "no rule"},
      {"unknown", "gpt-4", nullptr, "unknown provider"},
      {"", "gpt-4", nullptr, "empty provider"},
      {"OpenAI", "gpt-4", "gpt-4", "provider names are normalized (lower case)"},
  };

  SECTION("find") {
    for (const auto& c : cases) {
      INFO(c.provider << "/" << c.model << ": " << c.why);
      const Price* p = book.find(c.provider, c.model, kSometime);
      if (c.expected == nullptr) {
        CHECK(p == nullptr);
      } else {
        REQUIRE(p != nullptr);
        CHECK(p->provider == normalize_provider(c.provider));
        CHECK(p->model == c.expected);
      }
    }
  }

  SECTION("the order of the price list does not matter, except among patterns") {
    std::vector<Price> reversed = book.prices();
    std::reverse(reversed.begin(), reversed.end());
    const PriceBook book2(reversed, "USD", {});
    for (const auto& c : cases) {
      INFO(c.provider << "/" << c.model << ": " << c.why);
      const Price* p = book2.find(c.provider, c.model, kSometime);
      if (std::string_view(c.model) == "llama-4-scout-17b-16e") {
        REQUIRE(p != nullptr);
        CHECK(p->model == "llama-4-maverick");  // now the first pattern, and it matches
      } else if (c.expected == nullptr) {
        CHECK(p == nullptr);
      } else {
        REQUIRE(p != nullptr);
        CHECK(p->model == c.expected);
      }
    }
  }

  SECTION("quote: unmatched records are unpriced and cost nothing") {
    const TokenCounts tokens{1000, 0, 0, 500};
    for (const auto& c : cases) {
      INFO(c.provider << "/" << c.model << ": " << c.why);
      CostQuote q = book.quote(c.provider, c.model, kSometime, tokens);
      CHECK(q.priced == (c.expected != nullptr));
      CHECK(q.entry == book.find(c.provider, c.model, kSometime));
      CHECK(q.tier == nullptr);
      if (c.expected == nullptr) CHECK(q.cost == 0);
      // The matched entry's input price is its tag; output is 0: 1000 × tag / 1e6.
      if (c.expected != nullptr) CHECK(q.cost == q.entry->input / 1000);
    }
  }

  SECTION("empty price book") {
    const PriceBook empty;
    CHECK(empty.find("openai", "gpt-4", kSometime) == nullptr);
    CostQuote q = empty.quote("openai", "gpt-4", kSometime, {1, 1, 1, 1});
    CHECK_FALSE(q.priced);
    CHECK(q.cost == 0);
    CHECK(empty.billing_currency() == "USD");
  }
}

TEST_CASE("pricing - effective dates") {
  const std::vector<Price> prices = {
      price("p", "m", 1 * kUnit),                    // since forever
      price("p", "m", 2 * kUnit, 0, kAug6),          // from 2024-08-06
      price("p", "m", 3 * kUnit, 0, kJan2025),       // from 2025-01-01
      price("p", "n", 4 * kUnit, 0, kAug6),          // only from 2024-08-06 ...
      price("p", "*", 9 * kUnit),                    // ... before that, the wildcard
      price("q", "late", 5 * kUnit, 0, kAug6),       // nothing before 2024-08-06
      price("p", "n-mini", 6 * kUnit, 0, kJan2025),  // exact entry from 2025; "*" before
  };

  struct Case {
    const char* provider;
    const char* model;
    std::int64_t at_ms;
    Nanos expected_input;  // 0 = no price
    const char* why;
  };
  const Case cases[] = {
      {"p", "m", INT64_MIN, 1 * kUnit, "the very first instant"},
      {"p", "m", kAug6 - 1, 1 * kUnit, "1 ms before the change"},
      {"p", "m", kAug6, 2 * kUnit, "effective_from is inclusive"},
      {"p", "m", kJan2025 - 1, 2 * kUnit, "still the 2024 price"},
      {"p", "m", kJan2025, 3 * kUnit, "the latest price not after the record"},
      {"p", "m", INT64_MAX, 3 * kUnit, "far future"},
      {"p", "m-2024", kAug6 + 1, 2 * kUnit, "a version suffix honours dates too"},
      {"p", "n", kAug6 - 1, 9 * kUnit, "before its first date: the less specific '*'"},
      {"p", "n-0613", kAug6 - 1, 9 * kUnit, "name + suffix not yet in force: '*'"},
      {"p", "n-0613", kAug6, 4 * kUnit, "name + suffix in force"},
      {"p", "n", kAug6, 4 * kUnit, "in force"},
      {"p", "n-mini", kJan2025 - 1, 9 * kUnit, "exact entry not yet in force: '*', never n"},
      {"p", "n-mini", kJan2025, 6 * kUnit, "exact entry in force"},
      {"q", "late", kAug6 - 1, 0, "nothing in force: unpriced"},
      {"q", "late", kAug6, 5 * kUnit, "in force"},
  };

  for (bool reversed : {false, true}) {
    CAPTURE(reversed);
    std::vector<Price> list = prices;
    if (reversed) std::reverse(list.begin(), list.end());
    const PriceBook book(list, "USD", {});
    for (const auto& c : cases) {
      INFO(c.provider << "/" << c.model << " at " << c.at_ms << ": " << c.why);
      const Price* p = book.find(c.provider, c.model, c.at_ms);
      CostQuote q = book.quote(c.provider, c.model, c.at_ms, {1'000'000, 0, 0, 0});
      if (c.expected_input == 0) {
        CHECK(p == nullptr);
        CHECK_FALSE(q.priced);
        CHECK(q.cost == 0);
      } else {
        REQUIRE(p != nullptr);
        CHECK(p->input == c.expected_input);
        CHECK(q.priced);
        CHECK(q.cost == c.expected_input);  // 1M input tokens cost exactly the per-1M price
      }
    }
  }
}

TEST_CASE("pricing - cost by token class") {
  // claude-3-5-sonnet: input 3.00, cache_read 0.30, cache_write 3.75, output 15.00 per 1M.
  Price sonnet = price("anthropic", "claude-3-5-sonnet", 3 * kUnit, 15 * kUnit);
  sonnet.cache_read = 300'000'000;
  sonnet.cache_write = 3'750'000'000;
  const PriceBook book({sonnet}, "USD", {});

  struct Case {
    TokenCounts tokens;  // input, cache_read, cache_write, output
    Nanos expected;
    const char* why;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, 0, "no tokens: priced, free"},
      {{1'000'000, 0, 0, 0}, 3'000'000'000, "1M input × 3.00 = 3.00"},
      {{0, 1'000'000, 0, 0}, 300'000'000, "1M cache_read × 0.30 = 0.30"},
      {{0, 0, 1'000'000, 0}, 3'750'000'000, "1M cache_write × 3.75 = 3.75"},
      {{0, 0, 0, 1'000'000}, 15'000'000'000, "1M output × 15.00 = 15.00"},
      {{1000, 0, 0, 500}, 10'500'000, "1000 × 3.00 + 500 × 15.00 = 10500 → 0.0105"},
      // 1000 × 3.00 + 2000 × 0.30 + 400 × 3.75 + 500 × 15.00 = 3000 + 600 + 1500 + 7500
      // = 12600 per 1M → 0.0126
      {{1000, 2000, 400, 500}, 12'600'000, "all four classes"},
      {{1, 0, 0, 0}, 3000, "1 input token = 3.00 / 1e6 = 3000 nanos"},
      {{0, 1, 0, 0}, 300, "1 cached token = 300 nanos"},
  };
  for (const auto& c : cases) {
    INFO(c.why);
    CostQuote q = book.quote("anthropic", "claude-3-5-sonnet-20241022", kSometime, c.tokens);
    CHECK(q.priced);
    CHECK(q.cost == c.expected);
  }

  SECTION("UsageRecord::billed splits the prompt into price classes") {
    UsageRecord r;
    r.prompt_tokens = 3400;  // includes 2000 cache reads and 400 cache writes
    r.completion_tokens = 500;
    r.cache_read_tokens = 2000;
    r.cache_write_tokens = 400;
    TokenCounts t = r.billed();
    CHECK(t.input == 1000);
    CHECK(t.cache_read == 2000);
    CHECK(t.cache_write == 400);
    CHECK(t.output == 500);
    CHECK(r.total_tokens() == 3900);
    CHECK(book.quote("anthropic", "claude-3-5-sonnet", kSometime, t).cost == 12'600'000);

    r.cached = true;  // served from the application's response cache: never billed
    t = r.billed();
    CHECK(t.input == 0);
    CHECK(t.cache_read == 0);
    CHECK(t.cache_write == 0);
    CHECK(t.output == 0);
    CostQuote q = book.quote("anthropic", "claude-3-5-sonnet", kSometime, t);
    CHECK(q.priced);
    CHECK(q.cost == 0);
    CHECK(r.total_tokens() == 3900);  // still counted as tokens
  }
}

TEST_CASE("pricing - detail token classes") {
  // gpt-4o-audio-preview-like: text input 2.50 / output 10.00; audio input 40.00, audio output
  // 80.00; cache_read 1.25; 1-hour cache writes 5.00 (2× input); reasoning 12.00; images 3.00 /
  // 30.00 (made-up, to tell the classes apart).
  Price p = price("openai", "m", 2'500'000'000, 10 * kUnit);
  p.cache_read = 1'250'000'000;
  p.cache_write = 3'125'000'000;
  p.details = {5 * kUnit, 40 * kUnit, 3 * kUnit, 12 * kUnit, 80 * kUnit, 30 * kUnit};
  const PriceBook book({p}, "USD", {});

  struct Case {
    TokenDetails details;  // cache_write_1h, audio_input, image_input, reasoning, audio_output,
                           // image_output
    Nanos expected;
    const char* why;
  };
  const Case cases[] = {
      {{1'000'000, 0, 0, 0, 0, 0}, 5 * kUnit, "1M 1-hour cache writes × 5.00"},
      {{0, 1'000'000, 0, 0, 0, 0}, 40 * kUnit, "1M audio input × 40.00"},
      {{0, 0, 1'000'000, 0, 0, 0}, 3 * kUnit, "1M image input × 3.00"},
      {{0, 0, 0, 1'000'000, 0, 0}, 12 * kUnit, "1M reasoning × 12.00"},
      {{0, 0, 0, 0, 1'000'000, 0}, 80 * kUnit, "1M audio output × 80.00"},
      {{0, 0, 0, 0, 0, 1'000'000}, 30 * kUnit, "1M image output × 30.00"},
      // 1×5 + 2×40 + 3×3 + 4×12 + 5×80 + 6×30 = 5 + 80 + 9 + 48 + 400 + 180 = 722 per 1M
      {{1, 2, 3, 4, 5, 6}, 722'000, "one of each: 722 units per 1M tokens"},
  };
  for (const auto& c : cases) {
    INFO(c.why);
    TokenCounts t;
    t.details = c.details;
    CostQuote q = book.quote("openai", "m", kSometime, t);
    CHECK(q.priced);
    CHECK(q.cost == c.expected);
  }

  SECTION("omitted detail prices follow their class: 1-hour writes the writes, input, output") {
    ClassPrices c;
    c.input = 1;
    c.output = 2;
    c.cache_read = 3;
    c.cache_write = 4;
    c.details = {9, 9, 9, 9, 9, 9};
    with_detail_defaults(c, {false, false, true, false, false, false});
    CHECK(c.details == std::array<Nanos, kTokenDetails>{4, 1, 9, 2, 2, 2});
  }

  SECTION("UsageRecord::billed takes the detail classes out of input and output") {
    UsageRecord r;
    r.prompt_tokens = 10'000;  // 1000 reads, 500 writes, 300 1-hour writes, 200 audio, 100 image
    r.cache_read_tokens = 1000;
    r.cache_write_tokens = 500;
    r.completion_tokens = 4000;  // 2500 reasoning, 300 audio, 100 image
    r.details = {300, 200, 100, 2500, 300, 100};
    const TokenCounts t = r.billed();
    CHECK(t.input == 7900);
    CHECK(t.cache_read == 1000);
    CHECK(t.cache_write == 500);
    CHECK(t.output == 1100);
    CHECK(t.details == r.details);
    // 7900×2.50 + 1000×1.25 + 500×3.125 + 300×5 + 200×40 + 100×3 + 1100×10 + 2500×12 + 300×80 +
    // 100×30 = 100362.5 units per 1M tokens → 0.1003625
    CHECK(book.quote("openai", "m", kSometime, t).cost == 100'362'500);
    r.cached = true;
    CHECK(r.billed().details == TokenDetails{});
  }

  SECTION("every part of the prompt counts toward a long-context tier") {
    Price tiered = p;
    PriceTier tier;
    tier.above_prompt_tokens = 1000;
    tier.input = 2 * p.input;
    tiered.tiers = {tier};
    const PriceBook tb({tiered}, "USD", {});
    for (std::size_t d = 0; d < kTokenDetails; ++d) {
      INFO(kTokenDetailInfo[d].name);
      TokenCounts t;
      t.input = 1000;
      t.details[d] = 1;
      const CostQuote q = tb.quote("openai", "m", kSometime, t);
      CHECK((q.tier != nullptr) == kTokenDetailInfo[d].of_prompt);
    }
  }
}

TEST_CASE("pricing - service tiers, per-request and tool fees") {
  // gpt-5.4-like: standard 2.50 / 15.00, priority 5.00 / 30.00 (2x), batch 1.25 / 7.50 (0.5x);
  // web search 10.00 per 1,000 calls, a made-up 0.01 per request on the standard entry.
  Price standard = price("openai", "gpt-5.4", 2'500'000'000, 15 * kUnit);
  standard.per_request = 10'000'000;
  standard.tool_prices = {{"web_search", 10 * kUnit}};
  Price priority = price("openai", "gpt-5.4", 5 * kUnit, 30 * kUnit);
  priority.service_tier = ServiceTier::priority;
  Price batch = price("openai", "gpt-5.4", 1'250'000'000, 7'500'000'000);
  batch.service_tier = ServiceTier::batch;
  const PriceBook book({standard, priority, batch}, "USD", {});
  const TokenCounts tokens{1000, 0, 0, 100};  // 1000 in, 100 out

  struct Case {
    ServiceTier tier;
    ServiceTier applied;
    Nanos expected;
    const char* why;
  };
  const Case cases[] = {
      // 1000 × 2.50 + 100 × 15 = 4000 per 1M = 4,000,000 nanos, + 0.01 per request
      {ServiceTier::standard, ServiceTier::standard, 14'000'000, "standard + its request fee"},
      {ServiceTier::priority, ServiceTier::priority, 8'000'000, "priority: 2x, no request fee"},
      {ServiceTier::batch, ServiceTier::batch, 2'000'000, "batch: 0.5x"},
      {ServiceTier::flex, ServiceTier::standard, 14'000'000, "flex has no entry: standard's"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    BilledCall call{tokens};
    call.tier = c.tier;
    const CostQuote q = book.quote_call("openai", "gpt-5.4", kSometime, call);
    REQUIRE(q.priced);
    CHECK(q.entry->service_tier == c.applied);
    CHECK(q.cost == c.expected);
    const std::optional<PriceNote> note = price_note(q, c.tier);
    REQUIRE(note);
    CHECK(note->entry == "openai/gpt-5.4");
    CHECK(note->service_tier == c.applied);
    CHECK(note->requested_service_tier ==
          (c.tier == c.applied ? std::nullopt : std::optional<ServiceTier>(c.tier)));
  }

  SECTION("tool calls: per 1,000 calls; a tool without a price is free and named") {
    const ToolCalls tools = {{"code_interpreter", 2, false}, {"web_search", 3, false}};
    BilledCall call{tokens};
    call.tools = &tools;
    const CostQuote q = book.quote_call("openai", "gpt-5.4", kSometime, call);
    // 4,000,000 + 10,000,000 request + 3 × 10.00 / 1000 = 0.03 → 44,000,000
    CHECK(q.cost == 44'000'000);
    CHECK(q.unpriced_tools == std::vector<std::size_t>{0});
  }
  SECTION("a record answered from the cache costs nothing, fees included") {
    const ToolCalls tools = {{"web_search", 3, false}};
    UsageRecord r;
    r.prompt_tokens = 1000;
    r.completion_tokens = 100;
    r.cached = true;
    r.tool_calls = tools;
    const CostQuote q = book.quote_call("openai", "gpt-5.4", kSometime, r.billing());
    CHECK(q.priced);
    CHECK(q.cost == 0);
  }
  SECTION("a tier entry only prices records of its tier") {
    const PriceBook only_priority({priority}, "USD", {});
    CHECK(only_priority.find("openai", "gpt-5.4", kSometime) == nullptr);
    CHECK(only_priority.find("openai", "gpt-5.4", kSometime, ServiceTier::priority) != nullptr);
  }
}

TEST_CASE("pricing - long-context tiers") {
  // gemini-2.5-pro: 1.25 / 10.00 / cache_read 0.125; above 200k prompt tokens 2.50 / 15.00 /
  // 0.25 (cache_write 2.50); a made-up second tier above 1M at 5.00 / 30.00 / 0.50.
  Price pro = price("google", "gemini-2.5-pro", 1'250'000'000, 10 * kUnit);
  pro.cache_read = 125'000'000;
  PriceTier t200k;
  t200k.above_prompt_tokens = 200'000;
  t200k.input = t200k.cache_write = 2'500'000'000;
  t200k.output = 15 * kUnit;
  t200k.cache_read = 250'000'000;
  PriceTier t1m;
  t1m.above_prompt_tokens = 1'000'000;
  t1m.input = t1m.cache_write = 5 * kUnit;
  t1m.output = 30 * kUnit;
  t1m.cache_read = 500'000'000;
  pro.tiers = {t200k, t1m};
  const PriceBook book({pro}, "USD", {});

  struct Case {
    TokenCounts tokens;  // input, cache_read, cache_write, output
    Nanos expected;
    std::int64_t tier;  // threshold applied, 0 = the entry's own prices
    const char* why;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, 0, 0, "no tokens"},
      // 200000 × 1.25 + 2000 × 10 = 270000 per 1M
      {{200'000, 0, 0, 2000}, 270'000'000, 0, "exactly at the threshold: the entry's prices"},
      // 200001 × 2.50 + 2000 × 15 = 530002.5 per 1M
      {{200'001, 0, 0, 2000}, 530'002'500, 200'000, "one above: every token at the tier"},
      {{300'000, 0, 0, 2000}, 780'000'000, 200'000, "the issue's 300k + 2k request: 0.78"},
      // 100000 × 1.25 + 100000 × 0.125 = 137500
      {{100'000, 100'000, 0, 0}, 137'500'000, 0, "cache reads count toward the prompt"},
      // 100000 × 2.50 + 100001 × 0.25 = 275000.25
      {{100'000, 100'001, 0, 0}, 275'000'250, 200'000, "a cache read one above"},
      // 100000 × 2.50 + 100001 × 2.50 = 500002.5
      {{100'000, 0, 100'001, 0}, 500'002'500, 200'000, "a cache write one above"},
      {{0, 0, 0, 300'000}, 3 * kUnit, 0, "completion tokens do not count"},
      {{1'000'000, 0, 0, 0}, 2'500'000'000, 200'000, "exactly at the second threshold"},
      {{1'000'001, 0, 0, 0}, 5'000'005'000, 1'000'000, "one above: the highest tier exceeded"},
  };
  for (const auto& c : cases) {
    INFO(c.why);
    CostQuote q = book.quote("google", "gemini-2.5-pro", kSometime, c.tokens);
    CHECK(q.priced);
    CHECK(q.cost == c.expected);
    CHECK((q.tier ? q.tier->above_prompt_tokens : 0) == c.tier);
  }
}

TEST_CASE("pricing - currency conversion") {
  // qwen-max in CNY: input 2.40, cache_read 0.48, output 9.60; 1 CNY = 0.138 USD.
  Price qwen = price("qwen", "qwen-max", 2'400'000'000, 9'600'000'000, INT64_MIN, "CNY");
  qwen.cache_read = 480'000'000;
  Price gpt = price("openai", "gpt-4o", 2'500'000'000, 10 * kUnit);  // USD, not converted
  const PriceBook book({qwen, gpt}, "USD", {{"CNY", 138'000'000}});
  CHECK(book.billing_currency() == "USD");

  struct Case {
    const char* provider;
    const char* model;
    TokenCounts tokens;
    Nanos expected;
    const char* why;
  };
  const Case cases[] = {
      // 1000 × 2.40 + 500 × 9.60 = 7200 per 1M → 0.0072 CNY × 0.138 = 0.0009936 USD
      {"qwen", "qwen-max", {1000, 0, 0, 500}, 993'600, "converted exactly"},
      // 1M × 2.40 CNY × 0.138 = 0.3312 USD
      {"qwen", "qwen-max", {1'000'000, 0, 0, 0}, 331'200'000, "1M input"},
      // input 2 × 2.40 = 4.8, cache_read 10 × 0.48 = 4.8 → 9.6 per 1M = 9600 nano-CNY
      // × 0.138 = 1324.8 nano-USD → 1325. Rounding each class first (662.4 → 662 twice)
      // would give 1324: the record is rounded once.
      {"qwen", "qwen-max", {2, 10, 0, 0}, 1325, "rounded once per record"},
      // 1 input token: 2400 nano-CNY × 0.138 = 331.2 → 331
      {"qwen", "qwen-max", {1, 0, 0, 0}, 331, "rounded down"},
      // 1 output token: 9600 × 0.138 = 1324.8 → 1325
      {"qwen", "qwen-max", {0, 0, 0, 1}, 1325, "rounded up"},
      // USD price in a USD book: 1000 × 2.50 + 500 × 10.00 = 7500 → 0.0075
      {"openai", "gpt-4o", {1000, 0, 0, 500}, 7'500'000, "billing currency: no conversion"},
  };
  for (const auto& c : cases) {
    INFO(c.provider << "/" << c.model << ": " << c.why);
    CostQuote q = book.quote(c.provider, c.model, kSometime, c.tokens);
    CHECK(q.priced);
    CHECK(q.cost == c.expected);
  }

  SECTION("billing in CNY, a USD price converted the other way") {
    // 1 USD = 7.25 CNY; gpt-4o 1000 × 2.50 + 500 × 10.00 = 7500 → 0.0075 USD = 0.054375 CNY
    const PriceBook cny({gpt, qwen}, "CNY", {{"USD", 7'250'000'000}});
    CHECK(cny.quote("openai", "gpt-4o", kSometime, {1000, 0, 0, 500}).cost == 54'375'000);
    // The CNY price is in the billing currency now: 7200 per 1M → 0.0072 CNY.
    CHECK(cny.quote("qwen", "qwen-max", kSometime, {1000, 0, 0, 500}).cost == 7'200'000);
  }
}

TEST_CASE("pricing - rounding to the nano, half to even") {
  SECTION("same currency") {
    // input 3.00 per 1M; output 0.0000005 per 1M = 500 nanos per 1M tokens, so
    // every 1000 output tokens add exactly half a nano.
    const PriceBook book({price("p", "m", 3 * kUnit, 500)}, "USD", {});
    struct Case {
      TokenCounts tokens;
      Nanos expected;
      const char* why;
    };
    const Case cases[] = {
        {{0, 0, 0, 1000}, 0, "0.5 → 0 (even)"},
        {{0, 0, 0, 3000}, 2, "1.5 → 2 (even)"},
        {{0, 0, 0, 5000}, 2, "2.5 → 2 (even)"},
        {{0, 0, 0, 7000}, 4, "3.5 → 4 (even)"},
        {{0, 0, 0, 999}, 0, "0.4995 → 0"},
        {{0, 0, 0, 1001}, 1, "0.5005 → 1"},
        // 1000 × 3.00 = 3'000'000 nanos, + 1000 × 0.0000005 = 0.5 → 3'000'000.5 → 3'000'000
        {{1000, 0, 0, 1000}, 3'000'000, "tie above an even quotient stays"},
        // 1000 × 3.00 + 3000 × 0.0000005 = 3'000'001.5 → 3'000'002
        {{1000, 0, 0, 3000}, 3'000'002, "tie above an odd quotient goes up"},
        // 1 input token = 3000 nanos, + 0.5 → 3000.5 → 3000 (even)
        {{1, 0, 0, 1000}, 3000, "3000.5 → 3000"},
        // 3000 + 1.5 = 3001.5 → 3002
        {{1, 0, 0, 3000}, 3002, "3001.5 → 3002"},
    };
    for (const auto& c : cases) {
      INFO(c.why);
      CHECK(book.quote("p", "m", kSometime, c.tokens).cost == c.expected);
    }
  }

  SECTION("after conversion") {
    // 1000 tokens × 0.001 CNY per 1M = 1000 nano-CNY, × rate:
    const Price p = price("p", "m", 1'000'000, 0, INT64_MIN, "CNY");
    struct Case {
      Nanos rate;
      Nanos expected;
      const char* why;
    };
    const Case cases[] = {
        {138'500'000, 138, "1000 × 0.1385 = 138.5 → 138 (even)"},
        {137'500'000, 138, "1000 × 0.1375 = 137.5 → 138 (even)"},
        {138'500'001, 139, "138.500001 → 139"},
        {138'000'000, 138, "exact"},
        {500'000, 0, "1000 × 0.0005 = 0.5 → 0"},
        {1'500'000, 2, "1000 × 0.0015 = 1.5 → 2"},
    };
    for (const auto& c : cases) {
      INFO(c.why);
      const PriceBook book({p}, "USD", {{"CNY", c.rate}});
      CHECK(book.quote("p", "m", kSometime, {1000, 0, 0, 0}).cost == c.expected);
    }
  }
}

TEST_CASE("pricing - a record above the largest cost is refused, never wrapped") {
  SECTION("in the price's currency: the largest record costs exactly the most one may cost") {
    // 1e8 prompt + 1e8 completion tokens × 10000 units per 1M tokens = 2e6 units = 2e15 nanos.
    const Price p = price("p", "m", kMaxPriceNanos, kMaxPriceNanos, INT64_MIN);
    const PriceBook book({p}, "USD", {});
    CHECK(kMaxRecordCostNanos == 2'000'000 * kNanosPerUnit);
    const CostQuote q = book.quote("p", "m", kSometime, {kMaxTokens, 0, 0, kMaxTokens});
    CHECK(q.cost == kMaxRecordCostNanos);
    CHECK_FALSE(q.too_large);
  }
  // At the largest price and rate one input token costs 10000 / 1e6 × 10000 = 100 units
  // = 1e11 nanos, so 20,000 tokens cost exactly kMaxRecordCostNanos = 2e15 nanos.
  const Price p = price("p", "m", kMaxPriceNanos, kMaxPriceNanos, INT64_MIN, "EUR");
  const PriceBook book({p}, "USD", {{"EUR", kMaxRateNanos}});
  struct Case {
    const char* name;
    TokenCounts tokens;
    Nanos cost;
    bool too_large;
  };
  const Case cases[] = {
      {"exactly the limit", {20'000, 0, 0, 0}, kMaxRecordCostNanos, false},
      {"one token more", {20'001, 0, 0, 0}, 0, true},
      {"past 64 bits", {92'233'721, 0, 0, 0}, 0, true},
      {"largest token counts", {kMaxTokens, 0, 0, kMaxTokens}, 0, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const CostQuote q = book.quote("p", "m", kSometime, c.tokens);
    CHECK(q.priced);
    CHECK(q.cost == c.cost);
    CHECK(q.too_large == c.too_large);
  }
}
