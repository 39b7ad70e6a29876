#include "aiusage/series_fold.hpp"

#include <algorithm>
#include <tuple>

namespace aiusage {

namespace {

// Positions of `entries` in first-seen order (first_id, then key): indexes are sorted, not the
// entries, which are hundreds of bytes each.
std::vector<std::uint32_t> first_seen(const std::vector<SeriesEntry>& entries) {
  std::vector<std::pair<std::int64_t, std::uint32_t>> by_id(entries.size());
  for (std::uint32_t i = 0; i < by_id.size(); ++i) by_id[i] = {entries[i].first_id, i};
  std::sort(by_id.begin(), by_id.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return entries[a.second].key < entries[b.second].key;
  });
  std::vector<std::uint32_t> order(by_id.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = by_id[i].second;
  return order;
}

}  // namespace

void SeriesFolder::restart() {
  governor_.emplace(limits_);
  decisions_.clear();
  row_ids_.clear();
  last_.reset();
}

FoldedPage SeriesFolder::fold(std::vector<SeriesEntry> entries) {
  return fold([&entries](const Visitor& visit) {
    for (SeriesEntry& e : entries) {
      e.usage.first_id = e.first_id;
      visit(e.key, e.usage);
    }
  });
}

struct SeriesFolder::Sums {
  FoldedPage page;
  std::vector<SeriesRow> rows;  // by row id
  std::vector<bool> touched;    // rows with a series on this page
  void add(std::size_t row, bool apart, const SeriesUsage& u) {
    SeriesRow& r = rows[row];
    r.total += u.total;
    r.month_calls += u.month.calls;
    r.month_hits += u.month.cache_hits;
    touched[row] = true;
    if (!apart) {
      ++page.folded;
      if (u.month.calls != 0) ++page.folded_month;
    }
  }
};

void SeriesFolder::decide(const std::vector<SeriesEntry>& fresh,
                          const std::vector<std::uint32_t>& order, Sums& sums) {
  const SeriesKeyHash hash;
  for (std::uint32_t i : order) {
    const SeriesEntry& e = fresh[i];
    governor_->observe(e.key);
    SeriesKey row = governor_->row_of(e.key);
    const bool apart = row == e.key;
    auto [it, added] =
        row_ids_.try_emplace(std::move(row), static_cast<std::int32_t>(sums.rows.size()));
    if (added) {
      sums.rows.emplace_back();
      sums.touched.push_back(false);
    }
    if (e.first_id > 0) {
      const auto id = static_cast<std::size_t>(e.first_id);
      if (id >= decisions_.size()) decisions_.resize(id + 1);  // grows geometrically
      decisions_[id] = {it->second, apart, hash(e.key)};
    }
    sums.add(static_cast<std::size_t>(it->second), apart, e.usage);
  }
  if (!order.empty()) last_.emplace(fresh[order.back()].first_id, fresh[order.back()].key);
}

FoldedPage SeriesFolder::fold(const Walk& walk) {
  std::lock_guard lock(mutex_);
  if (!governor_) restart();
  const SeriesKeyHash hash;
  Sums sums{{}, std::vector<SeriesRow>(row_ids_.size()), std::vector<bool>(row_ids_.size())};
  std::vector<SeriesEntry> fresh;  // not decided yet
  walk([&](const SeriesKey& key, const SeriesUsage& u) {
    if (const auto id = static_cast<std::size_t>(u.first_id); id > 0 && id < decisions_.size()) {
      const Decision& d = decisions_[id];
      if (d.row >= 0 && d.hash == hash(key))
        return sums.add(static_cast<std::size_t>(d.row), d.apart, u);
    }
    fresh.push_back({u.first_id, key, u});
  });
  std::vector<std::uint32_t> order = first_seen(fresh);
  const SeriesEntry* first = order.empty() ? nullptr : &fresh[order.front()];
  const bool in_order =
      !first || (first->first_id > 0 && (!last_ || std::tie(last_->first, last_->second) <
                                                       std::tie(first->first_id, first->key)));
  if (!in_order) {  // decide every series afresh, in first-seen order
    restart();
    sums = {};
    fresh.clear();
    walk([&](const SeriesKey& key, const SeriesUsage& u) {
      fresh.push_back({u.first_id, key, u});
    });
    order = first_seen(fresh);
  }
  decide(fresh, order, sums);
  for (const auto& [key, row] : row_ids_) {
    if (!sums.touched[static_cast<std::size_t>(row)]) continue;
    SeriesRow& r = sums.rows[static_cast<std::size_t>(row)];
    r.key = key;
    sums.page.rows.push_back(std::move(r));
  }
  return std::move(sums.page);
}

}  // namespace aiusage
