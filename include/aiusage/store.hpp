#pragma once
// SQLite ledger: records, hourly rollups and all-time series totals, written in one transaction.
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/record.hpp"
#include "aiusage/result.hpp"

namespace SQLite {
class Database;
}

namespace aiusage {

struct StoreOptions {
  std::string path;
  bool synchronous_full = true;
};

struct BatchOutcome {
  bool conflict = false;             // an id was reused with other content: nothing stored
  std::size_t conflict_index = 0;    // the offending record
  std::vector<bool> duplicate;       // per record: already stored with the same content
};

class Store {
 public:
  // Opens (creating and migrating) the database; throws on failure (startup only).
  explicit Store(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr int kSchemaVersion = 1;

  // Commits several batches in one transaction, each all-or-nothing. Duplicates get the stored
  // cost and priced flag copied back. An error means nothing was committed.
  Result<std::vector<BatchOutcome>> commit(std::span<std::vector<UsageRecord>* const> batches);

  // Sums by series over records matching `filter`; exact for any range (rollups + raw edges).
  std::vector<SeriesSums> aggregate(const UsageFilter& filter) const;
  // All-time sums by series, from the totals table.
  std::vector<SeriesSums> series_totals() const;
  std::int64_t record_count() const;
  std::string integrity_check() const;

 private:
  std::vector<SeriesSums> aggregate_raw(const UsageFilter& filter, std::int64_t start,
                                        std::int64_t end) const;
  std::vector<SeriesSums> aggregate_hourly(const UsageFilter& filter, std::int64_t start,
                                           std::int64_t end) const;
  std::unique_ptr<SQLite::Database> writer_;
  std::unique_ptr<SQLite::Database> reader_;
  mutable std::mutex reader_mutex_;
};

}  // namespace aiusage
