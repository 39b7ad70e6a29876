#pragma once
// The [[pricing]] tables of the configuration files, read into one price book.
#include <toml++/toml.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"

namespace aiusage::config_toml {

// The prices of every file read so far, in order, and billing.rates.
struct PriceDraft {
  std::vector<Price> prices;  // each with its source, named in later errors
  std::map<std::string, Nanos> rates;
  // Index in `prices` of each provider, model, effective date and service tier.
  std::map<std::tuple<std::string, std::string, std::int64_t, ServiceTier>, std::size_t> index;
};

// Adds `p` to `d`, replacing an earlier price of the same provider, model, date and service tier
// (a catalog's, an included file's) in its place.
void put_price(PriceDraft& d, Price p);

// Reads a [[pricing]] array into `d`; a price without its own currency is in `currency`
// (billing's). A later file (the including one) overrides an earlier price for the same model and
// date.
void parse_prices(const std::string& src, const toml::node& node, const std::string& currency,
                  const MonthCalendar& cal, PriceDraft& d);
// The price book in `currency`, without the catalog entries the files' aliases name; throws
// ConfigError naming a price whose currency has no rate.
PriceBook assemble_prices(PriceDraft& d, const std::string& currency);

}  // namespace aiusage::config_toml
