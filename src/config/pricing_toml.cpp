#include "pricing_toml.hpp"

#include <set>
#include <tuple>

#include "toml_values.hpp"

namespace aiusage::config_toml {

void parse_prices(const std::string& src, const toml::node& node, const std::string& currency,
                  const MonthCalendar& cal, PriceDraft& d) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "pricing: expected [[pricing]] tables");
  std::set<std::tuple<std::string, std::string, std::int64_t>> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = "pricing[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], path + ": expected a table");
    check_keys(src, *t, path,
               {"provider", "model", "currency", "input", "output", "cache_read", "cache_write",
                "effective_from"});
    Price p;
    auto required = [&](const char* key) -> const toml::node& {
      if (auto n = t->get(key)) return *n;
      fail(src, *t, path + "." + key + ": missing");
    };
    p.provider = get_string(src, required("provider"), path + ".provider");
    p.model = get_string(src, required("model"), path + ".model");
    if (p.provider.empty()) fail(src, *t, path + ".provider: must not be empty");
    if (p.model.empty()) fail(src, *t, path + ".model: must not be empty");
    p.currency = currency;
    if (auto n = t->get("currency")) p.currency = get_string(src, *n, path + ".currency");
    p.input = get_money(src, required("input"), path + ".input", kMaxPriceNanos);
    p.output = get_money(src, required("output"), path + ".output", kMaxPriceNanos);
    p.cache_read = p.cache_write = p.input;
    if (auto n = t->get("cache_read"))
      p.cache_read = get_money(src, *n, path + ".cache_read", kMaxPriceNanos);
    if (auto n = t->get("cache_write"))
      p.cache_write = get_money(src, *n, path + ".cache_write", kMaxPriceNanos);
    if (auto n = t->get("effective_from"))
      p.effective_from_ms = get_date(src, *n, path + ".effective_from", cal);
    if (!seen.insert({p.provider, p.model, p.effective_from_ms}).second)
      fail(src, *t, path + ": duplicate price for " + p.provider + "/" + p.model);
    // A later file (the including one) overrides an earlier price for the same model and date.
    bool replaced = false;
    for (std::size_t k = 0; k < d.prices.size(); ++k) {
      if (d.prices[k].provider == p.provider && d.prices[k].model == p.model &&
          d.prices[k].effective_from_ms == p.effective_from_ms) {
        d.prices[k] = p;
        d.sources[k] = where(src, t->source());
        replaced = true;
      }
    }
    if (!replaced) {
      d.prices.push_back(std::move(p));
      d.sources.push_back(where(src, t->source()));
    }
  }
}

PriceBook assemble_prices(PriceDraft& d, const std::string& currency) {
  for (std::size_t k = 0; k < d.prices.size(); ++k) {
    const Price& p = d.prices[k];
    if (p.currency != currency && !d.rates.count(p.currency))
      throw ConfigError{d.sources[k] + ": pricing.currency: no exchange rate for " + p.currency +
                        " in billing.rates (billing currency is " + currency + ")"};
  }
  return PriceBook(std::move(d.prices), currency, std::move(d.rates));
}

}  // namespace aiusage::config_toml
