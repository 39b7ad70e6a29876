#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <vector>

#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"
#include "recent.hpp"
#include "rollup.hpp"

namespace aiusage {

std::string upsert_rollup_sql(const char* table, const char* keys, int n_keys) {
  std::string sql =
      std::string("INSERT INTO ") + table + " (" + keys + ", " + kSumColumns + ") VALUES (?";
  for (int i = 1; i < n_keys + kSums; ++i) sql += ", ?";
  sql += ") ON CONFLICT DO UPDATE SET ";
  for (int i = 0; i < kSums; ++i)
    sql += std::string(i ? ", " : "") + kSumNames[i] + " = " + kSumNames[i] + " + excluded." +
           kSumNames[i];
  return sql;
}

namespace {

void bind_sums(SQLite::Statement& st, int first, const UsageSums& s) {
  const std::int64_t v[] = {s.calls,
                            s.cache_hits,
                            s.unpriced,
                            s.prompt_tokens,
                            s.completion_tokens,
                            s.cache_read_tokens,
                            s.cache_write_tokens,
                            s.cached_tokens,
                            s.cost,
                            s.details[kCacheWrite1h],
                            s.details[kAudioInput],
                            s.details[kImageInput],
                            s.details[kReasoning],
                            s.details[kAudioOutput],
                            s.details[kImageOutput]};
  static_assert(std::size(v) == kSums);
  for (int i = 0; i < kSums; ++i) st.bind(first + i, static_cast<std::int64_t>(v[i]));
}

// Sums the deltas of equal (bucket, id), in key order. Sorts small keys, not the deltas.
void merge(std::vector<Delta>& v) {
  struct Key {
    std::int64_t bucket, id;
    std::size_t at;
  };
  std::vector<Key> keys(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) keys[i] = {v[i].bucket, v[i].id, i};
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.bucket != b.bucket ? a.bucket < b.bucket : a.id < b.id;
  });
  std::vector<Delta> out;
  out.reserve(v.size());
  for (const Key& k : keys) {
    if (!out.empty() && out.back().bucket == k.bucket && out.back().id == k.id)
      out.back().sums += v[k.at].sums;
    else
      out.push_back(v[k.at]);
  }
  v.swap(out);
}

}  // namespace

void SqliteStore::Rollup::write(Deltas& d) {
  load(*series);  // same snapshot: knows the series of every record read
  merge(d.hours);
  merge(d.months);
  // Label rows in key order too.
  std::map<std::tuple<std::int64_t, int, std::string_view>, UsageSums> labels;
  for (const Delta& m : d.months) {
    if (m.id <= 0 || m.id > max_id || dims[static_cast<std::size_t>(m.id)][0] < 0)
      throw std::logic_error("record of unknown series " + std::to_string(m.id));
    const auto& dim = dims[static_cast<std::size_t>(m.id)];
    for (int i = 0; i < kDims; ++i) labels[{m.bucket, i, names[i][dim[i]]}] += m.sums;
  }
  for (auto [st, rows] :
       {std::pair{add_hour.get(), &d.hours}, std::pair{add_month.get(), &d.months}})
    for (const Delta& r : *rows) {
      st->reset();
      st->bind(1, static_cast<std::int64_t>(r.bucket));
      st->bind(2, static_cast<std::int64_t>(r.id));
      bind_sums(*st, 3, r.sums);
      st->exec();
    }
  for (const auto& [k, sums] : labels) {
    add_label->reset();
    add_label->bind(1, static_cast<std::int64_t>(std::get<0>(k)));
    add_label->bind(2, std::get<1>(k));
    add_label->bind(3, std::string(std::get<2>(k)));
    bind_sums(*add_label, 4, sums);
    add_label->exec();
  }
  state->reset();
  state->bind(1, static_cast<std::int64_t>(d.last));
  state->exec();
}

Result<std::size_t> SqliteStore::roll_up(std::size_t max_records) {
  Rollup& u = *rollup_;
  // Only records on disk: a crash must not leave rollups counting records the file lost.
  std::int64_t upto = synced_seq_.load(std::memory_order_acquire);
  if (upto <= u.rolled) return std::size_t{0};
  // Records kept in memory are copied from there, the others read back from the records file.
  std::vector<Recent::Record> kept;
  recent_->copy(u.rolled, upto, max_records, kept);
  try {
    // Deferred: the records file is only read, so its write lock is never taken.
    SQLite::Transaction tx(u.db);
    Rollup::Deltas d;
    if (!kept.empty()) {
      d.hours.reserve(kept.size());
      d.months.reserve(kept.size());
      for (const Recent::Record& r : kept) d.add(r.seq, r.series, r.timestamp_ms, r.sums);
    } else {
      upto = std::min(upto, recent_->kept_after());
      u.pending->start({u.rolled, upto, static_cast<std::int64_t>(max_records)});
      while (u.pending->step())
        d.add(u.pending->i64(0), u.pending->i64(1), u.pending->i64(2), u.pending->sums(3));
      u.pending->finish();
    }
    const std::size_t count = d.hours.size();
    if (count == 0) return count;
    u.write(d);
    tx.commit();
    u.rolled = d.last;
    pending_.fetch_sub(count);
    recent_->drop_through(d.last);
    return count;
  } catch (const SQLite::Exception& e) {
    u.pending->finish();
    return Error{e.what()};
  }
}

}  // namespace aiusage
