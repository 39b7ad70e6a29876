#pragma once
// The reader connection and the query engine: sums by series over any range from one snapshot,
// whole months and hours from the rollups (range_plan.hpp), the rest from raw records, plus the
// records not yet rolled up (from memory where the store keeps them).
#include <SQLiteCpp/SQLiteCpp.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"
#include "raw_statement.hpp"
#include "recent.hpp"
#include "schema.hpp"
#include "series_names.hpp"

namespace aiusage {

// All-time sums of what StoreLimits bounds, from per-series sums, 128 bits wide: a store written
// by an earlier version may hold more than the limits, or sums that wrapped negative.
struct WideTotals {
  Int128 tokens = 0, cost = 0;
  bool negative = false;
  std::int64_t through = -1;  // the newest record counted (-1: none read)
  void add(const UsageSums& s) {
    negative |= s.prompt_tokens < 0 || s.completion_tokens < 0 || s.cached_tokens < 0 || s.cost < 0;
    tokens += Int128{s.prompt_tokens} + s.completion_tokens + s.cached_tokens;
    cost += s.cost;
  }
};

struct SqliteStore::Reader : SeriesNames {
  // `recent`: the store's records not yet rolled up, read from memory where it keeps them.
  // `read_only`: the files as they are, writing nothing (sqlite_read_only_uri), and the rollup file
  // only when it matches the records file (else an empty one in memory: reads count every record).
  Reader(const std::string& path, const std::string& rollup_path, Recent& recent,
         bool read_only = false);

  // Loads the series committed since the last call; run inside the read transaction.
  void refresh() { load(new_series); }

  // The rollup file read-only as `r` when it belongs to the records file in `db`, else empty
  // rollups in memory that count nothing (rolled_up_seq 0).
  static void attach_read_only(SQLite::Database& db, const std::string& rollup_path);

  // The rollups' position. First read of a transaction: the rollup file's snapshot is taken
  // before the records file's, which then holds every record and series the rollups count.
  std::int64_t rolled_up_seq();

  // Sums by series id over [start, end) for series matching `f`, from one consistent snapshot.
  // With `by_label` (kDims vectors) and no label filter, whole months are added there instead,
  // by name index, from the per-label rollup.
  std::vector<UsageSums> accumulate(const UsageFilter& f, std::vector<UsageSums>* by_label);
  // The same inside the caller's read transaction (several reads, one snapshot).
  std::vector<UsageSums> accumulate_in(const UsageFilter& f, std::vector<UsageSums>* by_label);

  // Sums by series id of the records matching `f` and all its tags, read from the records (tags
  // have no rollups), in one snapshot; with `by_value`, also by the value of tag `*f.by_tag` of
  // each record ("" for a record without it).
  std::vector<UsageSums> accumulate_tagged(const UsageFilter& f,
                                           std::map<std::string, UsageSums>* by_value);
  // The same from `acc` (accumulate() of `f` without its tags) when every series with usage in it
  // was kept by each tag key `f` names (tag labels, series.tags): the series not matching the tags
  // are zeroed, the rest added to `by_value`. False, `acc` and `by_value` unchanged, otherwise.
  bool tagged_from_series(const UsageFilter& f, std::vector<UsageSums>& acc,
                          std::map<std::string, UsageSums>* by_value) const;

  Recent& recent;
  SQLite::Database db;
  bool attached;  // the rollup file, as `r`, before the statements that read it
  RawStatement monthly, monthly_of, hourly, raw, pending, last_seq, rolled_up, labels, new_series;
  WideTotals all_time;  // of the last all-time read of every series
  // A filter matching at most 1/kFewSeries of the series reads by series.
  static constexpr std::size_t kFewSeries = 16;

 private:
  struct Query;
  bool matches(const Query& q, std::int64_t id) const;
  void add_rows(Query& q, RawStatement& st, std::int64_t sign);
  void add_label_rows(Query& q, std::int64_t sign);
  void add_not_rolled_up(Query& q, std::int64_t newest);
  void add_piece(Query& q, const Piece& p);
};

}  // namespace aiusage
