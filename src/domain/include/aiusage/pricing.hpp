#pragma once
// Price table and exact cost of one record.
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/money.hpp"

namespace aiusage {

// Tokens of one call split by price class; `input` is the uncached part of the prompt.
struct TokenCounts {
  std::int64_t input = 0;
  std::int64_t cache_read = 0;
  std::int64_t cache_write = 0;
  std::int64_t output = 0;
};

// Prices of the four classes per 1M tokens in nano-units of the entry's currency.
struct ClassPrices {
  Nanos input = 0;
  Nanos output = 0;
  Nanos cache_read = 0;
  Nanos cache_write = 0;
};

// A long-context tier: the prices of a whole request whose promptTokens exceed the threshold.
struct PriceTier : ClassPrices {
  std::int64_t above_prompt_tokens = 0;
};

struct Price : ClassPrices {
  std::string provider;
  std::string model;  // a model name (matched with a version suffix too, see find) or "*"
  std::string currency;
  std::int64_t effective_from_ms = INT64_MIN;
  std::vector<std::string> aliases;         // further exact names of this entry
  std::shared_ptr<const std::regex> match;  // whole-name pattern, or none
  std::vector<PriceTier> tiers;             // ascending above_prompt_tokens, all distinct
};

struct CostQuote {
  Nanos cost = 0;
  bool priced = false;
  bool too_large = false;  // above kMaxRecordCostNanos; cost is then 0 and the record is refused
  const Price* entry = nullptr;     // the entry applied (priced), owned by the PriceBook
  const PriceTier* tier = nullptr;  // its tier applied, or nullptr for the entry's own prices
};

// True when `tail`, what follows a configured name in a model name, is one version suffix:
// "-" then a date (8 digits, YYYY-MM-DD, 4 or 3 digits), "-latest", "-vN", "-vN:M", "@..." or
// "-preview-"/"-exp-" then a date (also MM-DD, MM-YYYY).
bool is_version_suffix(std::string_view tail);

class PriceBook {
 public:
  PriceBook() = default;
  // `rates` maps a currency to nano-units of `billing_currency` per unit; every price currency
  // other than the billing currency must have one (checked by the config loader).
  PriceBook(std::vector<Price> prices, std::string billing_currency,
            std::map<std::string, Nanos> rates);

  // The entry in force at `at_ms` (latest effective_from not after it) of the first rule that
  // matches: the exact model; a name followed by one version suffix (the longest name); an
  // alias; a `match` pattern (the first in file order); the provider's "*". Else nullptr.
  const Price* find(std::string_view provider, std::string_view model, std::int64_t at_ms) const;
  // Σ tokens × price / 1e6 at the highest tier whose threshold the prompt (input + cache read +
  // cache write) exceeds, converted to the billing currency, rounded half-even once.
  CostQuote quote(std::string_view provider, std::string_view model, std::int64_t at_ms,
                  const TokenCounts& tokens) const;
  const std::string& billing_currency() const { return billing_currency_; }
  const std::vector<Price>& prices() const { return prices_; }

 private:
  std::vector<Price> prices_;
  std::vector<std::size_t> by_provider_;  // indexes of prices_ by provider, file order within one
  std::string billing_currency_ = "USD";
  std::map<std::string, Nanos> rates_;
};

// Largest promptTokens or completionTokens of one record (one call): 10× the largest context
// window offered today (10M tokens).
inline constexpr std::int64_t kMaxTokens = 100'000'000;
// Largest price per 1M tokens and largest exchange rate accepted from configuration.
inline constexpr Nanos kMaxPriceNanos = 10'000 * kNanosPerUnit;
inline constexpr Nanos kMaxRateNanos = 10'000 * kNanosPerUnit;
// Largest cost of one record: prompt and completion of kMaxTokens each at the largest price,
// 2 × 1e8 tokens × 1e13 nanos / 1e6 tokens = 2e15 nanos (2 million units).
inline constexpr Nanos kMaxRecordCostNanos = 2 * kMaxTokens * (kMaxPriceNanos / 1'000'000);

}  // namespace aiusage
