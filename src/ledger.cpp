#include "aiusage/ledger.hpp"

#include <mutex>
#include <thread>

namespace aiusage {

std::unique_lock<std::shared_mutex> Ledger::write_lock() {
  writers_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(mutex_);
  writers_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

SeriesKeyView Ledger::fold_view(SeriesKeyView key) const {
  if (!labels_.model) key.model = {};
  if (!labels_.project) key.project = {};
  if (!labels_.user) key.user = {};
  return key;
}

UsageSums& Ledger::slot(SeriesMap& map, Index& index, SeriesKeyView key, bool at_end) {
  if (auto it = index.find(key); it != index.end()) return it->second->second;
  SeriesKey owned{std::string(key.provider), std::string(key.model), std::string(key.project),
                  std::string(key.user)};
  auto at = at_end ? map.emplace_hint(map.end(), std::move(owned), UsageSums{})
                   : map.emplace(std::move(owned), UsageSums{}).first;
  index.emplace(SeriesKeyView(at->first), at);
  return at->second;
}

namespace {

MonthUsage& subject(std::map<std::string, MonthUsage, std::less<>>& map, std::string_view name) {
  auto it = map.find(name);
  if (it == map.end()) it = map.emplace(std::string(name), MonthUsage{}).first;
  return it->second;
}

}  // namespace

void Ledger::add_month_row(SeriesKeyView key, const UsageSums& sums, bool at_end) {
  MonthUsage billed{sums.tokens(), sums.cost};
  slot(state_.month_series, month_index_, fold_view(key), at_end) += sums;
  subject(state_.month_users, key.user) += billed;
  if (!key.project.empty()) subject(state_.month_projects, key.project) += billed;
  state_.month_global += billed;
}

void Ledger::clear_all_time() {
  state_.series.clear();
  series_index_.clear();
  state_.unpriced.clear();
  state_.records = 0;
}

void Ledger::clear_month(Period month) {
  state_.month = month;
  state_.month_series.clear();
  month_index_.clear();
  state_.month_users.clear();
  state_.month_projects.clear();
  state_.month_global = {};
}

void Ledger::reset(const SeriesTable& table, Period month) {
  auto lock = write_lock();
  clear_all_time();
  clear_month(month);
  series_index_.reserve(table.rows.size());
  month_index_.reserve(table.rows.size());
  // The month's maps and the all-time ones share no member: filled on two threads.
  std::jthread month_part([&] {
    for (const SeriesTable::Row& row : table.rows)
      if (const UsageSums& sums = table.period[row.id]; sums.calls != 0)
        add_month_row(table.key(row), sums, true);
  });
  for (const SeriesTable::Row& row : table.rows) {
    const UsageSums& total = table.total[row.id];
    if (total.calls == 0) continue;
    const SeriesKeyView key = table.key(row);
    slot(state_.series, series_index_, fold_view(key), true) += total;
    if (total.unpriced > 0)
      state_.unpriced[{std::string(key.provider), std::string(key.model)}] += total.unpriced;
    state_.records += total.calls;
  }
}

void Ledger::reset_month(Period month, const std::vector<SeriesSums>& month_rows) {
  auto lock = write_lock();
  clear_month(month);
  for (const auto& row : month_rows) add_month_row(row.key, row.sums);
}

void Ledger::apply(const std::vector<const UsageRecord*>& records) {
  auto lock = write_lock();
  for (const UsageRecord* r : records) {
    const SeriesKeyView key(*r);
    UsageSums one;
    one.add(*r);
    slot(state_.series, series_index_, fold_view(key)) += one;
    if (!r->priced) ++state_.unpriced[{r->provider, r->model}];
    ++state_.records;
    if (r->timestamp_ms >= state_.month.start_ms && r->timestamp_ms < state_.month.end_ms)
      add_month_row(key, one);
  }
}

Period Ledger::month() const {
  std::shared_lock lock(mutex_);
  return state_.month;
}

MonthUsage Ledger::month_usage(Scope scope, const std::string& subject) const {
  std::shared_lock lock(mutex_);
  switch (scope) {
    case Scope::global:
      return state_.month_global;
    case Scope::user: {
      auto it = state_.month_users.find(subject);
      return it == state_.month_users.end() ? MonthUsage{} : it->second;
    }
    case Scope::project: {
      auto it = state_.month_projects.find(subject);
      return it == state_.month_projects.end() ? MonthUsage{} : it->second;
    }
  }
  return {};
}

}  // namespace aiusage
