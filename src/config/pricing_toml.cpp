#include "pricing_toml.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "aiusage/price_classes.hpp"
#include "aiusage/provider.hpp"
#include "toml_values.hpp"

namespace aiusage::config_toml {

namespace {

// input and output required; the omitted classes as resolve_classes defaults them, from this
// table's prices.
void read_classes(const std::string& src, const toml::table& t, const std::string& path,
                  ClassPrices& c) {
  auto required = [&](const char* key) -> const toml::node& {
    if (auto n = t.get(key)) return *n;
    fail(src, t, path + "." + key + ": missing");
  };
  GivenClasses g;
  g.input = get_money(src, required("input"), path + ".input", kMaxPriceNanos);
  g.output = get_money(src, required("output"), path + ".output", kMaxPriceNanos);
  if (auto n = t.get("cache_read"))
    g.cache_read = get_money(src, *n, path + ".cache_read", kMaxPriceNanos);
  if (auto n = t.get("cache_write"))
    g.cache_write = get_money(src, *n, path + ".cache_write", kMaxPriceNanos);
  for (std::size_t d = 0; d < kTokenDetails; ++d) {
    const std::string key(kTokenDetailInfo[d].name);
    if (auto n = t.get(key)) g.details[d] = get_money(src, *n, path + "." + key, kMaxPriceNanos);
  }
  c = resolve_classes(g);
}

// The keys of a table of prices: the basic classes and the detail classes.
std::vector<std::string> class_keys(std::vector<std::string> others) {
  for (const char* k : {"input", "output", "cache_read", "cache_write"}) others.push_back(k);
  for (const TokenDetailInfo& d : kTokenDetailInfo) others.emplace_back(d.name);
  return others;
}

// aliases = ["name", ...]: non-empty, distinct names.
std::vector<std::string> read_aliases(const std::string& src, const toml::node& node,
                                      const std::string& path) {
  return get_distinct_strings(src, node, path, true, "expected an array of model names",
                              "must not be empty");
}

// match = "regex": compiled now (ECMAScript), matched against the whole model name.
std::shared_ptr<const std::regex> read_pattern(const std::string& src, const toml::node& node,
                                               const std::string& path, const Price& p) {
  std::string text = get_string(src, node, path);
  if (text.empty()) fail(src, node, path + ": must not be empty");
  try {
    return std::make_shared<const std::regex>(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(src, node,
         path + ": \"" + text + "\" of " + p.provider + "/" + p.model +
             " is not a valid regular expression (" + e.what() + ")");
  }
}

// [[pricing.tiers]]: above_prompt_tokens (1..kMaxTokens, strictly ascending) and the classes of
// the entry, whose omitted ones default to the tier's own prices.
std::vector<PriceTier> read_tiers(const std::string& src, const toml::node& node,
                                  const std::string& path) {
  std::vector<PriceTier> out;
  const toml::array& list = get_tables(src, node, path);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    const toml::table& t = *list[i].as_table();
    check_keys(src, t, at, class_keys({"above_prompt_tokens"}));
    const toml::node* n = t.get("above_prompt_tokens");
    if (!n) fail(src, t, at + ".above_prompt_tokens: missing");
    PriceTier tier;
    tier.above_prompt_tokens = get_bounded_int(src, *n, at + ".above_prompt_tokens", kMaxTokens);
    if (!out.empty() && tier.above_prompt_tokens <= out.back().above_prompt_tokens)
      fail(src, *n,
           at + ".above_prompt_tokens: must be greater than the previous tier's (" +
               std::to_string(out.back().above_prompt_tokens) + ")");
    read_classes(src, t, at, tier);
    out.push_back(tier);
  }
  return out;
}

// tool_calls = { web_search = 10.0 }: a price per 1,000 calls of each named tool.
std::map<std::string, Nanos, std::less<>> read_tool_prices(const std::string& src,
                                                           const toml::node& node,
                                                           const std::string& path) {
  auto t = node.as_table();
  if (!t) fail(src, node, path + ": expected a table of tool names and prices per 1,000 calls");
  std::map<std::string, Nanos, std::less<>> out;
  for (const auto& [key, value] : *t) {
    const std::string name(key.str());
    if (!valid_tool_name(name))
      fail(src, value,
           path + ": \"" + name + "\" is not a tool name (1 to " +
               std::to_string(kMaxToolNameBytes) + " of A-Z a-z 0-9 _ . -)");
    out[name] = get_money(src, value, path + "." + name, kMaxPriceNanos);
  }
  return out;
}

Price read_price(const std::string& src, const toml::table& t, const std::string& path,
                 const std::string& currency, const MonthCalendar& cal) {
  check_keys(src, t, path,
             class_keys({"provider", "model", "currency", "effective_from", "aliases", "match",
                         "tiers", "service_tier", "per_request", "tool_calls"}));
  Price p;
  auto required = [&](const char* key) -> const toml::node& {
    if (auto n = t.get(key)) return *n;
    fail(src, t, path + "." + key + ": missing");
  };
  p.provider = normalize_provider(get_string(src, required("provider"), path + ".provider"));
  p.model = get_string(src, required("model"), path + ".model");
  if (p.provider.empty()) fail(src, t, path + ".provider: must not be empty");
  if (p.model.empty()) fail(src, t, path + ".model: must not be empty");
  p.currency = currency;
  if (auto n = t.get("currency")) p.currency = get_string(src, *n, path + ".currency");
  read_classes(src, t, path, p);
  if (auto n = t.get("effective_from"))
    p.effective_from_ms = get_date(src, *n, path + ".effective_from", cal);
  if (auto n = t.get("aliases")) p.aliases = read_aliases(src, *n, path + ".aliases");
  if (auto n = t.get("match")) p.match = read_pattern(src, *n, path + ".match", p);
  if (auto n = t.get("tiers")) p.tiers = read_tiers(src, *n, path + ".tiers");
  if (auto n = t.get("service_tier")) {
    const std::string name = get_string(src, *n, path + ".service_tier");
    auto tier = service_tier_named(name);
    if (!tier)
      fail(src, *n,
           path + ".service_tier: \"" + name +
               "\" is not one of \"standard\", \"batch\", \"flex\", \"priority\"");
    p.service_tier = *tier;
  }
  if (auto n = t.get("per_request"))
    p.per_request = get_money(src, *n, path + ".per_request", kMaxPriceNanos);
  if (auto n = t.get("tool_calls")) p.tool_prices = read_tool_prices(src, *n, path + ".tool_calls");
  return p;
}

}  // namespace

void parse_prices(const std::string& src, const toml::node& node, const std::string& currency,
                  const MonthCalendar& cal, PriceDraft& d) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "pricing: expected [[pricing]] tables");
  std::set<std::tuple<std::string, std::string, std::int64_t, ServiceTier>> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = "pricing[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], path + ": expected a table");
    Price p = read_price(src, *t, path, currency, cal);
    p.source = where(src, t->source());
    if (!seen.insert({p.provider, p.model, p.effective_from_ms, p.service_tier}).second)
      fail(src, *t, path + ": duplicate price for " + p.provider + "/" + p.model);
    put_price(d, std::move(p));
  }
}

void put_price(PriceDraft& d, Price p) {
  auto [at, fresh] =
      d.index.insert({{p.provider, p.model, p.effective_from_ms, p.service_tier}, d.prices.size()});
  if (fresh)
    d.prices.push_back(std::move(p));
  else
    d.prices[at->second] = std::move(p);
}

namespace {

using PriceKey = std::tuple<std::string, std::string, std::int64_t, ServiceTier>;

// A catalog entry named by an alias of a file's entry (same provider, date and service tier) is
// dropped: the file's entry claims the name.
void drop_aliased_catalog_entries(PriceDraft& d) {
  std::set<PriceKey> aliased;
  for (const Price& p : d.prices) {
    if (p.from_catalog) continue;
    for (const std::string& a : p.aliases)
      aliased.insert({p.provider, a, p.effective_from_ms, p.service_tier});
  }
  if (aliased.empty()) return;
  std::erase_if(d.prices, [&](const Price& p) {
    return p.from_catalog &&
           aliased.count({p.provider, p.model, p.effective_from_ms, p.service_tier});
  });
  d.index.clear();  // positions moved; nothing is added after this
}

// An alias names one entry per provider and date, and never another entry's model.
void check_aliases(const PriceDraft& d) {
  std::map<PriceKey, std::size_t> names;
  for (std::size_t k = 0; k < d.prices.size(); ++k) {
    const Price& p = d.prices[k];
    names.insert({{p.provider, p.model, p.effective_from_ms, p.service_tier}, k});
  }
  for (std::size_t k = 0; k < d.prices.size(); ++k) {
    const Price& p = d.prices[k];
    for (const std::string& a : p.aliases) {
      auto [it, fresh] = names.insert({{p.provider, a, p.effective_from_ms, p.service_tier}, k});
      if (!fresh)
        throw ConfigError{p.source + ": pricing.aliases: \"" + a + "\" of " + p.provider + "/" +
                          p.model + " already names " + p.provider + "/" +
                          d.prices[it->second].model + " (" + d.prices[it->second].source + ")"};
    }
  }
}

}  // namespace

PriceBook assemble_prices(PriceDraft& d, const std::string& currency) {
  drop_aliased_catalog_entries(d);
  for (std::size_t k = 0; k < d.prices.size(); ++k) {
    const Price& p = d.prices[k];
    if (p.currency != currency && !d.rates.count(p.currency))
      throw ConfigError{p.source + ": pricing.currency: no exchange rate for " + p.currency +
                        " in billing.rates (billing currency is " + currency + ")"};
  }
  check_aliases(d);
  return PriceBook(std::move(d.prices), currency, std::move(d.rates));
}

}  // namespace aiusage::config_toml
