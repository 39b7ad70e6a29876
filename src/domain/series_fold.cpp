#include "aiusage/series_fold.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace aiusage {

namespace {

bool before(const SeriesEntry& a, const SeriesEntry& b) {
  return std::tie(a.first_id, a.key) < std::tie(b.first_id, b.key);
}

}  // namespace

FoldedPage SeriesFolder::fold(std::vector<SeriesEntry> entries) {
  std::sort(entries.begin(), entries.end(), before);
  FoldedPage page;
  std::map<SeriesKey, SeriesRow> rows;
  {
    std::lock_guard lock(mutex_);
    // The entries up to the last decided one must be exactly those decided before.
    std::size_t known = 0;
    if (last_) {
      const SeriesEntry probe{last_->first, last_->second, {}};
      known = static_cast<std::size_t>(
          std::upper_bound(entries.begin(), entries.end(), probe, before) - entries.begin());
    }
    if (!governor_ || known != decided_) {
      governor_.emplace(limits_);
      decided_ = 0;
    }
    for (std::size_t i = decided_; i < entries.size(); ++i) governor_->observe(entries[i].key);
    decided_ = entries.size();
    if (!entries.empty()) last_.emplace(entries.back().first_id, entries.back().key);
    for (const SeriesEntry& e : entries) {
      SeriesKey row = governor_->row_of(e.key);
      const bool apart = row == e.key;
      SeriesRow& r = rows[std::move(row)];
      r.total += e.usage.total;
      r.month_calls += e.usage.month.calls;
      r.month_hits += e.usage.month.cache_hits;
      if (!apart) {
        ++page.folded;
        if (e.usage.month.calls != 0) ++page.folded_month;
      }
    }
  }
  page.rows.reserve(rows.size());
  for (auto& [key, row] : rows) {
    row.key = key;
    page.rows.push_back(std::move(row));
  }
  return page;
}

}  // namespace aiusage
