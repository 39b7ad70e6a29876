#pragma once
// The usage series of a page under the cardinality governor: every series shown on its own or
// summed, exactly, into a row with "__other__" labels (SeriesGovernor decides which).
#include <cstdint>
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
// a restart. Between pages the decisions are kept and only series after the last decided one are
// observed; a series that arrives out of that order (two sync threads) makes it decide afresh.
class SeriesFolder {
 public:
  explicit SeriesFolder(GovernorLimits limits) : limits_(limits) {}
  FoldedPage fold(std::vector<SeriesEntry> entries);

 private:
  std::mutex mutex_;
  GovernorLimits limits_;
  std::optional<SeriesGovernor> governor_;
  std::size_t decided_ = 0;  // entries observed, a prefix of the first-seen order
  std::optional<std::pair<std::int64_t, SeriesKey>> last_;  // the last of them
};

}  // namespace aiusage
