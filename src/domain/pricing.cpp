#include "aiusage/pricing.hpp"

#include <algorithm>

#include "aiusage/provider.hpp"

namespace aiusage {

namespace {

bool all_digits(std::string_view s, std::size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits and dashes in the shape of `form` ('d' a digit, '-' itself).
bool shaped(std::string_view s, std::string_view form) {
  if (s.size() != form.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (form[i] == '-' ? s[i] != '-' : (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

// A date or revision segment: 20241022, 2024-08-06, 0613, 001.
bool is_revision(std::string_view s) {
  return all_digits(s, 8) || shaped(s, "dddd-dd-dd") || all_digits(s, 4) || all_digits(s, 3);
}

// A date after -preview or -exp: 20250514, 2025-05-14, 0514, 05-14, 09-2025.
bool is_preview_date(std::string_view s) {
  return all_digits(s, 8) || shaped(s, "dddd-dd-dd") || all_digits(s, 4) || shaped(s, "dd-dd") ||
         shaped(s, "dd-dddd");
}

// "vN" or "vN:M".
bool is_v_revision(std::string_view s) {
  if (s.size() < 2 || s[0] != 'v') return false;
  s.remove_prefix(1);
  std::size_t colon = s.find(':');
  auto digits = [](std::string_view d) { return !d.empty() && all_digits(d, d.size()); };
  if (colon == std::string_view::npos) return digits(s);
  return digits(s.substr(0, colon)) && digits(s.substr(colon + 1));
}

// How specific a match is; 0 = none. Exact > name + version suffix (longer name first) > alias >
// pattern > "*". Patterns are tried only when `patterns` is set.
// Added to the rank of a configuration file's entry: above every rule of a catalog's.
constexpr std::uint64_t kFileRank = 8ULL << 32;

std::uint64_t match_rank(const Price& p, std::string_view model, bool patterns) {
  constexpr std::uint64_t kExact = 5ULL << 32, kSuffix = 4ULL << 32, kAlias = 3ULL << 32,
                          kPattern = 2ULL << 32, kWildcard = 1ULL << 32;
  if (p.model == model) return kExact;
  if (p.model == "*") return kWildcard;
  if (model.size() > p.model.size() && model.substr(0, p.model.size()) == p.model &&
      is_version_suffix(model.substr(p.model.size())))
    return kSuffix + p.model.size();
  if (std::find(p.aliases.begin(), p.aliases.end(), model) != p.aliases.end()) return kAlias;
  if (patterns && p.match && std::regex_match(model.begin(), model.end(), *p.match))
    return kPattern;
  return 0;
}

}  // namespace

void with_detail_defaults(ClassPrices& c, const std::array<bool, kTokenDetails>& given) {
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    if (!given[d]) c.details[d] = c.of(kTokenDetailInfo[d].priced_as);
}

bool is_version_suffix(std::string_view tail) {
  if (tail.size() >= 2 && tail[0] == '@') return true;
  if (tail.size() < 2 || tail[0] != '-') return false;
  std::string_view s = tail.substr(1);
  if (s == "latest" || is_revision(s) || is_v_revision(s)) return true;
  for (std::string_view word : {"preview-", "exp-"}) {
    if (s.substr(0, word.size()) == word && is_preview_date(s.substr(word.size()))) return true;
  }
  return false;
}

PriceBook::PriceBook(std::vector<Price> prices, std::string billing_currency,
                     std::map<std::string, Nanos> rates)
    : prices_(std::move(prices)),
      billing_currency_(std::move(billing_currency)),
      rates_(std::move(rates)) {
  by_provider_.resize(prices_.size());
  for (std::size_t i = 0; i < prices_.size(); ++i) by_provider_[i] = i;
  std::stable_sort(by_provider_.begin(), by_provider_.end(), [&](std::size_t a, std::size_t b) {
    return prices_[a].provider < prices_[b].provider;
  });
}

const PriceTier* tier_for(const Price& p, std::int64_t prompt_tokens) {
  const PriceTier* tier = nullptr;
  for (const PriceTier& t : p.tiers)
    if (prompt_tokens > t.above_prompt_tokens) tier = &t;  // ascending: the last one exceeded
  return tier;
}

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxToolNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::optional<ServiceTier> service_tier_named(std::string_view name) {
  for (std::size_t i = 0; i < kServiceTierNames.size(); ++i)
    if (kServiceTierNames[i] == name) return static_cast<ServiceTier>(i);
  return std::nullopt;
}

std::optional<PriceNote> price_note(const CostQuote& q, ServiceTier requested) {
  if (!q.priced || q.entry == nullptr) return std::nullopt;
  PriceNote n;
  n.entry = q.entry->provider + "/" + q.entry->model;
  if (q.tier != nullptr) n.above_prompt_tokens = q.tier->above_prompt_tokens;
  n.service_tier = q.entry->service_tier;
  if (requested != n.service_tier) n.requested_service_tier = requested;
  n.source = q.entry->source;
  return n;
}

const Price* PriceBook::find(std::string_view provider, std::string_view model, std::int64_t at_ms,
                             ServiceTier tier) const {
  const std::string own = normalize_provider(provider);
  std::vector<PriceKey> keys;  // the other forms, computed on the first miss
  for (ServiceTier t : {tier, ServiceTier::standard}) {
    if (const Price* p = find_in(own, model, at_ms, t, false)) return p;
    if (keys.empty()) keys = price_keys(own, model);
    for (std::size_t i = 1; i < keys.size(); ++i)
      if (const Price* p = find_in(keys[i].provider, keys[i].model, at_ms, t, false)) return p;
    if (const Price* p = find_in(own, model, at_ms, t, true)) return p;
    if (tier == ServiceTier::standard) break;
  }
  return nullptr;
}

const Price* PriceBook::find_in(std::string_view provider, std::string_view model,
                                std::int64_t at_ms, ServiceTier tier, bool wildcard) const {
  // Only the provider's prices, in file order (why: docs/design.md).
  auto name = [this](std::size_t i) { return std::string_view(prices_[i].provider); };
  auto first = std::lower_bound(by_provider_.begin(), by_provider_.end(), provider,
                                [&](std::size_t i, std::string_view v) { return name(i) < v; });
  auto last = std::upper_bound(first, by_provider_.end(), provider,
                               [&](std::string_view v, std::size_t i) { return v < name(i); });
  const Price* best = nullptr;
  std::uint64_t best_rank = 0;
  // Patterns (regex, the slowest rule) only when no cheaper rule matched a file's entry.
  for (bool patterns : {false, true}) {
    if (patterns && (wildcard || (best != nullptr && !best->from_catalog))) break;
    for (auto it = first; it != last; ++it) {
      const Price& p = prices_[*it];
      if (p.effective_from_ms > at_ms || p.service_tier != tier || (p.model == "*") != wildcard)
        continue;
      std::uint64_t rank = match_rank(p, model, patterns);
      if (rank == 0) continue;
      if (!p.from_catalog) rank += kFileRank;
      if (rank > best_rank ||
          (rank == best_rank && p.effective_from_ms > best->effective_from_ms)) {
        best = &p;
        best_rank = rank;
      }
    }
  }
  return best;
}

CostQuote PriceBook::quote_call(std::string_view provider, std::string_view model,
                                std::int64_t at_ms, const BilledCall& call) const {
  const TokenCounts& tokens = call.tokens;
  const Price* p = find(provider, model, at_ms, call.tier);
  if (p == nullptr) return {};
  std::int64_t prompt = tokens.input + tokens.cache_read + tokens.cache_write;
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    if (kTokenDetailInfo[d].of_prompt) prompt += tokens.details[d];
  const PriceTier* tier = tier_for(*p, prompt);
  const ClassPrices& c = tier ? static_cast<const ClassPrices&>(*tier) : *p;
  // Bounded by kMaxTokens × kMaxPriceNanos × 10 × kMaxRateNanos < 2^127.
  Int128 sum = static_cast<Int128>(tokens.input) * c.input +
               static_cast<Int128>(tokens.cache_read) * c.cache_read +
               static_cast<Int128>(tokens.cache_write) * c.cache_write +
               static_cast<Int128>(tokens.output) * c.output;
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    sum += static_cast<Int128>(tokens.details[d]) * c.details[d];
  // Fees, in the same millionths: a request's fee × 1e6, a tool's price per 1,000 calls × 1e3.
  // Each term ≤ kMaxToolCalls × kMaxPriceNanos × 1e3 = 1e22; with kMaxTools of them and the
  // rate still < 2^127.
  sum += static_cast<Int128>(call.requests) * p->per_request * 1'000'000;
  std::vector<std::size_t> unpriced_tools;
  if (call.tools != nullptr) {
    for (std::size_t i = 0; i < call.tools->size(); ++i) {
      const ToolCall& t = (*call.tools)[i];
      auto price = p->tool_prices.find(t.name);
      if (price == p->tool_prices.end()) {
        unpriced_tools.push_back(i);
        continue;
      }
      if (call.requests > 0) sum += static_cast<Int128>(t.calls) * price->second * 1'000;
    }
  }
  Int128 den = 1'000'000;
  if (p->currency != billing_currency_) {
    sum *= rates_.at(p->currency);
    den *= kNanosPerUnit;
  }
  Int128 cost = div_round_half_even(sum, den);
  if (cost > kMaxRecordCostNanos) return {0, true, true, p, tier, std::move(unpriced_tools)};
  return {static_cast<Nanos>(cost), true, false, p, tier, std::move(unpriced_tools)};
}

}  // namespace aiusage
