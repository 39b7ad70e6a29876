#pragma once
// Price catalogs of other projects read into price entries: LiteLLM's
// model_prices_and_context_window.json (README, "Price catalogs").
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/result.hpp"

namespace aiusage {

// Keys of a catalog that were not imported, by reason.
struct CatalogSkips {
  std::size_t mode = 0;       // a mode other than chat, completion or responses, or none
  std::size_t no_price = 0;   // no input_cost_per_token or no output_cost_per_token
  std::size_t bad_value = 0;  // a price that is not a number in range, exact to the nano per unit
  std::size_t duplicate = 0;  // the provider and model of an earlier key
};

struct CatalogPrices {
  std::vector<Price> prices;  // in key order; a key's service-tier entries after its standard one
  std::size_t keys = 0;       // model keys read
  std::size_t imported = 0;   // keys that gave entries
  CatalogSkips skipped;
  std::vector<std::string> refused;  // "<key>: <field>: <reason>" of each bad value
};

// LiteLLM's catalog: per-token USD prices read from their text exactly, one entry per key of a
// chat, completion or responses mode (plus one per service tier it prices), source
// "<catalog_name>:<key>". An error only when the text is not one JSON object (with line:column).
Result<CatalogPrices> read_litellm_catalog(std::string_view json_text,
                                           const std::string& catalog_name);

// A JSON number's text (exponent allowed) times 10^shift, in nanos, exactly: an error when it is
// negative, above kMaxPriceNanos or finer than one nano (never rounded).
Result<Nanos> scaled_decimal_nanos(std::string_view number, int shift);

}  // namespace aiusage
