#include <algorithm>
#include <vector>

#include "aiusage/aggregate.hpp"

namespace aiusage {

void keep_largest(std::map<std::string, UsageSums>& by, std::size_t limit) {
  if (by.size() <= limit) return;
  using Entry = std::map<std::string, UsageSums>::iterator;
  std::vector<Entry> order;
  order.reserve(by.size());
  for (auto it = by.begin(); it != by.end(); ++it) order.push_back(it);
  const auto larger = [](const Entry& a, const Entry& b) {
    const UsageSums &x = a->second, &y = b->second;
    if (x.cost != y.cost) return x.cost > y.cost;
    if (x.tokens() != y.tokens()) return x.tokens() > y.tokens();
    if (x.calls != y.calls) return x.calls > y.calls;
    return a->first < b->first;
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(limit), order.end(),
                   larger);
  UsageSums other;
  // Erasing a map entry leaves the iterators to the others valid.
  for (auto it = order.begin() + static_cast<std::ptrdiff_t>(limit); it != order.end(); ++it) {
    other += (*it)->second;
    by.erase(*it);
  }
  by[std::string(kOtherLabel)] += other;
}

}  // namespace aiusage
