#include "aiusage/ledger.hpp"

#include <mutex>

namespace aiusage {

SeriesKey Ledger::fold(SeriesKey key) const {
  if (!labels_.model) key.model.clear();
  if (!labels_.project) key.project.clear();
  if (!labels_.user) key.user.clear();
  return key;
}

std::unique_lock<std::shared_mutex> Ledger::write_lock() {
  writers_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(mutex_);
  writers_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

void Ledger::add_month_row(const SeriesKey& key, const UsageSums& sums) {
  MonthUsage billed{sums.tokens(), sums.cost};
  state_.month_series[fold(key)] += sums;
  state_.month_users[key.user] += billed;
  if (!key.project.empty()) state_.month_projects[key.project] += billed;
  state_.month_global += billed;
}

void Ledger::reset(const std::vector<SeriesSums>& totals, Period month,
                   const std::vector<SeriesSums>& month_rows) {
  auto lock = write_lock();
  state_.series.clear();
  state_.unpriced.clear();
  state_.records = 0;
  for (const auto& row : totals) {
    state_.series[fold(row.key)] += row.sums;
    if (row.sums.unpriced > 0)
      state_.unpriced[{row.key.provider, row.key.model}] += row.sums.unpriced;
    state_.records += row.sums.calls;
  }
  lock.unlock();
  reset_month(month, month_rows);
}

void Ledger::reset_month(Period month, const std::vector<SeriesSums>& month_rows) {
  auto lock = write_lock();
  state_.month = month;
  state_.month_series.clear();
  state_.month_users.clear();
  state_.month_projects.clear();
  state_.month_global = {};
  for (const auto& row : month_rows) add_month_row(row.key, row.sums);
}

void Ledger::apply(const std::vector<const UsageRecord*>& records) {
  auto lock = write_lock();
  for (const UsageRecord* r : records) {
    SeriesKey key{r->provider, r->model, r->project, r->user};
    UsageSums one;
    one.add(*r);
    state_.series[fold(key)] += one;
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
