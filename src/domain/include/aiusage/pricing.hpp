#pragma once
// Price table and exact cost of one record.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/money.hpp"

namespace aiusage {

// Token classes priced apart from the four basic ones, each a part of a record's prompt or of its
// completion; their names are the price keys and the metrics' token_type values.
enum TokenDetail : std::size_t {
  kCacheWrite1h,  // prompt tokens written to a 1-hour cache (cache_write: the 5-minute class)
  kAudioInput,    // parts of the uncached prompt
  kImageInput,
  kReasoning,  // parts of the completion
  kAudioOutput,
  kImageOutput,
  kTokenDetails
};
enum class BasicClass { input, output, cache_read, cache_write };
struct TokenDetailInfo {
  std::string_view name;      // price key, token_type
  std::string_view api_name;  // the record's usage field and the statistics' key
  bool of_prompt;
  BasicClass priced_as;  // the class whose price applies when the entry names none
};
inline constexpr std::array<TokenDetailInfo, kTokenDetails> kTokenDetailInfo = {{
    {"cache_write_1h", "cacheWrite1hTokens", true, BasicClass::cache_write},
    {"audio_input", "audioInputTokens", true, BasicClass::input},
    {"image_input", "imageInputTokens", true, BasicClass::input},
    {"reasoning", "reasoningTokens", false, BasicClass::output},
    {"audio_output", "audioOutputTokens", false, BasicClass::output},
    {"image_output", "imageOutputTokens", false, BasicClass::output},
}};
using TokenDetails = std::array<std::int64_t, kTokenDetails>;

// Tokens of one call split by price class; `input` is the uncached text part of the prompt and
// `output` the completion without its detail classes.
struct TokenCounts {
  std::int64_t input = 0;
  std::int64_t cache_read = 0;
  std::int64_t cache_write = 0;
  std::int64_t output = 0;
  TokenDetails details{};
};

// A record's processing tier; an entry of a tier prices only records of that tier.
enum class ServiceTier { standard, batch, flex, priority };
inline constexpr std::array<std::string_view, 4> kServiceTierNames = {"standard", "batch", "flex",
                                                                      "priority"};
inline std::string_view to_string(ServiceTier t) {
  return kServiceTierNames[static_cast<std::size_t>(t)];
}
std::optional<ServiceTier> service_tier_named(std::string_view name);

// Calls of one server-side tool (web_search, …) in one record; `priced` is set when pricing.
struct ToolCall {
  std::string name;
  std::int64_t calls = 0;
  bool priced = false;
  bool operator==(const ToolCall&) const = default;
};
using ToolCalls = std::vector<ToolCall>;                  // by name, distinct, calls > 0
inline constexpr std::int64_t kMaxToolCalls = 1'000'000;  // of one tool in one record
inline constexpr std::size_t kMaxTools = 16;              // tools named in one record
inline constexpr std::size_t kMaxToolNameBytes = 64;
// 1 to kMaxToolNameBytes of A-Z a-z 0-9 _ . - (a label value and a TOML bare key).
bool valid_tool_name(std::string_view name);

// Prices per 1M tokens in nano-units of the entry's currency, every class resolved (a detail
// class the configuration omits carries its priced_as class's price, see with_detail_defaults).
struct ClassPrices {
  Nanos input = 0;
  Nanos output = 0;
  Nanos cache_read = 0;
  Nanos cache_write = 0;
  std::array<Nanos, kTokenDetails> details{};

  Nanos of(BasicClass c) const {
    switch (c) {
      case BasicClass::input:
        return input;
      case BasicClass::output:
        return output;
      case BasicClass::cache_read:
        return cache_read;
      case BasicClass::cache_write:
        return cache_write;
    }
    return 0;
  }
};

// Sets every detail class not in `given` to its priced_as class's price.
void with_detail_defaults(ClassPrices& c, const std::array<bool, kTokenDetails>& given);

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
  ServiceTier service_tier = ServiceTier::standard;
  Nanos per_request = 0;                                  // per call, in the entry's currency
  std::map<std::string, Nanos, std::less<>> tool_prices;  // per 1,000 calls of each tool
  std::string source;         // where it was configured: "file:line:col", "<catalog>:<key>"
  bool from_catalog = false;  // imported ([[catalog]]): any rule of a file's entry beats it
};

// The highest of `p`'s long-context tiers whose threshold `prompt_tokens` exceeds, or nullptr.
const PriceTier* tier_for(const Price& p, std::int64_t prompt_tokens);

// What one call is billed for: its tokens by class, one request (none when answered from the
// application's cache), its tool calls, in its service tier.
struct BilledCall {
  TokenCounts tokens;
  std::int64_t requests = 1;
  const ToolCalls* tools = nullptr;
  ServiceTier tier = ServiceTier::standard;
};

struct CostQuote {
  Nanos cost = 0;
  bool priced = false;
  bool too_large = false;  // above kMaxRecordCostNanos; cost is then 0 and the record is refused
  const Price* entry = nullptr;     // the entry applied (priced), owned by the PriceBook
  const PriceTier* tier = nullptr;  // its tier applied, or nullptr for the entry's own prices
  // Indexes into the call's tools of those the entry has no price for (their calls cost 0).
  std::vector<std::size_t> unpriced_tools;
};

// Which price applied to a record, for its answer: the entry as configured, its long-context
// tier's threshold, its service tier (and the record's when that had no entry), its source.
struct PriceNote {
  std::string entry;  // "<provider>/<model as configured>"
  std::optional<std::int64_t> above_prompt_tokens;
  ServiceTier service_tier = ServiceTier::standard;
  std::optional<ServiceTier> requested_service_tier;  // set when it differs
  std::string source;
};
// The note of a priced quote for a call in tier `requested`; nullopt when unpriced.
std::optional<PriceNote> price_note(const CostQuote& q, ServiceTier requested);

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
  // alias; a `match` pattern (the first in file order), the configuration files' entries by
  // every rule before a catalog's; tried for each of price_keys() in turn (provider.hpp); then
  // the provider's "*". Else nullptr. Among the entries of service
  // tier `tier` first; without one, among the standard entries.
  const Price* find(std::string_view provider, std::string_view model, std::int64_t at_ms,
                    ServiceTier tier = ServiceTier::standard) const;
  // Σ tokens × price / 1e6 at the highest tier whose threshold the prompt (every class of
  // it) exceeds, converted to the billing currency, rounded half-even once.
  // Plus the entry's per_request fee per request and its tool prices per 1,000 calls.
  CostQuote quote_call(std::string_view provider, std::string_view model, std::int64_t at_ms,
                       const BilledCall& call) const;
  CostQuote quote(std::string_view provider, std::string_view model, std::int64_t at_ms,
                  const TokenCounts& tokens) const {
    return quote_call(provider, model, at_ms, BilledCall{tokens});
  }
  const std::string& billing_currency() const { return billing_currency_; }
  const std::vector<Price>& prices() const { return prices_; }

 private:
  // The best entry of `provider` in `tier` for `model` by the rules above "*", or only "*".
  const Price* find_in(std::string_view provider, std::string_view model, std::int64_t at_ms,
                       ServiceTier tier, bool wildcard) const;
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
// 2 × 1e8 tokens × 1e13 nanos / 1e6 tokens = 2e15 nanos (2 million units); a record above it is
// refused.
inline constexpr Nanos kMaxRecordCostNanos = 2 * kMaxTokens * (kMaxPriceNanos / 1'000'000);

}  // namespace aiusage
