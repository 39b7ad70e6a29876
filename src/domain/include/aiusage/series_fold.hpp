#pragma once
// The usage series of a page under the cardinality governor: every series shown on its own or
// summed, exactly, into a row with "__other__" labels (SeriesGovernor decides which).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "aiusage/ledger.hpp"
#include "aiusage/series_governor.hpp"

namespace aiusage {

// One series as the ledger holds it, with its first-seen order.
struct SeriesEntry {
  std::int64_t first_id;
  SeriesKey key;
  SeriesUsage usage;
};

// A row of the usage families: a series, or the sum of the series folded into it.
struct SeriesRow {
  SeriesKey key;
  UsageSums total;
  std::int64_t month_calls = 0, month_hits = 0;
};

struct FoldedPage {
  std::vector<SeriesRow> rows;    // in key order
  std::int64_t folded = 0;        // series summed into a row with "__other__" labels
  std::int64_t folded_month = 0;  // of them, series with calls this month
};

// Decides in first-seen order (first_id, then key), so the same series give the same rows after
// a restart. Decisions never change (series_governor.hpp), so each is kept by the series' first_id
// and a page only copies and observes the series it has not decided, those after the last decided
// one; a series that arrives out of that order (two sync threads), or one without a first_id,
// makes it decide afresh.
class SeriesFolder {
 public:
  // Calls its argument with each series (key, usage) of the page, usage.first_id set.
  using Visitor = std::function<void(const SeriesKey&, const SeriesUsage&)>;
  using Walk = std::function<void(const Visitor&)>;

  explicit SeriesFolder(GovernorLimits limits) : limits_(limits) {}
  // `walk` may run twice (when deciding afresh).
  FoldedPage fold(const Walk& walk);
  FoldedPage fold(std::vector<SeriesEntry> entries);

 private:
  struct Decision {
    std::int32_t row = -1;  // index into row_keys_; -1: not decided
    bool apart = false;
    std::size_t hash = 0;  // of the series' key, to catch a first_id reused after a reset
  };
  struct Sums;  // one page's rows, as they are added up
  // Forgets every decision.
  void restart();
  // Decides the series of `fresh`, taken in `order` (first-seen), and adds them to `sums`.
  void decide(const std::vector<SeriesEntry>& fresh, const std::vector<std::uint32_t>& order,
              Sums& sums);

  std::mutex mutex_;
  GovernorLimits limits_;
  std::optional<SeriesGovernor> governor_;
  std::vector<Decision> decisions_;                         // by first_id
  std::map<SeriesKey, std::int32_t> row_ids_;               // rows in key order
  std::optional<std::pair<std::int64_t, SeriesKey>> last_;  // the last series decided
};

}  // namespace aiusage
