#pragma once
#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aiusage/range_plan.hpp"
#include "aiusage/store.hpp"
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

struct Store::Reader : SeriesNames {
  // `recent`: the store's records not yet rolled up, read from memory where it keeps them.
  // `read_only`: the files as they are, writing nothing (sqlite_read_only_uri), and the rollup file
  // only when it matches the records file (else an empty one in memory: reads count every record).
  Reader(const std::string& path, const std::string& rollup_path, Recent& recent,
         bool read_only = false)
      : recent(recent),
        db(read_only ? sqlite_read_only_uri(path) : path,
           read_only ? SQLite::OPEN_READWRITE | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX
                     : SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
           5000),
        attached(
            (read_only ? attach_read_only(db, rollup_path) : attach(db, rollup_path, "r"), true)),
        monthly(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                    " FROM r.usage_monthly WHERE month_ms >= ? AND month_ms < ?"),
        monthly_of(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                       " FROM r.usage_monthly INDEXED BY usage_monthly_series "
                                       "WHERE series_id = ? AND month_ms >= ? AND month_ms < ?"),
        hourly(db.getHandle(), std::string("SELECT series_id, ") + kSumColumns +
                                   " FROM r.usage_hourly WHERE hour_ms >= ? AND hour_ms < ?"),
        // Rolled-up records of a time range, by the timestamp index (never by the seq range, which
        // holds nearly every record); CROSS JOIN keeps them the outer loop. Records from before
        // schema v4 have no series_id.
        raw(db.getHandle(),
            "SELECT s.id, " + record_columns(true) +
                " FROM ai_usage a INDEXED BY ai_usage_timestamp_idx CROSS JOIN series s ON "
                "s.provider = a.provider AND s.model = "
                "a.model AND s.project_id = a.project_id AND s.user_id = a.user_id WHERE "
                "a.timestamp_ms >= ?1 AND a.timestamp_ms < ?2 AND a.seq <= ?3 GROUP BY s.id"),
        // Records of seq in (?1, ?2] with a time in [?3, ?4], one row each, by the seq range (a
        // month of the timestamp index would be up to millions of records).
        pending(db.getHandle(), "SELECT series_id, " + record_columns(false) +
                                    " FROM ai_usage NOT INDEXED WHERE seq > ?1 AND seq <= ?2 AND "
                                    "timestamp_ms >= ?3 AND timestamp_ms <= ?4"),
        last_seq(db.getHandle(), "SELECT coalesce(max(seq), 0) FROM ai_usage"),
        rolled_up(db.getHandle(), "SELECT rolled_up_seq FROM r.rollup_state"),
        labels(db.getHandle(),
               std::string("SELECT dim, value, ") + kSumColumns +
                   " FROM r.usage_monthly_label WHERE month_ms >= ? AND month_ms < ?"),
        new_series(db.getHandle(), select("main")) {}

  // Loads the series committed since the last call; run inside the read transaction.
  void refresh() { load(new_series); }

  // The rollup file read-only as `r` when it belongs to the records file in `db`, else empty
  // rollups in memory that count nothing (rolled_up_seq 0).
  static void attach_read_only(SQLite::Database& db, const std::string& rollup_path) {
    const std::string store_id = db.execAndGet("SELECT store_id FROM store_info").getString();
    SQLite::Statement key_of(db, "SELECT project_id, id FROM ai_usage WHERE seq = ?");
    auto last_key = [&](std::int64_t seq) {
      key_of.reset();
      key_of.bind(1, seq);
      RecordKey key;
      if (key_of.executeStep())
        key = {key_of.getColumn(0).getString(), key_of.getColumn(1).getString()};
      return key;
    };
    if (std::filesystem::exists(rollup_path)) {
      bool attached = false;
      try {
        attach(db, sqlite_read_only_uri(rollup_path), "r");
        attached = true;
        if (rollup_position(db, "r", store_id, last_key)) return;
      } catch (const SQLite::Exception&) {
        // unreadable: counted from the records instead
      }
      key_of.reset();
      if (attached) db.exec("DETACH DATABASE r");
    }
    attach(db, ":memory:", "r");
    db.exec(rollup_schema("r"));
    SQLite::Statement st(db, "INSERT INTO r.rollup_state VALUES (0, ?, 0, '', '')");
    st.bind(1, store_id);
    st.exec();
  }

  // The rollups' position. First read of a transaction: the rollup file's snapshot is taken
  // before the records file's, which then holds every record and series the rollups count.
  std::int64_t rolled_up_seq() {
    rolled_up.start({});
    const std::int64_t rolled = rolled_up.step() ? rolled_up.i64(0) : 0;
    rolled_up.finish();  // an unfinished statement would keep the snapshot open after commit
    return rolled;
  }

  // Sums by series id over [start, end) for series matching `f`, from one consistent snapshot.
  // With `by_label` (kDims vectors) and no label filter, whole months are added there instead,
  // by name index, from the per-label rollup.
  std::vector<UsageSums> accumulate(const UsageFilter& f, std::vector<UsageSums>* by_label) {
    SQLite::Transaction tx(db);
    std::vector<UsageSums> acc = accumulate_in(f, by_label);
    tx.commit();
    return acc;
  }
  // The same inside the caller's read transaction (several reads, one snapshot).
  std::vector<UsageSums> accumulate_in(const UsageFilter& f, std::vector<UsageSums>* by_label) {
    const std::int64_t rolled = rolled_up_seq();
    refresh();
    // A label filter becomes a required name index; a name never seen matches nothing.
    std::array<int, kDims> want{-1, -1, -1, -1};
    const std::optional<std::string>* wanted[kDims] = {&f.provider, &f.model, &f.project, &f.user};
    for (int d = 0; d < kDims; ++d) {
      if (!*wanted[d]) continue;
      auto it = index[d].find(**wanted[d]);
      if (it == index[d].end()) return {};
      want[d] = it->second;
      by_label = nullptr;
    }
    if (by_label)
      for (int d = 0; d < kDims; ++d) by_label[d].assign(names[d].size(), UsageSums{});
    auto matches = [&](std::int64_t id) {
      if (id <= 0 || id > max_id) return false;
      const auto& d = dims[static_cast<std::size_t>(id)];
      if (d[0] < 0) return false;
      for (int i = 0; i < kDims; ++i)
        if (want[i] >= 0 && d[i] != want[i]) return false;
      return true;
    };
    std::vector<UsageSums> acc(static_cast<std::size_t>(max_id) + 1);
    const bool all_time_read = !by_label && !f.start_ms && !f.end_ms &&
                               std::all_of(want.begin(), want.end(), [](int w) { return w < 0; });
    // A filter matching few series reads their monthly rows by series (the index) instead of
    // every series' rows: one user's year is ~1k rows, not 1.2M.
    std::vector<std::int64_t> few;
    if (!by_label && std::any_of(want.begin(), want.end(), [](int w) { return w >= 0; })) {
      for (std::int64_t id = 1; id <= max_id; ++id)
        if (matches(id)) few.push_back(id);
      if (few.size() * kFewSeries > static_cast<std::size_t>(max_id)) few.clear();
    }
    auto read = [&](RawStatement& st, std::int64_t sign) {
      while (st.step())
        if (std::int64_t id = st.i64(0); matches(id))
          acc[static_cast<std::size_t>(id)] += st.sums(1, sign);
    };
    auto read_labels = [&](std::int64_t sign) {
      while (labels.step()) {
        const std::int64_t d = labels.i64(0);
        if (d < 0 || d >= kDims) continue;
        auto it = index[d].find(labels.text(1));
        // Label rows are written with their series, so the snapshot always knows the name.
        if (it == index[d].end())
          throw std::logic_error("label without a series: " + labels.text(1));
        by_label[d][static_cast<std::size_t>(it->second)] += labels.sums(2, sign);
      }
    };
    std::vector<Piece> pieces;
    // Times of the records to count, inclusive.
    std::int64_t first = std::numeric_limits<std::int64_t>::min();
    std::int64_t last = std::numeric_limits<std::int64_t>::max();
    if (!f.start_ms && !f.end_ms) {
      // All time, including records outside the queryable span (their months are far buckets).
      pieces.push_back({Level::monthly, first, last, 1});
    } else {
      const std::int64_t start = std::max(f.start_ms.value_or(kTimeMin), kTimeMin);
      const std::int64_t end = std::min(f.end_ms.value_or(kTimeMax), kTimeMax);
      if (start >= end) return acc;
      pieces = plan_range(start, end);
      first = start;
      last = end - 1;
    }
    // Records not rolled up: those kept in memory, the others (after a restart, or past the
    // limit, or committed but not yet handed over) from the records file.
    last_seq.start({});
    const std::int64_t newest = last_seq.step() ? last_seq.i64(0) : 0;
    last_seq.finish();
    std::vector<Recent::Record> chunk;
    for (std::int64_t through = rolled; through < newest;) {
      chunk.clear();
      if (const std::int64_t next = recent.copy(through, newest, Recent::kChunk, chunk);
          next > through) {
        for (const Recent::Record& r : chunk)
          if (r.timestamp_ms >= first && r.timestamp_ms <= last && matches(r.series))
            acc[static_cast<std::size_t>(r.series)] += r.sums;
        through = next;
        continue;
      }
      const std::int64_t kept_after = recent.kept_after();
      const std::int64_t upto = kept_after > through ? std::min(kept_after, newest) : newest;
      pending.start({through, upto, first, last});
      read(pending, 1);
      through = upto;
    }
    for (const Piece& p : pieces) {
      if (p.level == Level::monthly && by_label) {
        labels.start({p.from, p.to});
        read_labels(p.sign);
        continue;
      }
      if (p.level == Level::monthly && !few.empty()) {
        for (std::int64_t id : few) {
          monthly_of.start({id, p.from, p.to});
          read(monthly_of, p.sign);
        }
        continue;
      }
      RawStatement& st = p.level == Level::monthly  ? monthly
                         : p.level == Level::hourly ? hourly
                                                    : raw;
      if (&st == &raw)
        st.start({p.from, p.to, rolled});
      else
        st.start({p.from, p.to});
      read(st, p.sign);
    }
    if (all_time_read) {
      all_time = {};
      for (const UsageSums& s : acc) all_time.add(s);
      all_time.through = newest;
    }
    return acc;
  }

  Recent& recent;
  SQLite::Database db;
  bool attached;  // the rollup file, as `r`, before the statements that read it
  RawStatement monthly, monthly_of, hourly, raw, pending, last_seq, rolled_up, labels, new_series;
  WideTotals all_time;  // of the last all-time read of every series
  // A filter matching at most 1/kFewSeries of the series reads by series.
  static constexpr std::size_t kFewSeries = 16;
};

}  // namespace aiusage
