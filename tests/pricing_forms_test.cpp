// Provider names and model forms of other tools and the clouds, priced as the table names them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "aiusage/config.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/provider.hpp"

using namespace aiusage;

namespace {

Price entry(std::string provider, std::string model, Nanos input,
            ServiceTier tier = ServiceTier::standard) {
  Price p;
  p.provider = std::move(provider);
  p.model = std::move(model);
  p.currency = "USD";
  p.input = p.output = p.cache_read = p.cache_write = input;
  p.service_tier = tier;
  return p;
}

std::string keys_text(const std::vector<PriceKey>& keys) {
  std::string s;
  for (const PriceKey& k : keys) s += (s.empty() ? "" : " | ") + k.provider + "/" + k.model;
  return s;
}

}  // namespace

TEST_CASE("pricing - provider names") {
  struct Case {
    const char* theirs;
    const char* ours;
  };
  const Case cases[] = {
      {"gemini", "google"},
      {"vertex_ai", "google"},
      {"google_ai_studio", "google"},
      {"vertex_ai-anthropic_models", "google"},
      {"gcp.vertex_ai", "google"},
      {"zai", "zhipu"},
      {"dashscope", "qwen"},
      {"bedrock", "bedrock"},
      {"bedrock_converse", "bedrock"},
      {"aws.bedrock", "bedrock"},
      {"azure.ai.openai", "azure"},
      {"text-completion-openai", "openai"},
      {"OpenAI", "openai"},
      {"x-ai", "xai"},
      {"together_ai", "together"},
      {"some-new-one", "some-new-one"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.theirs);
    CHECK(normalize_provider(c.theirs) == c.ours);
  }
}

TEST_CASE("pricing - model forms") {
  struct Case {
    const char* provider;  // already normalized
    const char* model;
    const char* keys;  // price_keys, most specific first
  };
  const Case cases[] = {
      {"openai", "gpt-4o", "openai/gpt-4o"},
      {"openai", "openai/gpt-4o", "openai/openai/gpt-4o | openai/gpt-4o"},
      {"openrouter", "openai/gpt-4o", "openrouter/openai/gpt-4o"},
      {"google", "models/gemini-2.5-pro", "google/models/gemini-2.5-pro | google/gemini-2.5-pro"},
      {"google", "gemini/gemini-2.5-pro", "google/gemini/gemini-2.5-pro | google/gemini-2.5-pro"},
      {"google", "claude-sonnet-4-5@20250929",
       "google/claude-sonnet-4-5@20250929 | anthropic/claude-sonnet-4-5@20250929"},
      {"google", "publishers/anthropic/models/claude-opus-4-1@20250805",
       "google/publishers/anthropic/models/claude-opus-4-1@20250805 | "
       "google/claude-opus-4-1@20250805 | anthropic/claude-opus-4-1@20250805"},
      {"bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
       "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0 | "
       "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0 | "
       "anthropic/claude-sonnet-4-5-20250929"},
      {"bedrock", "anthropic.claude-3-haiku-20240307-v1:0",
       "bedrock/anthropic.claude-3-haiku-20240307-v1:0 | anthropic/claude-3-haiku-20240307"},
      {"bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0",
       "bedrock/global.anthropic.claude-haiku-4-5-20251001-v1:0 | "
       "bedrock/anthropic.claude-haiku-4-5-20251001-v1:0 | anthropic/claude-haiku-4-5-20251001"},
      {"bedrock", "mistral.mistral-large-2407-v1:0",
       "bedrock/mistral.mistral-large-2407-v1:0 | mistral/mistral-large-2407"},
      {"bedrock", "us.meta.llama4-scout-17b-instruct-v1:0",
       "bedrock/us.meta.llama4-scout-17b-instruct-v1:0 | "
       "bedrock/meta.llama4-scout-17b-instruct-v1:0 | meta/llama4-scout-17b-instruct"},
      {"bedrock", "titan", "bedrock/titan"},
      {"anthropic", "us.anthropic.claude-x-v1:0", "anthropic/us.anthropic.claude-x-v1:0"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.provider, c.model);
    CHECK(keys_text(price_keys(c.provider, c.model)) == c.keys);
  }
}

TEST_CASE("pricing - records priced through the normalized names") {
  const PriceBook book(
      {
          entry("anthropic", "claude-sonnet-4-5", 3),
          entry("anthropic", "claude-3-haiku", 4),
          entry("bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0", 5),  // a regional price
          entry("google", "gemini-2.5-pro", 6),
          entry("openai", "gpt-4o", 7),
          entry("openai", "gpt-4o", 8, ServiceTier::priority),
          entry("zhipu", "glm-4.6", 9),
          entry("qwen", "qwen-max", 10),
          entry("mixed", "*", 11),
          entry("mixed", "foo", 12),
      },
      "USD", {});
  struct Case {
    const char* provider;
    const char* model;
    ServiceTier tier;
    Nanos input;  // of the entry found; 0 = none
    const char* why;
  };
  const ServiceTier std_ = ServiceTier::standard;
  const Case cases[] = {
      {"gemini", "gemini-2.5-pro", std_, 6, "LiteLLM's provider name"},
      {"vertex_ai", "gemini-2.5-pro", std_, 6, "Vertex is google"},
      {"Google", "models/gemini-2.5-pro-001", std_, 6, "resource name + version suffix"},
      {"zai", "glm-4.6", std_, 9, "zai is zhipu"},
      {"dashscope", "qwen-max", std_, 10, "dashscope is qwen"},
      {"openai", "openai/gpt-4o", std_, 7, "own provider prefix"},
      {"openai", "openai/gpt-4o-2024-08-06", std_, 7, "prefix + version suffix"},
      {"openai", "openai/gpt-4o", ServiceTier::priority, 8, "forms within the service tier"},
      {"openai", "azure/gpt-4o", std_, 0, "another provider's prefix is not dropped"},
      {"openai", "openai/gpt-4o-mini", std_, 0, "forms keep the safe matching"},
      {"bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", std_, 3, "Anthropic's price"},
      {"aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", std_, 3, "no region"},
      {"bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0", std_, 5, "regional entry wins"},
      {"bedrock", "eu.anthropic.claude-3-haiku-20240307-v1:0", std_, 4, "other region: vendor"},
      {"bedrock", "us.anthropic.claude-sonnet-4-5-pro-v1:0", std_, 0, "still no fallback"},
      {"vertex_ai", "claude-sonnet-4-5@20250929", std_, 3, "Claude on Vertex"},
      {"google", "publishers/anthropic/models/claude-sonnet-4-5", std_, 3, "publisher path"},
      {"mixed", "foo", std_, 12, "exact"},
      {"mixed", "mixed/foo", std_, 12, "a form beats the wildcard"},
      {"mixed", "bar", std_, 11, "wildcard last"},
      {"nobody", "gpt-4o", std_, 0, "unknown provider"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.provider, c.model, c.why);
    const Price* p = book.find(c.provider, c.model, 0, c.tier);
    CHECK((p == nullptr ? 0 : p->input) == c.input);
  }
}

TEST_CASE("pricing - the shipped table prices other tools' names") {
  const Config c = default_config();
  struct Case {
    const char* provider;
    const char* model;
    Nanos input;  // per 1M tokens, of the entry found; 0 = none
  };
  const Case cases[] = {
      {"bedrock", "us.meta.llama4-scout-17b-instruct-v1:0", 170'000'000},
      {"bedrock", "meta.llama4-maverick-17b-instruct-v1:0", 240'000'000},
      {"together_ai", "meta-llama/Llama-4-Scout-17B-16E-Instruct", 180'000'000},
      {"bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3 * kNanosPerUnit},
      {"vertex_ai", "claude-sonnet-4-5@20250929", 3 * kNanosPerUnit},
      {"gemini", "models/gemini-2.5-pro", 1'250'000'000},
      {"zai", "glm-4", 100 * kNanosPerUnit},                     // CNY
      {"bedrock", "us.meta.llama4-scout-17b-instruct-v2:0", 0},  // another revision
  };
  for (const Case& k : cases) {
    CAPTURE(k.provider, k.model);
    const Price* p = c.prices.find(k.provider, k.model, 1'794'736'800'000);
    CHECK((p == nullptr ? 0 : p->input) == k.input);
  }
}
