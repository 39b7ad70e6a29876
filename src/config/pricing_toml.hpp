#pragma once
// The [[pricing]] tables of the configuration files, read into one price book.
#include <toml++/toml.h>

#include <map>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"

namespace aiusage::config_toml {

// The prices of every file read so far, in order, and billing.rates.
struct PriceDraft {
  std::vector<Price> prices;
  std::vector<std::string> sources;  // "file:line:col" of each price, for later errors
  std::map<std::string, Nanos> rates;
};

// Reads a [[pricing]] array into `d`; a price without its own currency is in `currency`
// (billing's). A later file (the including one) overrides an earlier price for the same model and
// date.
void parse_prices(const std::string& src, const toml::node& node, const std::string& currency,
                  const MonthCalendar& cal, PriceDraft& d);
// The price book in `currency`; throws ConfigError naming a price whose currency has no rate.
PriceBook assemble_prices(PriceDraft& d, const std::string& currency);

}  // namespace aiusage::config_toml
