#pragma once
// In-memory totals of what is committed: all-time series counters and current-month usage.
#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/quota.hpp"

namespace aiusage {

// One series' sums: all time, and the part in the ledger's current month (zero when unused).
struct SeriesUsage {
  UsageSums total;
  UsageSums month;
  // The smallest store series number behind this series (its first-seen order; 0 if unknown).
  std::int64_t first_id = 0;
  bool operator==(const SeriesUsage& o) const { return total == o.total && month == o.month; }
};

// One budget window's usage by subject; an empty period when the window is not tracked.
struct WindowUsage {
  Period period;
  std::map<std::string, MonthUsage, std::less<>> users;
  std::map<std::string, MonthUsage, std::less<>> projects;
  MonthUsage global;
};

struct LedgerState {
  std::map<SeriesKey, SeriesUsage> series;  // keys folded by the label set
  std::map<std::pair<std::string, std::string>, std::int64_t> unpriced;  // (provider, model)
  // All-time tool calls by (provider, model, tool): calls, and those without a price.
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::int64_t, std::int64_t>>
      tools;
  std::int64_t records = 0;
  std::array<WindowUsage, 3> windows;  // indexed by Window; the month is always tracked
  const WindowUsage& window(Window w) const { return windows[static_cast<std::size_t>(w)]; }
  WindowUsage& window(Window w) { return windows[static_cast<std::size_t>(w)]; }
};

class Ledger {
 public:
  // The default slice hook: never stops a walk.
  struct KeepGoing {
    bool operator()() const { return true; }
  };
  static constexpr std::size_t kSlice = 512;  // series read per lock

  explicit Ledger(LabelSet labels) : labels_(std::move(labels)) {}

  // Replaces everything with a table whose period is `month`; fastest with rows in key order.
  // Label values that are not valid UTF-8 (stored by earlier versions) are read as
  // to_valid_utf8() makes them, here and in reset_month(): series then equal are summed.
  void reset(const SeriesTable& table, Period month);
  // Replaces the all-time tool-call counts (reset() empties them).
  void reset_tools(const std::vector<ToolCallTotal>& totals);
  // Replaces the current-month part only.
  void reset_month(Period month, const std::vector<SeriesSums>& month_rows);
  // Tracks the day or week window `period` with the subjects' usage in `rows` (the store's
  // sums of that period); apply() then adds the records inside it. Not for the month.
  void reset_window(Window w, Period period, const std::vector<SeriesSums>& rows);
  // Stops tracking a day or week window.
  void untrack(Window w);
  Period period(Window w) const;
  // Adds records just committed to the store. `series` is empty or names each record's series by
  // a small integer (the store's series id; the same number for the same labels): a series seen
  // before is then found without hashing its labels.
  void apply(const std::vector<const UsageRecord*>& records,
             std::span<const std::int64_t> series = {});

  Period month() const;
  MonthUsage month_usage(Scope scope, const std::string& subject) const {
    return usage(Window::month, scope, subject);
  }
  // A subject's usage in window `w` (zero when the window is not tracked).
  MonthUsage usage(Window w, Scope scope, const std::string& subject) const;  // not Scope::tag
  // Runs `fn(const LedgerState&)` under a shared lock.
  template <typename Fn>
  void read(Fn&& fn) const {
    std::shared_lock lock(mutex_);
    fn(state_);
  }
  // Runs `fn(key, usage)` over the series with calls, in key order, locking one slice at a time
  // so a commit never waits for a whole scrape; a commit between slices shows in the later ones.
  // `after_slice()` runs after each slice, unlocked; false stops the walk and is returned.
  template <typename Fn, typename After = KeepGoing>
  bool for_each_series(Fn&& fn, After&& after_slice = {}) const {
    std::optional<SeriesKey> last;
    for (bool done = false; !done;) {
      {
        // Readers step aside while a writer waits: shared_mutex lets a reader in ahead of it.
        while (writers_waiting_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
        std::shared_lock lock(mutex_);
        const SeriesMap& map = state_.series;
        auto it = last ? map.upper_bound(*last) : map.begin();
        for (std::size_t n = 0; n < kSlice && it != map.end(); ++n, ++it)
          if (it->second.total.calls != 0) fn(it->first, it->second);
        done = it == map.end();
        if (!done) last = std::prev(it)->first;
      }
      if (!after_slice()) return false;
    }
    return true;
  }

 private:
  using SeriesMap = std::map<SeriesKey, SeriesUsage>;
  std::unique_lock<std::shared_mutex> write_lock();
  // The key with the labels the label set drops emptied and its tags for the label set's tag keys
  // (for_keys(), kept in `scratch` when they differ).
  SeriesKeyView fold_view(SeriesKeyView key, std::string& scratch) const;
  // Hash index into an ordered map: apply() finds a series without walking the tree or copying
  // its key; the views point into the map's own keys.
  using Index = std::unordered_map<SeriesKeyView, SeriesMap::iterator, SeriesKeyHash, SeriesKeyEq>;
  // The entry of `key` (folded), added when missing: at the end of the map when `at_end` (a hint
  // only; a wrong one costs a search).
  SeriesUsage& slot(SeriesKeyView key, bool at_end = false);
  void clear_all_time();
  // Starts `month`: every series' month part and the subjects' usage become zero.
  void clear_month(Period month);
  // Where apply() adds a series' records, by series number; user and project hold for
  // `month_gen`.
  struct Slots {
    SeriesUsage* sums = nullptr;
    MonthUsage* user = nullptr;
    MonthUsage* project = nullptr;  // null without a project
    std::uint64_t month_gen = 0;
  };
  // Adds `sums` of `key`'s records in this month to the month part of `s` and to its subjects.
  void add_month(Slots& s, SeriesKeyView key, const UsageSums& sums);
  // Adds a record at `at_ms` to the tracked day and week windows that hold it.
  void add_short_windows(SeriesKeyView key, std::int64_t at_ms, const MonthUsage& billed);
  std::vector<Slots> slots_;
  std::uint64_t month_gen_ = 1;  // changes whenever the month's maps are cleared
  LabelSet labels_;
  mutable std::shared_mutex mutex_;
  std::atomic<int> writers_waiting_{0};
  LedgerState state_;
  Index series_index_;
};

}  // namespace aiusage
