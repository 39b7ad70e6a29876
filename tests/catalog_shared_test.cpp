// The whole shared LiteLLM catalog (../shared/data/litellm-model-prices.json, outside the
// repository; AIUSAGE_SHARED_CATALOG is empty when the build found none): it loads, and the drift
// of the shipped config/pricing.toml against it is reported, never failed on.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>

#include "aiusage/catalog.hpp"
#include "aiusage/config.hpp"
#include "support/text_file.hpp"

using namespace aiusage;

namespace {

constexpr std::int64_t kCatalogDate = 1'784'851'200'000;  // 2026-07-24, the snapshot's date

// The shared catalog's text, or "" (with a warning) when this machine has none.
std::string shared_catalog() {
  const std::string path = AIUSAGE_SHARED_CATALOG;
  if (path.empty() || !std::filesystem::exists(path)) {
    WARN("no shared LiteLLM catalog (../shared/data/litellm-model-prices.json): skipped");
    return "";
  }
  return testing::read_text_file(path);
}

// "name ours X vs Y" for each class of `a` and `b` (ours and the catalog's) that differs, per 1M
// tokens; a class both leave to its default is not repeated.
std::string class_drift(const ClassPrices& a, const ClassPrices& b) {
  std::string out;
  auto one = [&](std::string_view name, Nanos ours, Nanos theirs, bool both_defaulted) {
    if (ours == theirs || both_defaulted) return;
    out += (out.empty() ? "" : ", ") + std::string(name) + " " + format_nanos(ours) + " vs " +
           format_nanos(theirs);
  };
  auto defaulted = [&](Nanos ours, Nanos theirs, BasicClass from) {
    return ours == a.of(from) && theirs == b.of(from);
  };
  one("input", a.input, b.input, false);
  one("output", a.output, b.output, false);
  one("cache_read", a.cache_read, b.cache_read,
      defaulted(a.cache_read, b.cache_read, BasicClass::input));
  one("cache_write", a.cache_write, b.cache_write,
      defaulted(a.cache_write, b.cache_write, BasicClass::input));
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    one(kTokenDetailInfo[d].name, a.details[d], b.details[d],
        defaulted(a.details[d], b.details[d], kTokenDetailInfo[d].priced_as));
  return out;
}

// Every difference between our entry and the catalog's: classes, tiers, fees.
std::string drift(const Price& ours, const Price& theirs) {
  std::string out = class_drift(ours, theirs);
  auto add = [&](const std::string& s) {
    if (!s.empty()) out += (out.empty() ? "" : "; ") + s;
  };
  std::map<std::int64_t, const PriceTier*> their_tiers;
  for (const PriceTier& t : theirs.tiers) their_tiers[t.above_prompt_tokens] = &t;
  for (const PriceTier& t : ours.tiers) {
    const std::string at = ">" + std::to_string(t.above_prompt_tokens) + ": ";
    auto it = their_tiers.find(t.above_prompt_tokens);
    if (it == their_tiers.end()) {
      add(at + "no such tier in the catalog");
      continue;
    }
    const std::string d = class_drift(t, *it->second);
    if (!d.empty()) add(at + d);
    their_tiers.erase(it);
  }
  for (const auto& [above, t] : their_tiers) add(">" + std::to_string(above) + ": catalog only");
  if (ours.per_request != theirs.per_request)
    add("per_request " + format_nanos(ours.per_request) + " vs " +
        format_nanos(theirs.per_request));
  for (const auto& [tool, price] : ours.tool_prices) {
    auto it = theirs.tool_prices.find(tool);
    if (it == theirs.tool_prices.end())
      add(tool + " " + format_nanos(price) + " vs none");
    else if (it->second != price)
      add(tool + " " + format_nanos(price) + " vs " + format_nanos(it->second));
  }
  return out;
}

}  // namespace

TEST_CASE("catalog - the whole shared LiteLLM catalog loads") {
  const std::string text = shared_catalog();
  if (text.empty()) return;
  auto r = read_litellm_catalog(text, "litellm-model-prices.json");
  REQUIRE(r.ok());
  const CatalogPrices& c = *r;
  CHECK(c.keys == c.imported + c.skipped.mode + c.skipped.no_price + c.skipped.bad_value +
                      c.skipped.duplicate);
  CHECK(c.imported > 1500);
  // The only bad values: prices finer than a nano per 1M tokens (Databricks' DBU conversions) and
  // per-1M figures in per-token keys (W&B's, above 10,000 per 1M tokens).
  CHECK(c.skipped.bad_value < 50);
  for (const std::string& why : c.refused) {
    INFO(why);
    CHECK((why.find("is finer than one nano") != std::string::npos ||
           why.find("x 1e6 is above 10000") != std::string::npos));
  }
  // The example: Gemini 2.5 Pro, 300k prompt + 2k output tokens, above its 200k tier.
  PriceBook book(c.prices, "USD", {});
  CHECK(book.quote("google", "gemini-2.5-pro", kCatalogDate, {300'000, 0, 0, 2000}).cost ==
        780'000'000);
  const Price* priority = book.find("openai", "gpt-5.4", kCatalogDate, ServiceTier::priority);
  REQUIRE(priority != nullptr);
  CHECK(priority->input == 5'000'000'000);
  CHECK(priority->service_tier == ServiceTier::priority);
  const Price* sonnet = book.find("anthropic", "claude-sonnet-4-5", kCatalogDate);
  REQUIRE(sonnet != nullptr);
  CHECK(sonnet->details[kCacheWrite1h] == 6'000'000'000);
  CHECK(sonnet->tool_prices.at("web_search") == 10'000'000'000);

  SECTION("through [[catalog]], with the shipped table overriding it") {
    auto cfg = parse_config(std::string("include = [\"") + AIUSAGE_SOURCE_DIR +
                                "/config/pricing.toml\"]\n[billing]\nrates = { CNY = 0.138 }\n" +
                                "[[catalog]]\nformat = \"litellm\"\npath = \"" +
                                AIUSAGE_SHARED_CATALOG + "\"\n",
                            "shared.toml", ".");
    if (!cfg) FAIL(cfg.error().message);
    const Price* ours = cfg->prices.find("anthropic", "claude-3-5-sonnet", kCatalogDate);
    REQUIRE(ours != nullptr);
    CHECK(ours->source.find("config/pricing.toml:") != std::string::npos);
    CHECK(cfg->prices.prices().size() > c.prices.size());
  }
}

TEST_CASE("catalog - drift of config/pricing.toml against the shared catalog (a report)") {
  const std::string text = shared_catalog();
  if (text.empty()) return;
  auto r = read_litellm_catalog(text, "litellm-model-prices.json");
  REQUIRE(r.ok());
  std::map<std::tuple<std::string, std::string, ServiceTier>, const Price*> catalog;
  for (const Price& p : r->prices) catalog[{p.provider, p.model, p.service_tier}] = &p;
  // Ours in force on the snapshot's date, one per provider, model and service tier.
  const Config shipped = default_config();
  std::map<std::tuple<std::string, std::string, ServiceTier>, const Price*> in_force;
  for (const Price& ours : shipped.prices.prices()) {
    if (ours.currency != "USD" || ours.model == "*" || ours.effective_from_ms > kCatalogDate)
      continue;
    const Price*& at = in_force[{ours.provider, ours.model, ours.service_tier}];
    if (!at || at->effective_from_ms < ours.effective_from_ms) at = &ours;
  }
  std::size_t compared = 0;
  std::size_t absent = 0;
  std::size_t differ = 0;
  std::string report;
  for (const auto& [key, ours] : in_force) {
    auto it = catalog.find(key);
    if (it == catalog.end()) {
      ++absent;
      continue;
    }
    ++compared;
    const std::string d = drift(*ours, *it->second);
    if (d.empty()) continue;
    ++differ;
    report += "\n  " + ours->provider + "/" + ours->model +
              (ours->service_tier == ServiceTier::standard
                   ? ""
                   : " [" + std::string(to_string(ours->service_tier)) + "]") +
              " (" + ours->source + " vs " + it->second->source + "): " + d;
  }
  WARN(
      "config/pricing.toml against the shared LiteLLM catalog, per 1M tokens (ours vs "
      "catalog): "
      << compared << " entries compared, " << differ << " differ, " << absent
      << " not in the catalog under the same provider and model" << report);
  CHECK(compared > 0);
}
