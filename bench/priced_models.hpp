#pragma once
// The benches' model mix: `n` priced (provider, model) pairs spread evenly over the price table.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aiusage/pricing.hpp"

namespace aiusage::bench {

inline std::vector<std::pair<std::string, std::string>> priced_models(const PriceBook& prices,
                                                                      int n) {
  std::set<std::pair<std::string, std::string>> all;
  for (const Price& p : prices.prices())
    if (p.model != "*") all.insert({p.provider, p.model});
  std::vector<std::pair<std::string, std::string>> list(all.begin(), all.end()), picked;
  for (int i = 0; i < n; ++i)
    picked.push_back(list[static_cast<std::size_t>(i) * list.size() / static_cast<std::size_t>(n)]);
  return picked;
}

}  // namespace aiusage::bench
