#include "aiusage/pricing.hpp"

#include <algorithm>

namespace aiusage {

namespace {

bool is_boundary(char c) { return c == '-' || c == '@' || c == ':'; }

// 0 = no match; otherwise a rank where higher is more specific.
std::size_t match_rank(std::string_view configured, std::string_view model) {
  if (configured == "*") return 1;
  if (configured == model) return SIZE_MAX;
  if (model.size() > configured.size() && model.substr(0, configured.size()) == configured &&
      is_boundary(model[configured.size()]))
    return 2 + configured.size();
  return 0;
}

}  // namespace

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

const Price* PriceBook::find(std::string_view provider, std::string_view model,
                             std::int64_t at_ms) const {
  const Price* best = nullptr;
  std::size_t best_rank = 0;
  // Only the provider's prices, in file order (a full scan cost ~0.3 us per record).
  auto name = [this](std::size_t i) { return std::string_view(prices_[i].provider); };
  auto first = std::lower_bound(by_provider_.begin(), by_provider_.end(), provider,
                                [&](std::size_t i, std::string_view v) { return name(i) < v; });
  auto last = std::upper_bound(first, by_provider_.end(), provider,
                               [&](std::string_view v, std::size_t i) { return v < name(i); });
  for (auto it = first; it != last; ++it) {
    const Price& p = prices_[*it];
    if (p.effective_from_ms > at_ms) continue;
    std::size_t rank = match_rank(p.model, model);
    if (rank == 0) continue;
    if (rank > best_rank || (rank == best_rank && p.effective_from_ms > best->effective_from_ms)) {
      best = &p;
      best_rank = rank;
    }
  }
  return best;
}

CostQuote PriceBook::quote(std::string_view provider, std::string_view model, std::int64_t at_ms,
                           const TokenCounts& tokens) const {
  const Price* p = find(provider, model, at_ms);
  if (p == nullptr) return {0, false};
  // Bounded by kMaxTokens × kMaxPriceNanos × 4 × kMaxRateNanos < 2^127.
  Int128 sum = static_cast<Int128>(tokens.input) * p->input +
               static_cast<Int128>(tokens.cache_read) * p->cache_read +
               static_cast<Int128>(tokens.cache_write) * p->cache_write +
               static_cast<Int128>(tokens.output) * p->output;
  Int128 den = 1'000'000;
  if (p->currency != billing_currency_) {
    sum *= rates_.at(p->currency);
    den *= kNanosPerUnit;
  }
  Int128 cost = div_round_half_even(sum, den);
  if (cost > kMaxRecordCostNanos) return {0, true, true};
  return {static_cast<Nanos>(cost), true};
}

}  // namespace aiusage
