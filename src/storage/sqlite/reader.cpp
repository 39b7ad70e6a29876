#include "reader.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>

namespace aiusage {

SqliteStore::Reader::Reader(const std::string& path, const std::string& rollup_path, Recent& recent,
                            bool read_only)
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
      // holds nearly every record).
      raw(db.getHandle(),
          "SELECT a.series_id, " + record_columns(true) +
              " FROM ai_usage a INDEXED BY ai_usage_timestamp_idx WHERE a.timestamp_ms >= ?1 AND "
              "a.timestamp_ms < ?2 AND a.seq <= ?3 GROUP BY a.series_id"),
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

void SqliteStore::Reader::attach_read_only(SQLite::Database& db, const std::string& rollup_path) {
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

std::int64_t SqliteStore::Reader::rolled_up_seq() {
  rolled_up.start({});
  const std::int64_t rolled = rolled_up.step() ? rolled_up.i64(0) : 0;
  rolled_up.finish();  // an unfinished statement would keep the snapshot open after commit
  return rolled;
}

std::vector<UsageSums> SqliteStore::Reader::accumulate(const UsageFilter& f,
                                                       std::vector<UsageSums>* by_label) {
  SQLite::Transaction tx(db);
  std::vector<UsageSums> acc = accumulate_in(f, by_label);
  tx.commit();
  return acc;
}

// One accumulate_in(): what it counts and where it adds it.
struct SqliteStore::Reader::Query {
  std::array<int, kDims> want{-1, -1, -1, -1};  // required name index per label, -1: any
  std::vector<UsageSums>* by_label = nullptr;   // whole months by label (no label filter)
  std::vector<std::int64_t> few;                // the matching series, when they are few
  std::int64_t rolled = 0;                      // rollups hold every record up to this seq
  // Times of the records to count, inclusive.
  std::int64_t first = std::numeric_limits<std::int64_t>::min();
  std::int64_t last = std::numeric_limits<std::int64_t>::max();
  std::vector<UsageSums> acc;  // by series id
  bool filtered() const {
    return std::any_of(want.begin(), want.end(), [](int w) { return w >= 0; });
  }
};

bool SqliteStore::Reader::matches(const Query& q, std::int64_t id) const {
  if (id <= 0 || id > max_id) return false;
  const auto& d = dims[static_cast<std::size_t>(id)];
  if (d[0] < 0) return false;
  for (int i = 0; i < kDims; ++i)
    if (q.want[i] >= 0 && d[i] != q.want[i]) return false;
  return true;
}

void SqliteStore::Reader::add_rows(Query& q, RawStatement& st, std::int64_t sign) {
  while (st.step())
    if (std::int64_t id = st.i64(0); matches(q, id))
      q.acc[static_cast<std::size_t>(id)] += st.sums(1, sign);
}

void SqliteStore::Reader::add_label_rows(Query& q, std::int64_t sign) {
  while (labels.step()) {
    const std::int64_t d = labels.i64(0);
    if (d < 0 || d >= kDims) continue;
    auto it = index[d].find(labels.text(1));
    // Label rows are written with their series, so the snapshot always knows the name.
    if (it == index[d].end()) throw std::logic_error("label without a series: " + labels.text(1));
    q.by_label[d][static_cast<std::size_t>(it->second)] += labels.sums(2, sign);
  }
}

// Records not rolled up: those kept in memory, the others (after a restart, or past the limit,
// or committed but not yet handed over) from the records file.
void SqliteStore::Reader::add_not_rolled_up(Query& q, std::int64_t newest) {
  std::vector<Recent::Record> chunk;
  for (std::int64_t through = q.rolled; through < newest;) {
    chunk.clear();
    if (const std::int64_t next = recent.copy(through, newest, Recent::kChunk, chunk);
        next > through) {
      for (const Recent::Record& r : chunk)
        if (r.timestamp_ms >= q.first && r.timestamp_ms <= q.last && matches(q, r.series))
          q.acc[static_cast<std::size_t>(r.series)] += r.sums;
      through = next;
      continue;
    }
    const std::int64_t kept_after = recent.kept_after();
    const std::int64_t upto = kept_after > through ? std::min(kept_after, newest) : newest;
    pending.start({through, upto, q.first, q.last});
    add_rows(q, pending, 1);
    through = upto;
  }
}

void SqliteStore::Reader::add_piece(Query& q, const Piece& p) {
  if (p.level == Level::monthly && q.by_label) {
    labels.start({p.from, p.to});
    add_label_rows(q, p.sign);
    return;
  }
  if (p.level == Level::monthly && !q.few.empty()) {
    for (std::int64_t id : q.few) {
      monthly_of.start({id, p.from, p.to});
      add_rows(q, monthly_of, p.sign);
    }
    return;
  }
  RawStatement& st = p.level == Level::monthly ? monthly : p.level == Level::hourly ? hourly : raw;
  if (&st == &raw)
    st.start({p.from, p.to, q.rolled});
  else
    st.start({p.from, p.to});
  add_rows(q, st, p.sign);
}

std::vector<UsageSums> SqliteStore::Reader::accumulate_in(const UsageFilter& f,
                                                          std::vector<UsageSums>* by_label) {
  Query q;
  q.rolled = rolled_up_seq();
  refresh();
  // A label filter becomes a required name index; a name never seen matches nothing.
  const std::optional<std::string>* wanted[kDims] = {&f.provider, &f.model, &f.project, &f.user};
  for (int d = 0; d < kDims; ++d) {
    if (!*wanted[d]) continue;
    auto it = index[d].find(**wanted[d]);
    if (it == index[d].end()) return {};
    q.want[d] = it->second;
    by_label = nullptr;
  }
  q.by_label = by_label;
  if (by_label)
    for (int d = 0; d < kDims; ++d) by_label[d].assign(names[d].size(), UsageSums{});
  q.acc.resize(static_cast<std::size_t>(max_id) + 1);
  const bool all_time_read = !by_label && !f.start_ms && !f.end_ms && !q.filtered();
  // A filter matching few series reads their monthly rows by series (the index) instead of
  // every series' rows: one user's year is ~1k rows, not 1.2M.
  if (!by_label && q.filtered()) {
    for (std::int64_t id = 1; id <= max_id; ++id)
      if (matches(q, id)) q.few.push_back(id);
    if (q.few.size() * kFewSeries > static_cast<std::size_t>(max_id)) q.few.clear();
  }
  std::vector<Piece> pieces;
  if (!f.start_ms && !f.end_ms) {
    // All time, including records outside the queryable span (their months are far buckets).
    pieces.push_back({Level::monthly, q.first, q.last, 1});
  } else {
    const std::int64_t start = std::max(f.start_ms.value_or(kTimeMin), kTimeMin);
    const std::int64_t end = std::min(f.end_ms.value_or(kTimeMax), kTimeMax);
    if (start >= end) return std::move(q.acc);
    pieces = plan_range(start, end);
    q.first = start;
    q.last = end - 1;
  }
  last_seq.start({});
  const std::int64_t newest = last_seq.step() ? last_seq.i64(0) : 0;
  last_seq.finish();
  add_not_rolled_up(q, newest);
  for (const Piece& p : pieces) add_piece(q, p);
  if (all_time_read) {
    all_time = {};
    for (const UsageSums& s : q.acc) all_time.add(s);
    all_time.through = newest;
  }
  return std::move(q.acc);
}

bool SqliteStore::Reader::tagged_from_series(const UsageFilter& f, std::vector<UsageSums>& acc,
                                             std::map<std::string, UsageSums>* by_value) const {
  std::vector<std::string_view> keys;  // the filters' keys, then the grouped one
  for (const Tag& t : f.tags) keys.push_back(t.key);
  if (f.by_tag) keys.push_back(*f.by_tag);
  // The keys' values by distinct series.tags (each decoded once); nullopt: a key is missing.
  std::vector<std::optional<std::vector<std::string>>> values(tag_names.size());
  std::vector<bool> decoded(tag_names.size());
  const UsageSums zero;
  for (std::size_t id = 0; id < acc.size(); ++id) {
    if (acc[id] == zero) continue;
    const auto n = static_cast<std::size_t>(id < tags_of.size() ? tags_of[id] : -1);
    if (n >= tag_names.size()) return false;
    if (!decoded[n]) {
      decoded[n] = true;
      std::vector<std::string>& v = values[n].emplace();
      for (std::string_view key : keys) {
        std::optional<std::string> value = find_series_tag(tag_names[n], key);
        if (!value) {
          values[n].reset();
          break;
        }
        v.push_back(std::move(*value));
      }
    }
    if (!values[n]) return false;
  }
  for (std::size_t id = 0; id < acc.size(); ++id) {
    if (acc[id] == zero) continue;
    const std::vector<std::string>& v = *values[static_cast<std::size_t>(tags_of[id])];
    bool match = true;
    for (std::size_t i = 0; i < f.tags.size(); ++i) match = match && v[i] == f.tags[i].value;
    if (!match)
      acc[id] = zero;
    else if (by_value)
      (*by_value)[v.back()] += acc[id];
  }
  return true;
}

std::vector<UsageSums> SqliteStore::Reader::accumulate_tagged(
    const UsageFilter& f, std::map<std::string, UsageSums>* by_value) {
  // The first tag's index (key, value, seq) drives the scan.
  std::string sql = "SELECT a.series_id, " + std::string(by_value ? "tv.value, " : "") +
                    record_columns(true) + " FROM ";
  for (std::size_t i = 0; i < f.tags.size(); ++i) {
    const std::string t = "t" + std::to_string(i);
    sql += i == 0 ? "record_tags t0 CROSS JOIN ai_usage a ON a.seq = t0.seq"
                  : " JOIN record_tags " + t + " ON " + t + ".seq = a.seq";
    sql += " AND " + t + ".key = ? AND " + t + ".value = ?";
  }
  if (f.tags.empty()) sql += "ai_usage a";
  if (by_value) sql += " LEFT JOIN record_tags tv ON tv.seq = a.seq AND tv.key = ?";
  sql += " WHERE a.timestamp_ms >= ? AND a.timestamp_ms < ?";
  const std::pair<const char*, const std::optional<std::string>*> labels[] = {
      {"provider", &f.provider},
      {"model", &f.model},
      {"project_id", &f.project},
      {"user_id", &f.user}};
  for (const auto& [column, value] : labels)
    if (*value) sql += std::string(" AND a.") + column + " = ?";
  sql += by_value ? " GROUP BY a.series_id, tv.value" : " GROUP BY a.series_id";
  RawStatement st(db.getHandle(), sql);
  int n = 0;
  for (const Tag& t : f.tags) {
    st.bind(++n, t.key);
    st.bind(++n, t.value);
  }
  if (by_value) st.bind(++n, *f.by_tag);
  st.bind(++n, f.start_ms.value_or(std::numeric_limits<std::int64_t>::min()));
  st.bind(++n, f.end_ms.value_or(std::numeric_limits<std::int64_t>::max()));
  for (const auto& [column, value] : labels)
    if (*value) st.bind(++n, **value);

  SQLite::Transaction tx(db);  // the series and the records of one snapshot
  refresh();
  std::vector<UsageSums> acc(static_cast<std::size_t>(max_id) + 1);
  const int first = by_value ? 2 : 1;
  while (st.step()) {
    const std::int64_t id = st.i64(0);
    if (id <= 0 || id > max_id) throw std::logic_error("record of an unknown series");
    const UsageSums sums = st.sums(first);
    acc[static_cast<std::size_t>(id)] += sums;
    if (by_value) (*by_value)[st.text(1)] += sums;
  }
  tx.commit();
  return acc;
}

}  // namespace aiusage
