#pragma once
// In-memory totals of what is committed: all-time series counters and current-month usage.
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/config.hpp"
#include "aiusage/quota.hpp"

namespace aiusage {

struct LedgerState {
  std::map<SeriesKey, UsageSums> series;  // all time, keys folded by the label set
  std::map<std::pair<std::string, std::string>, std::int64_t> unpriced;  // (provider, model)
  std::int64_t records = 0;
  Period month;
  std::map<SeriesKey, UsageSums> month_series;  // folded keys
  std::map<std::string, MonthUsage> month_users;
  std::map<std::string, MonthUsage> month_projects;
  MonthUsage month_global;
};

class Ledger {
 public:
  explicit Ledger(LabelSet labels) : labels_(labels) {}

  // Replaces everything: all-time rows (unfolded) and the rows of `month`.
  void reset(const std::vector<SeriesSums>& totals, Period month,
             const std::vector<SeriesSums>& month_rows);
  // Replaces the current-month part only.
  void reset_month(Period month, const std::vector<SeriesSums>& month_rows);
  // Adds records just committed to the store.
  void apply(const std::vector<const UsageRecord*>& records);

  Period month() const;
  MonthUsage month_usage(Scope scope, const std::string& subject) const;
  // Runs `fn(const LedgerState&)` under a shared lock.
  template <typename Fn>
  void read(Fn&& fn) const {
    std::shared_lock lock(mutex_);
    fn(state_);
  }
  SeriesKey fold(SeriesKey key) const;

 private:
  void add_month_row(const SeriesKey& key, const UsageSums& sums);
  LabelSet labels_;
  mutable std::shared_mutex mutex_;
  LedgerState state_;
};

}  // namespace aiusage
